// A jail's filter: failregex/ignoreregex with fail2ban's tags compiled to RegExps, applied to a syslog MESSAGE.
import { ErrorCode, FleetbanError } from '../core/errors.js';
import { parseIp } from '../core/ip.js';
import type { SyslogEvent } from '../core/types.js';
import {
  enableLinearRegex,
  linearObstacle,
  nestedRepeat,
  relaxLargeRepeats,
} from '../core/linear-regex.js';
import type { SessionDefinition } from './filters/definition.js';
import { requiredLiteral } from './literal.js';
import { SessionTable, type SessionLimits } from './session-table.js';

/** The regex texts of a filter, as written by admins (fail2ban tags, JavaScript syntax). */
export interface FilterSource {
  readonly name: string;
  readonly failregex: readonly string[];
  readonly ignoreregex: readonly string[];
  /** Pairing across lines (filters/definition.ts); absent = none. */
  readonly sessions?: SessionDefinition;
}

/** What a filter found in one message. `ignored` = an ignoreregex matched too. */
export interface FilterHit {
  /** Canonical address (IPv4-mapped IPv6 reported as IPv4). */
  readonly address: string;
  /** <F-USER> text, '' when the regex has none or it did not take part. */
  readonly user: string;
  /** Index of the failregex that matched. */
  readonly regex: number;
  readonly ignored: boolean;
}

/** One compiled pattern and the literal every match must contain ('' = none known). */
export interface CompiledRegex {
  readonly source: string;
  readonly regexp: RegExp;
  readonly literal: string;
  /** Named groups holding the address (<HOST>/<ADDR>) and the user, in order of appearance. */
  readonly hostGroups: readonly string[];
  readonly userGroups: readonly string[];
  /** Named groups holding a session id (<F-SESSION>). */
  readonly sessionGroups: readonly string[];
}

/**
 * What a pattern is for: a failure, an exclusion, or (filters with sessions) the line that
 * names a session's client or the one that ends it.
 */
export type RegexKind = 'failregex' | 'ignoreregex' | 'session open' | 'session close';

// IPv4, optionally IPv4-mapped; else IPv6 ending in a hex group or in '::'. Hostnames never match:
// fleetban does not resolve names, so a name in a log line cannot identify whom to ban. Written for
// V8's linear engine: no lookbehind, and 1-4 hex digits as nested optionals (a {1,4} inside {1,7}
// would exceed the engine's repeat limit).
// An IPv6 address may carry a zone index (`fe80::1%eth0`, `%2`), as sshd logs link-local clients.
// The zone names an interface of the host that wrote the line, which means nothing to the rest of
// the fleet, and a firewall set holds no zones: parseIp drops it and the address alone is banned.
const HEX = '[0-9a-fA-F](?:[0-9a-fA-F](?:[0-9a-fA-F][0-9a-fA-F]?)?)?';
const UNIT = `(?:${HEX}::?|::?)`;
const ZONE = String.raw`(?:%[\w.-]{1,15})?`;
const ADDR = String.raw`(?:::ffff:)?\d{1,3}(?:\.\d{1,3}){3}|(?:${UNIT}{1,7}${HEX}|${UNIT}{0,6}(?:${HEX}::|::))${ZONE}`;

/** Distinct raw addresses remembered per filter; cleared when full (a flood of new ones just misses). */
const ADDRESS_CACHE = 10_000;

const TAG = /<(HOST|ADDR)>|<(\/?)F-([A-Za-z][A-Za-z0-9_]*)>/g;

/**
 * Turns one pattern into a RegExp. Throws FILTER_INVALID naming the filter and the pattern when
 * the text does not compile, when a failregex has no address tag (or, in a filter with
 * sessions, no `<F-SESSION>` either), when a session pattern lacks its tags, or when it
 * could backtrack catastrophically: patterns run on V8's linear-time fallback, and one that
 * needs the backtracking engine (lookaround, backreference) may not repeat a group that holds
 * a repeat.
 */
