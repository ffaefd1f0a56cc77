// Filter replay for fail2ban filters: whole lines through the fail2ban matcher, counted exactly as fail2ban-regex counts them.
import { systemClock, type Clock } from '../core/clock.js';
import { parseIp } from '../core/ip.js';
import {
  forEachLine,
  isTestedLine,
  TestFilterTally,
  type LineSource,
  type ListCaps,
  type TestFilterSummary,
} from '../jails/filter-replay.js';
import type { Fail2banFilterSpec } from './filter.js';
import { Fail2banMatcher } from './matcher.js';
import type { LocalZone } from './strptime.js';

export interface Fail2banTestOptions extends ListCaps {
  /** Zone of stamps without an offset (fail2ban-regex: the local zone). */
  readonly zone: LocalZone;
  /** fail2ban's usedns; default `warn` as in fail2ban-regex, so host names count as failure ids. */
  readonly useDns?: string;
  /** Anchors year-less dates; default the system clock. */
  readonly clock?: Clock;
  /** The name shown in the summary; default `fail2ban:NAME`. */
  readonly label?: string;
}

/**
 * fail2ban-regex's loop (check-all, no findtime): every failregex is tried on every line; a
 * line whose results are all `<F-NOFAIL>` ones, or that an ignoreregex dropped, is ignored; a
 * line with a real failure is matched; the rest is missed. With maxlines > 1, buffered lines a
 * later match consumed move from missed to matched, as fail2ban-regex moves them.
 * Throws FILTER_INVALID naming the pattern when the filter does not translate.
 */
export async function replayFail2banFilter(
  spec: Fail2banFilterSpec,
  source: LineSource,
  options: Fail2banTestOptions,
): Promise<TestFilterSummary> {
  // Counted by the matcher's callback: grew during a line = fail2ban-regex's _lineIgnored.
  let ignoreEvents = 0;
  const t = new TestFilterTally(spec.failregex, spec.ignoreregex, options);
  const matcher = new Fail2banMatcher(spec, {
    useDns: options.useDns ?? 'warn',
    zone: options.zone,
    checkAll: true,
    onIgnoreRegex: (i) => {
      ignoreEvents++;
      t.ignoreHit(i);
    },
  });
  const clock = options.clock ?? systemClock;
  const multiline = spec.maxlines > 1;
  const ids = new Set<string>();
  const users = new Set<string>();

  await forEachLine(source, (line) => {
    if (!isTestedLine(line)) return;
    const before = multiline ? matcher.bufferedLines() : [];
    const fullBuffer = before.length >= spec.maxlines;
    const ignoresBefore = ignoreEvents;
    const results = matcher.processLine(line, clock.now());
    let failures = 0;
    let nofail = false;
    let time: number | null = null;
    ids.clear();
    users.clear();
    for (const r of results) {
      t.regexHit(r.regex);
      if (r.nofail) {
        nofail = true;
        continue;
      }
      failures++;
      if (r.id !== null) ids.add(parseIp(r.id)?.text ?? r.id);
      for (const u of r.users) users.add(u);
      const single = r.fields['user'];
      if (r.users.length === 0 && single !== undefined) users.add(single);
      time ??= r.time;
    }
    if (multiline) {
      const after = new Set(matcher.bufferedLines());
      for (const b of before.slice(fullBuffer ? 1 : 0)) if (!after.has(b)) t.promoteToMatched(b);
    }
    if (nofail || ignoreEvents > ignoresBefore) {
      t.ignoredLine(line);
      return;
    }
    if (failures === 0) {
      t.missedLine(line);
      return;
    }
    // Users and time once per line, however many ids it named.
    let userList: readonly string[] = [...users];
    if (ids.size === 0) t.extracted('', userList, time);
    for (const id of ids) {
      t.extracted(id, userList, time);
      userList = [];
      time = null;
    }
    t.matchedLine(line);
  });
  return t.summary(options.label ?? `fail2ban:${spec.name}`, 'fail2ban');
}
