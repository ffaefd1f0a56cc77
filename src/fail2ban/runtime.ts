// Lets a fleetban jail run a fail2ban filter (`"filter": "fail2ban:sshd[mode=aggressive]"`) on live syslog events.
import { ErrorCode, FleetbanError } from '../core/errors.js';
import { parseIp } from '../core/ip.js';
import type { SyslogEvent } from '../core/types.js';
import type { FilterHit, JailFilter } from '../jails/filter.js';
import { loadFail2banFilter, parseFilterReference, type Fail2banFilterSpec } from './filter.js';
import { Fail2banMatcher } from './matcher.js';
import { ianaZone } from './strptime.js';

/** Longest subject a fail2ban pattern sees; longer lines are cut (syslog messages are ≤ 8 KiB anyway). */
export const MAX_SUBJECT_LENGTH = 4096;

/** The prefix that marks a jail filter as a fail2ban one. */
export const FAIL2BAN_PREFIX = 'fail2ban:';

/** A parsed `fail2ban:NAME[k=v,…]` reference. */
export interface Fail2banReference {
  readonly name: string;
  readonly options: Readonly<Record<string, string>>;
}

/** Parses the text after `fail2ban:`; null when it is not `NAME` or `NAME[k=v,…]`. */
export function parseFail2banReference(text: string): Fail2banReference | null {
  if (!text.startsWith(FAIL2BAN_PREFIX)) return null;
  const ref = parseFilterReference(text.slice(FAIL2BAN_PREFIX.length));
  return ref === null || !/^[\w.-]+$/.test(ref.name) ? null : ref;
}

/**
 * fail2ban's regexes expect a whole log line behind the date: `host program[pid]: message`
 * (its `__prefix_line`, which sshd also uses as the multi-line session key). fleetban's parser
 * has already split the syslog header into fields, so the adapter rebuilds exactly that line from
 * HOSTNAME, PROGRAM and PID and takes the event's own time as the date: the filter then sees
 * what it would see in /var/log/auth.log, and sessions stay apart per host and process.
 */
export function rebuildLine(
  event: Pick<SyslogEvent, 'hostname' | 'program' | 'pid' | 'message'>,
): string {
  const tag =
    event.program === '' ? '' : `${event.program}${event.pid === '' ? '' : `[${event.pid}]`}: `;
  return `${event.hostname === '' ? '-' : event.hostname} ${tag}${event.message}`;
}

/**
 * One jail's fail2ban filter: its own MLFID sessions and line buffer, and a bound on the subject
 * length. Its patterns were accepted only if V8's linear-time engine can run them, so no line
 * can stall ingest, and nothing is timed: a GC pause or a stopped process cannot switch it off.
 */
export class Fail2banJailFilter implements JailFilter {
  readonly name: string;
  readonly failregex: readonly { readonly source: string }[];
  readonly #matcher: Fail2banMatcher;

  constructor(spec: Fail2banFilterSpec) {
    this.name = `${FAIL2BAN_PREFIX}${spec.name}`;
    // Host names are never resolved: a ban needs an address the log line names itself.
    this.#matcher = new Fail2banMatcher(spec, {
      useDns: 'no',
      zone: ianaZone('UTC'),
      checkAll: false,
    });
    this.failregex = this.#matcher.failregex;
  }

  get notices(): readonly string[] {
    return [...this.#matcher.spec.notices, ...this.#matcher.notices];
  }

  classify(message: string, event?: SyslogEvent): FilterHit | null {
    const line = (event === undefined ? message : rebuildLine(event)).slice(0, MAX_SUBJECT_LENGTH);
    const results = this.#matcher.processMessage(line, event?.time ?? 0);
    for (const r of results) {
      if (r.nofail || r.id === null) continue;
      const ip = parseIp(r.id);
      if (ip === null) continue;
      return { address: ip.text, user: r.fields['user'] ?? '', regex: r.regex, ignored: false };
    }
    return null;
  }
}

/**
 * Loads `fail2ban:NAME[opts]` from `dir` and checks that every pattern translates. Returns the
 * spec (for messages) and a factory that gives each jail its own stateful filter. Throws
 * FILTER_UNKNOWN / FILTER_INVALID naming the filter and the pattern.
 */
export function loadFail2banJailFilter(
  dir: string,
  reference: string,
): { readonly spec: Fail2banFilterSpec; readonly create: () => Fail2banJailFilter } {
  const ref = parseFail2banReference(reference);
  if (ref === null) {
    throw new FleetbanError(
      ErrorCode.FILTER_UNKNOWN,
      `"${reference}" is not fail2ban:NAME or fail2ban:NAME[option=value,...]`,
    );
  }
  const spec = loadFail2banFilter(dir, ref.name, ref.options);
  new Fail2banJailFilter(spec); // compile once now, so a bad pattern is refused at load time
  return { spec, create: () => new Fail2banJailFilter(spec) };
}
