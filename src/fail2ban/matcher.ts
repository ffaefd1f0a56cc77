// Runs a loaded fail2ban filter over full log lines as fail2ban's Filter does: date removal, prefregex, maxlines buffer, MLFID sessions.
import type { PyRegExp } from './regex.js';
import { compileFail2banRegex } from './compile.js';
import { DateDetector } from './date-detector.js';
import { LastHostRule } from './last-host.js';
import type { Fail2banFilterSpec } from './filter.js';
import type { LocalZone } from './strptime.js';

export interface MatcherOptions {
  /** fail2ban's usedns: `no` makes <HOST> an address only (fleetban's runtime), else names match too. */
  readonly useDns: string;
  /** The zone of stamps without an offset. */
  readonly zone: LocalZone;
  /** Try every failregex on every line (fail2ban's test harness); false = first match wins (runtime). */
  readonly checkAll?: boolean;
  /** Python's Unicode \d \w \b (default true). */
  readonly unicode?: boolean;
  /** Told the index of each ignoreregex that dropped a line (fail2ban's onIgnoreRegex, for test-filter). */
  readonly onIgnoreRegex?: (index: number) => void;
}

/** One failure (or non-failure, `nofail`) a line produced. */
export interface Fail2banResult {
  readonly regex: number;
  /** The failure id (ip4, ip6, dns or fid), null while an MLFID session waits for one. */
  readonly id: string | null;
  /** Epoch ms of the line's date, null when it had none. */
  readonly time: number | null;
  readonly nofail: boolean;
  /** The named groups, merged over the session for MLFID filters. */
  readonly fields: Readonly<Record<string, string | undefined>>;
  readonly users: readonly string[];
  /** Lines that make up the failure (fail2ban's `matches`). */
  readonly attempts: number;
}

type Tuple = readonly [string, string, string];
type Fail = Record<string, unknown>;

const MLFID_CACHE = 100;

/** A compiled fail2ban filter with its per-source state (line buffer, MLFID sessions). Not shared between sources. */
export class Fail2banMatcher {
  readonly spec: Fail2banFilterSpec;
  /** Load-time warnings: patterns left on the backtracking engine. */
  readonly notices: string[] = [];
  readonly failregex: readonly PyRegExp[];
  readonly #ignore: readonly PyRegExp[];
  readonly #pref: PyRegExp | null;
  /** Per failregex, the last-occurrence rule (docs/filters.md); single-line filters only. */
  readonly #lastHost: readonly (LastHostRule | null)[];
  readonly #dates: DateDetector;
  readonly #checkAll: boolean;
  readonly #multiline: boolean;
  readonly #onIgnore: ((index: number) => void) | undefined;
  #buffer: Tuple[] = [];
  readonly #sessions = new Map<string, Fail>();
  #lastDate: number | null = null;
  #lastDateText = '';