export function compileRegex(
  filter: string,
  source: string,
  kind: RegexKind,
  sessions = false,
): CompiledRegex {
  const hostGroups: string[] = [];
  const userGroups: string[] = [];
  const sessionGroups: string[] = [];
  const seen = new Map<string, number>();
  const unique = (base: string): string => {
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base}${n}`;
  };
  const open: string[] = [];
  let tagError = '';
  const translated = source.replace(
    TAG,
    (_m, addrTag: string | undefined, close: string, field: string | undefined) => {
      if (addrTag !== undefined) {
        const group = unique('host');
        hostGroups.push(group);
        return addrTag === 'HOST' ? String.raw`\[?(?<${group}>${ADDR})\]?` : `(?<${group}>${ADDR})`;
      }
      const name = (field ?? '').toLowerCase();
      if (close === '/') {
        if (open.pop() !== name)
          tagError = `</F-${field ?? ''}> without a matching <F-${field ?? ''}>`;
        return ')';
      }
      open.push(name);
      const group = unique(`f_${name}`);
      if (name === 'user' || name === 'alt_user') userGroups.push(group);
      if (name === 'session') sessionGroups.push(group);
      return `(?<${group}>`;
    },
  );
  if (tagError === '' && open.length > 0) tagError = `<F-${open[0] ?? ''}> is never closed`;
  if (tagError !== '') throw invalid(filter, kind, source, tagError);
  const tagsMissing = missingTags(kind, sessions, hostGroups.length > 0, sessionGroups.length > 0);
  if (tagsMissing !== '') throw invalid(filter, kind, source, tagsMissing);
  enableLinearRegex();
  try {
    new RegExp(translated);
  } catch (e) {
    throw invalid(filter, kind, source, e instanceof Error ? e.message : String(e), e);
  }
  // V8's linear engine bounds every pattern it can run; the few constructs it cannot (lookaround,
  // backreference) keep the backtracking engine, where no repeat may hold another and large
  // counts stay as written, since there they are what bounds the backtracking.
  const relaxed = relaxLargeRepeats(translated);
  const obstacle = linearObstacle(relaxed);
  if (obstacle?.kind === 'size')
    throw invalid(filter, kind, source, `it uses ${obstacle.construct}`);
  const nested = obstacle === null ? null : nestedRepeat(translated);
  if (obstacle !== null && nested !== null) {
    throw invalid(
      filter,
      kind,
      source,
      `it uses ${obstacle.construct}, which needs the backtracking engine, and repeats ${nested}, a group holding a repeat, which can backtrack exponentially there`,
    );
  }
  const pattern = obstacle === null ? relaxed : translated;
  return {
    source,
    regexp: new RegExp(pattern),
    literal: requiredLiteral(pattern),
    hostGroups,
    userGroups,
    sessionGroups,
  };
}

/** Why a pattern lacks the tags its kind needs, or ''. */
function missingTags(kind: RegexKind, sessions: boolean, host: boolean, session: boolean): string {
  switch (kind) {
    case 'failregex':
      if (host || (sessions && session)) return '';
      return sessions
        ? 'a failregex must contain <HOST>, <ADDR> or <F-SESSION>'
        : 'a failregex must contain <HOST> or <ADDR>';
    case 'session open':
      return host && session
        ? ''
        : 'a session open pattern must contain <F-SESSION> and <HOST> or <ADDR>';
    case 'session close':
      return session ? '' : 'a session close pattern must contain <F-SESSION>';
    case 'ignoreregex':
      return '';
  }
}

function invalid(
  filter: string,
  kind: string,
  source: string,
  why: string,
  cause?: unknown,
): FleetbanError {
  return new FleetbanError(
    ErrorCode.FILTER_INVALID,
    `filter "${filter}": ${kind} ${JSON.stringify(source)} is invalid: ${why}`,
    cause === undefined ? undefined : { cause },
  );
}

/** A filter's session patterns, compiled. */
export interface CompiledSessions {
  readonly open: readonly CompiledRegex[];
  readonly close: readonly CompiledRegex[];
}

/**
 * A compiled filter. Without sessions it holds no state but a bounded address cache, and one
 * instance may serve any number of jails; with sessions it holds that filter's open sessions
 * (bounded: session-table.ts), so each jail compiles its own.
 */
export class CompiledFilter {
  readonly name: string;
  readonly failregex: readonly CompiledRegex[];
  readonly ignoreregex: readonly CompiledRegex[];
  readonly sessions: CompiledSessions | null;
  readonly #addresses = new Map<string, string>();
  #table: SessionTable | null;

  constructor(source: FilterSource, limits?: SessionLimits) {
    this.name = source.name;
    const paired = source.sessions !== undefined;
    this.failregex = source.failregex.map((r) => compileRegex(source.name, r, 'failregex', paired));
    this.ignoreregex = source.ignoreregex.map((r) => compileRegex(source.name, r, 'ignoreregex'));
    if (this.failregex.length === 0) {
      throw new FleetbanError(ErrorCode.FILTER_INVALID, `filter "${source.name}" has no failregex`);
    }
    const s = source.sessions;
    this.sessions =
      s === undefined
        ? null
        : {
            open: s.open.map((r) => compileRegex(source.name, r, 'session open', true)),
            close: s.close.map((r) => compileRegex(source.name, r, 'session close', true)),
          };
    this.#table = s === undefined ? null : new SessionTable(limits);
  }

  /**
   * Takes over the open sessions of the filter this one replaces (a reload), so that sessions
   * opened before it still pair. Does nothing unless both pair sessions.
   */
  adoptSessions(previous: CompiledFilter): void {
    if (this.#table !== null && previous.#table !== null) this.#table = previous.#table;
  }

  /** Open sessions remembered, and how many were evicted or expired (null: no sessions). */
  get sessionStats(): { size: number; evicted: number; expired: number } | null {
    const t = this.#table;
    return t === null ? null : { size: t.size, evicted: t.evicted, expired: t.expired };
  }

  /** The failure in `message`, or null; ignoreregex is consulted only once a failregex matched. */
  match(message: string, event?: SessionContext): FilterHit | null {
    const hit = this.classify(message, event);
    return hit === null || hit.ignored ? null : hit;
  }

  /**
   * Like match, but reports ignoreregex hits (for counting and test-filter) instead of hiding
   * them. `event` says where the line came from: a filter with sessions pairs only lines of the
   * same sender, host, program and pid, and ages sessions on its receive time. Without it, all
   * lines count as one source that never ages (tests, single files).
   */
  classify(message: string, event?: SessionContext): FilterHit | null {
    const fail = this.failregex;
    for (let i = 0; i < fail.length; i++) {
      const r = fail[i] as CompiledRegex;
      if (r.literal !== '' && !message.includes(r.literal)) continue;
      const m = r.regexp.exec(message);
      if (m === null) continue;
      const address =
        r.hostGroups.length > 0
          ? this.#canonical(pick(m, r.hostGroups))
          : this.#sessionAddress(pick(m, r.sessionGroups), event);
      if (address === '') continue;
      return {
        address,
        user: pick(m, r.userGroups),
        regex: i,
        ignored: this.#ignored(message),
      };
    }
    if (this.sessions !== null) this.#track(message, event);
    return null;
  }

  /** The address the session's opening line named, '' when the session is unknown or idle. */
  #sessionAddress(id: string, event: SessionContext | undefined): string {
    if (id === '' || this.#table === null) return '';
    return this.#table.lookup(sessionKey(id, event), event?.receivedAt ?? 0) ?? '';
  }

  /** Opens or closes a session when the line is one of the filter's session lines. */
  #track(message: string, event: SessionContext | undefined): void {
    const table = this.#table;
    const sessions = this.sessions;
    if (table === null || sessions === null) return;
    for (const r of sessions.open) {
      if (r.literal !== '' && !message.includes(r.literal)) continue;
      const m = r.regexp.exec(message);
      if (m === null) continue;
      const id = pick(m, r.sessionGroups);
      const address = this.#canonical(pick(m, r.hostGroups));
      if (id === '' || address === '') continue;
      table.open(sessionKey(id, event), address, event?.receivedAt ?? 0);
      return;
    }
    for (const r of sessions.close) {
      if (r.literal !== '' && !message.includes(r.literal)) continue;
      const m = r.regexp.exec(message);
      if (m === null) continue;
      const id = pick(m, r.sessionGroups);
      if (id !== '') table.close(sessionKey(id, event));
      return;
    }
  }

  /** Canonical text of a matched address, '' if it is none; cached because attackers repeat. */
  #canonical(raw: string): string {
    if (raw === '') return '';
    let text = this.#addresses.get(raw);
    if (text === undefined) {
      text = parseIp(raw)?.text ?? '';
      if (this.#addresses.size >= ADDRESS_CACHE) this.#addresses.clear();
      this.#addresses.set(raw, text);
    }
    return text;
  }

  #ignored(message: string): boolean {
    for (const r of this.ignoreregex) {
      if (r.literal !== '' && !message.includes(r.literal)) continue;
      if (r.regexp.test(message)) return true;
    }
    return false;
  }
}

/** The parts of a SyslogEvent that tell one source of session ids from another. */
export type SessionContext = Pick<
  SyslogEvent,
  'peer' | 'hostname' | 'program' | 'pid' | 'receivedAt'
>;

/**
 * A session id means something only within the process that wrote it: the key holds the sender,
 * the reporting host, the program and the pid, so another host, or a restarted daemon reusing
 * an id, never pairs with a session it did not open.
 */
function sessionKey(id: string, event: SessionContext | undefined): string {
  if (event === undefined) return `\n\n\n\n${id}`;
  return `${event.peer}\n${event.hostname}\n${event.program}\n${event.pid}\n${id}`;
}

function pick(m: RegExpExecArray, groups: readonly string[]): string {
  const g = m.groups;
  if (g === undefined) return '';
  for (const name of groups) {
    const v = g[name];
    if (v !== undefined) return v;
  }
  return '';
}

/** Compiles a filter; throws FILTER_INVALID naming the filter and the offending pattern. */
export function compileFilter(source: FilterSource, limits?: SessionLimits): CompiledFilter {
  return new CompiledFilter(source, limits);
}

/**
 * What a jail runs on each line: the built-in CompiledFilter, or an adapter such as the
 * fail2ban one (src/fail2ban/runtime.ts), which needs the whole event to rebuild the log line.
 */
export interface JailFilter {
  readonly name: string;
  readonly failregex: readonly { readonly source: string }[];
  classify(message: string, event?: SyslogEvent): FilterHit | null;
  /** Load-time remarks for the admin (patterns left on the backtracking engine, options ignored). */
  readonly notices?: readonly string[];
}