  /** Throws FILTER_INVALID naming the pattern that does not translate, TypeError for a bad datepattern. */
  constructor(spec: Fail2banFilterSpec, options: MatcherOptions) {
    this.spec = spec;
    const useDns = spec.usedns ?? options.useDns;
    const multiline = spec.maxlines > 1;
    const unicode = options.unicode !== false;
    this.#pref =
      spec.prefregex === undefined
        ? null
        : compileFail2banRegex(spec.name, 'prefregex', spec.prefregex, {
            useDns,
            multiline: false,
            unicode,
            notices: this.notices,
          });
    const idInPrefix =
      spec.prefregex !== undefined &&
      /<(?:HOST|ADDR|IP4|IP6|DNS|F-ID|F-MLFID)>/.test(spec.prefregex);
    this.failregex = spec.failregex.map((r) =>
      compileFail2banRegex(spec.name, 'failregex', r, {
        useDns,
        multiline,
        unicode,
        idInPrefix,
        notices: this.notices,
      }),
    );
    this.#lastHost = spec.failregex.map((r) =>
      multiline ? null : LastHostRule.compile(r, { useDns, unicode }),
    );
    this.#ignore = spec.ignoreregex.map((r) =>
      compileFail2banRegex(spec.name, 'ignoreregex', r, {
        useDns,
        multiline: false,
        unicode,
        notices: this.notices,
      }),
    );
    this.#dates = new DateDetector(spec.datepattern, options.zone);
    this.#checkAll = options.checkAll === true;
    this.#multiline = multiline;
    this.#onIgnore = options.onIgnoreRegex;
  }

  /** The lines waiting in the multi-line buffer, whole: fail2ban-regex recounts them once a match consumed them. */
  bufferedLines(): string[] {
    return this.#buffer.map((t) => t.join(''));
  }

  /** One raw log line (date included); `now` anchors year-less dates. */
  processLine(line: string, now: number): Fail2banResult[] {
    const found = this.#dates.find(line, now);
    let tuple: Tuple;
    let date: number | null = null;
    if (found !== null) {
      const text = line.slice(found.start, found.end);
      tuple = [line.slice(0, found.start), text, line.slice(found.end)];
      if (text !== '' && found.time !== null) {
        date = found.time;
        this.#lastDate = date;
        this.#lastDateText = text;
      } else if (text === '') {
        date = this.#recentDate(now) ?? now;
        if (this.#lastDate !== null && this.#lastDate > now - 60_000)
          tuple = ['', this.#lastDateText, line];
      }
    } else {
      tuple = ['', '', line];
      date = this.#recentDate(now);
    }
    return this.#find(tuple, date);
  }

  /** A message without a date of its own (syslog already split the time off), stamped `time`. */
  processMessage(message: string, time: number): Fail2banResult[] {
    return this.#find(['', '', message], time);
  }

  #recentDate(now: number): number | null {
    return this.#lastDate !== null && this.#lastDate > now - 60_000 ? this.#lastDate : null;
  }

  #find(tuple: Tuple, date: number | null): Fail2banResult[] {
    const out: Fail2banResult[] = [];
    const max = this.spec.maxlines;
    const org =
      max > 1 ? (this.#buffer = [...this.#buffer, tuple].slice(-max)) : (this.#buffer = [tuple]);
    let buf: string | null = joinTuples(org, this.#multiline);
    if (this.#ignore.length > 0 && this.#ignore.length < this.failregex.length - 2) {
      if (this.#ignored(buf)) return out;
    }
    let pre: Fail = {};
    if (this.#pref !== null) {
      const m = this.#pref.exec(oneLine(buf));
      if (m === null) return out;
      pre = { ...(m.groups ?? {}) };
      const content = pre['content'];
      delete pre['content'];
      if (typeof content === 'string' && content !== '') {
        this.#buffer = [['', '', content]];
        buf = null;
      }
    }
    for (let i = 0; i < this.failregex.length; i++) {
      buf ??= joinTuples(this.#buffer, this.#multiline);
      const regex = this.failregex[i] as PyRegExp;
      const m = regex.exec(this.#multiline ? buf : oneLine(buf));
      if (m === null) continue;
      let fail: Fail = groupsOf(this.#lastHost[i]?.prefer(buf, m) ?? m);
      if (this.#ignored(buf)) {
        buf = null;
        if (!this.#checkAll) break;
        continue;
      }
      const matched = matchedLines(m, buf);
      if (!this.#checkAll || max > 1) {
        this.#buffer = unmatched(this.#buffer, m, buf);
        buf = null;
      }
      if (Object.keys(pre).length > 0) fail = { ...pre, ...withoutUndefined(fail) };
      const mlfid = fail['mlfid'];
      if (typeof mlfid === 'string') {
        fail = this.#merge(mlfid, fail, matched);
        if (truthy(fail['nofail']) && !this.#checkAll) return out;
      } else {
        fail['matches'] = [...((fail['matches'] as string[] | undefined) ?? []), ...matched];
      }
      const id =
        str(fail['ip4']) ?? str(fail['ip6']) ?? str(fail['dns']) ?? str(fail['fid']) ?? null;
      if (id === null) fail['mlfpending'] = 1;
      const snapshot = typeof mlfid === 'string' ? { ...fail } : fail;
      out.push({
        regex: i,
        id,
        time: date,
        nofail: truthy(snapshot['nofail']),
        fields: fieldsOf(snapshot),
        users: [...((snapshot['users'] as Set<string> | undefined) ?? [])].sort(),
        attempts: ((snapshot['matches'] as unknown[] | undefined) ?? []).length,
      });
      if (!this.#checkAll) break;
    }
    return out;
  }

  /** fail2ban's _ignoreLine: whether an ignoreregex matches; with check-all every one is tried and reported. */
  #ignored(buf: string): boolean {
    let found = false;
    const subject = oneLine(buf);
    for (let i = 0; i < this.#ignore.length; i++) {
      if ((this.#ignore[i] as PyRegExp).exec(subject) === null) continue;
      found = true;
      this.#onIgnore?.(i);
      if (!this.#checkAll) break;
    }
    return found;
  }

  /** fail2ban's _mergeFailure: one failure per MLFID session, nofail/forget/gained flags over its lines. */
  #merge(mlfid: string, current: Fail, matched: readonly string[]): Fail {
    let fail = current;
    const known = this.#sessions.get(mlfid);
    let users: Set<string> | undefined;
    let flags = 0;
    if (truthy(fail['mlfgained'])) {
      flags |= 8 | 1;
      if (!truthy(fail['nofail'])) fail['nofail'] = fail['mlfgained'];
    } else if (truthy(fail['nofail'])) flags |= 1;
    if (truthy(fail['mlfforget'])) flags |= 2;
    delete fail['mlfforget'];
    if (known !== undefined) {
      users = addUser(known, str(fail['user']));
      if (truthy(known['nofail'])) flags |= 4;
      if (truthy(known['mlfgained'])) flags |= 4;
      delete known['nofail'];
      delete known['mlfgained'];
      if (flags & 8) delete known['mlfpending'];
      if ((flags & 4) === 0 && !known['mlfpending']) delete known['matches'];
      for (const [k, v] of Object.entries(fail)) if (v !== undefined) known[k] = v;
      fail = known;
      if (flags & 2) this.#sessions.delete(mlfid);
    } else if ((flags & 2) === 0) {
      users = addUser(fail, str(fail['user']));
      if (this.#sessions.size >= MLFID_CACHE)
        this.#sessions.delete(this.#sessions.keys().next().value as string);
      this.#sessions.set(mlfid, fail);
    }
    const pending = fail['mlfpending'];
    delete fail['mlfpending'];
    if (pending || (users !== undefined && users.size > 1)) {
      delete fail['nofail'];
      delete fail['mlfgained'];
      flags &= ~(8 | 1);
    }
    if ((flags & 1) === 0) {
      const m = [
        ...((fail['nofail-matches'] as string[] | undefined) ?? []),
        ...((fail['matches'] as string[] | undefined) ?? []),
      ];
      delete fail['nofail-matches'];
      if ((flags & 8) === 0) m.push(...matched);
      fail['matches'] = m;
    } else if ((flags & 3) === 1) {
      fail['nofail-matches'] = [
        ...((fail['nofail-matches'] as string[] | undefined) ?? []),
        ...matched,
      ];
    }
    return fail;
  }
}

function truthy(v: unknown): boolean {
  return v !== undefined && v !== null && v !== '' && v !== 0;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function addUser(fail: Fail, user: string | undefined): Set<string> | undefined {
  let users = fail['users'] as Set<string> | undefined;
  if (user !== undefined && user !== '') {
    if (users === undefined) fail['users'] = users = new Set<string>();
    users.add(user);
  }
  return users;
}

/**
 * The buffer as fail2ban builds it: lines joined and ended by `\n`. In a multi-line buffer,
 * `\r`, U+2028 and U+2029 become spaces: the `m` flag the linear engine uses would take them
 * for line ends, where Python's `^` and `$` know only `\n`.
 */
function joinTuples(lines: readonly Tuple[], multiline: boolean): string {
  const text = lines.map((t) => t[0] + t[2]).join('\n');
  return `${multiline ? text.replace(/[\r\u2028\u2029]/g, ' ') : text}\n`;
}

/**
 * The subject of a pattern compiled for one line: the buffer without its final `\n`, so that a
 * plain `$` means Python's (end, or before a final newline) without a lookahead.
 */
function oneLine(buf: string): string {
  return buf.slice(0, -1);
}

function withoutUndefined(fail: Fail): Fail {
  return Object.fromEntries(Object.entries(fail).filter(([, v]) => v !== undefined));
}

/** Named groups, with fail2ban's alt_NAME (fallback value) and tuple_NAME conventions folded in. */
function groupsOf(m: RegExpExecArray): Fail {
  const g: Fail = { ...(m.groups ?? {}) };
  for (const k of Object.keys(g).sort()) {
    const alt = /^alt_(.*?)(?:_\d+)?$/.exec(k);
    if (alt !== null) {
      const target = alt[1] === 'id' ? 'fid' : (alt[1] ?? '');
      if (g[k] !== undefined && (g[target] === undefined || g[target] === '')) g[target] = g[k];
    }
  }
  return g;
}

function fieldsOf(fail: Fail): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(fail)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** The buffer lines a match covered, minus lines <SKIPLINES> swallowed. */
function matchedLines(m: RegExpExecArray, buf: string): string[] {
  const [first, last] = lineSpan(m, buf);
  const lines = buf.split('\n').slice(first, last);
  const skipped = skippedLines(m);
  return lines.filter((l) => !skipped.includes(l));
}

function lineSpan(m: RegExpExecArray, buf: string): [number, number] {
  const start = buf.lastIndexOf('\n', m.index) + 1;
  const endIdx = buf.indexOf('\n', Math.max(m.index + m[0].length - 1, 0));
  const end = endIdx < 0 ? buf.length : endIdx + 1;
  const count = (to: number): number => {
    let n = 0;
    for (let i = buf.indexOf('\n'); i >= 0 && i < to; i = buf.indexOf('\n', i + 1)) n++;
    return n;
  };
  return [count(start), count(end)];
}

function skippedLines(m: RegExpExecArray): string[] {
  const out: string[] = [];
  for (let n = 0; ; n++) {
    const key = `skiplines${n}`;
    if (m.groups === undefined || !(key in m.groups)) return out;
    const v = m.groups[key];
    if (v !== undefined) out.push(...v.split('\n').filter((l) => l !== ''));
  }
}

function unmatched(lines: readonly Tuple[], m: RegExpExecArray, buf: string): Tuple[] {
  if (lines.length <= 1) return [];
  const [first, last] = lineSpan(m, buf);
  const skipped = skippedLines(m);
  const inside = lines.slice(first, last).filter((t) => skipped.includes(t[0] + t[2]));
  return [...lines.slice(0, first), ...inside, ...lines.slice(last)];
}
