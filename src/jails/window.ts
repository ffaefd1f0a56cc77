// Per-attacker failure windows for all jails, with one bound on memory: least recently updated attackers are evicted first.
import type { EpochMs } from '../core/clock.js';
import { cidrContains, formatCidr, parseCidr, type Cidr } from '../core/ip.js';
import type { Failure } from '../core/types.js';

/** Matched lines kept per attacker for the ban request (and so for mail and `fleetban bans`). */
export const MAX_LINES = 10;

/** An attacker's failures once there are two or more, sorted by time, oldest first. */
interface Failures {
  readonly times: EpochMs[];
  readonly hosts: string[];
  /** Sender peer of each failure, in the same order as `times`. */
  readonly senders: string[];
  lines: { readonly time: EpochMs; readonly text: string }[];
}

/**
 * One attacker (banmask prefix) in one jail, and a link in the eviction order. Most attackers
 * of a botnet fail once: their one failure is kept inline (`newest`, `host`, `line`) and the
 * arrays are made at the second.
 */
interface Entry {
  readonly jail: JailWindows;
  /** The prefix as formatCidr text (for a single address: the address, no copy). */
  readonly key: string;
  attacker: string;
  newest: EpochMs;
  host: string;
  sender: string;
  line: string;
  more: Failures | null;
  /** Neighbours in update order: `older` towards the next eviction. */
  older: Entry | null;
  newer: Entry | null;
}

/** The windows of one jail, and how many of its windows the cap dropped. */
interface JailWindows {
  readonly name: string;
  readonly entries: Map<string, Entry>;
  evictions: number;
}

/** What adding a failure did. `stale` = older than findtime before the newest failure, not counted. */
export type AddResult =
  { readonly kind: 'stale' } | { readonly kind: 'counted'; readonly failures: number };

/** The window contents handed to a ban request. */
export interface WindowSnapshot {
  readonly attacker: string;
  readonly failures: number;
  readonly hosts: Readonly<Record<string, number>>;
  readonly senders: Readonly<Record<string, number>>;
  readonly lines: readonly string[];
}

const STALE: AddResult = { kind: 'stale' };
const ONE: AddResult = { kind: 'counted', failures: 1 };

/**
 * Sliding findtime windows keyed by jail and attacker prefix (the banmask applied, so an IPv6
 * /64 counts as one attacker). Time comes from the events, so replays of old logs count as they
 * happened; an event older than the newest failure is inserted in order, or dropped as stale when
 * it falls outside the window. At most `maxTracked` entries exist over all jails.
 *
 * Eviction order is a doubly linked list through the entries (oldest update first): evicting,
 * and moving an entry to the newest end, are O(1) however many attackers came and went.
 */
export class FailureWindows {
  readonly #maxTracked: number;
  readonly #jails = new Map<string, JailWindows>();
  #size = 0;
  #oldest: Entry | null = null;
  #newest: Entry | null = null;
  #evictedTotal = 0;

  constructor(maxTracked: number) {
    if (!Number.isInteger(maxTracked) || maxTracked < 1)
      throw new TypeError('maxTracked must be a positive integer');
    this.#maxTracked = maxTracked;
  }

  /** Counts a failure of `target` (the attacker's banmask prefix) in its jail. */
  add(target: Cidr, failure: Failure, findtimeMs: number): AddResult {
    const jail = this.#jail(failure.jail);
    const key = formatCidr(target);
    const entry = jail.entries.get(key);
    if (entry === undefined) {
      // A first failure is its own newest: stale only if findtime is not positive.
      if (findtimeMs <= 0) return STALE;
      this.#makeRoom();
      const fresh: Entry = {
        jail,
        key,
        attacker: failure.attacker,
        newest: failure.time,
        host: failure.host,
        sender: failure.sender,
        line: failure.line,
        more: null,
        older: null,
        newer: null,
      };
      jail.entries.set(key, fresh);
      this.#append(fresh);
      this.#size++;
      return ONE;
    }
    this.#touch(entry);
    const newest = Math.max(entry.newest, failure.time);
    const cutoff = newest - findtimeMs;
    if (failure.time <= cutoff) return STALE;
    entry.attacker = failure.attacker;
    if (entry.more === null && entry.newest <= cutoff) {
      // The one failure slid out: the new one replaces it, still inline.
      entry.newest = failure.time;
      entry.host = failure.host;
      entry.sender = failure.sender;
      entry.line = failure.line;
      return ONE;
    }
    const more = entry.more ?? unpack(entry);
    entry.newest = newest;
    expire(more, cutoff);
    let at = more.times.length;
    while (at > 0 && (more.times[at - 1] as number) > failure.time) at--;
    more.times.splice(at, 0, failure.time);
    more.hosts.splice(at, 0, failure.host);
    more.senders.splice(at, 0, failure.sender);
    more.lines.push({ time: failure.time, text: failure.line });
    if (more.lines.length > MAX_LINES) more.lines.shift();
    return { kind: 'counted', failures: more.times.length };
  }

  /** The current window of an attacker prefix in a jail, or null. */
  snapshot(jail: string, target: Cidr): WindowSnapshot | null {
    const entry = this.#jails.get(jail)?.entries.get(formatCidr(target));
    if (entry === undefined) return null;
    const more = entry.more;
    if (more === null) {
      return {
        attacker: entry.attacker,
        failures: 1,
        hosts: { [entry.host]: 1 },
        senders: { [entry.sender]: 1 },
        lines: [entry.line],
      };
    }
    const hosts: Record<string, number> = {};
    for (const h of more.hosts) hosts[h] = (hosts[h] ?? 0) + 1;
    const senders: Record<string, number> = {};
    for (const s of more.senders) senders[s] = (senders[s] ?? 0) + 1;
    const lines = [...more.lines].sort((a, b) => a.time - b.time).map((l) => l.text);
    return { attacker: entry.attacker, failures: more.times.length, hosts, senders, lines };
  }

  /** Forgets an attacker prefix in a jail (after a ban, or when an admin unbans). */
  delete(jail: string, target: Cidr): boolean {
    const entry = this.#jails.get(jail)?.entries.get(formatCidr(target));
    if (entry === undefined) return false;
    this.#remove(entry);
    return true;
  }

  /** Forgets every window (of one jail, or of all) whose prefix lies inside `cidr`. */
  deleteCovered(cidr: Cidr, jail?: string): number {
    return this.#removeWhere((entry) => {
      if (jail !== undefined && entry.jail.name !== jail) return false;
      const target = parseCidr(entry.key);
      return target !== null && cidrContains(cidr, target);
    });
  }

  /** Forgets every window of a jail (jail removed, or its banmask changed). */
  dropJail(jail: string): number {
    const windows = this.#jails.get(jail);
    if (windows === undefined) return 0;
    const n = windows.entries.size;
    for (const entry of windows.entries.values()) this.#unlink(entry);
    this.#size -= n;
    this.#jails.delete(jail);
    return n;
  }

  /**
   * Removes windows whose newest failure is at least findtime old at `now`; `findtimeMs` gives
   * each jail's findtime (undefined = jail gone, drop). Returns how many were removed.
   */
  sweep(now: EpochMs, findtimeMs: (jail: string) => number | undefined): number {
    return this.#removeWhere((entry) => {
      const f = findtimeMs(entry.jail.name);
      return f === undefined || entry.newest <= now - f;
    });
  }

  /** Attackers tracked in one jail, or over all jails. */
  tracked(jail?: string): number {
    return jail === undefined ? this.#size : (this.#jails.get(jail)?.entries.size ?? 0);
  }

  /** Windows dropped to stay under maxTracked, per jail or in all. */
  evictions(jail?: string): number {
    return jail === undefined ? this.#evictedTotal : (this.#jails.get(jail)?.evictions ?? 0);
  }

  #jail(name: string): JailWindows {
    let jail = this.#jails.get(name);
    if (jail === undefined) {
      jail = { name, entries: new Map(), evictions: 0 };
      this.#jails.set(name, jail);
    }
    return jail;
  }

  #makeRoom(): void {
    while (this.#size >= this.#maxTracked && this.#oldest !== null) {
      const oldest = this.#oldest;
      this.#remove(oldest);
      this.#evictedTotal++;
      oldest.jail.evictions++;
    }
  }

  #removeWhere(drop: (entry: Entry) => boolean): number {
    let n = 0;
    for (let entry = this.#oldest; entry !== null;) {
      const next = entry.newer;
      if (drop(entry)) {
        this.#remove(entry);
        n++;
      }
      entry = next;
    }
    return n;
  }

  #remove(entry: Entry): void {
    if (entry.jail.entries.get(entry.key) !== entry) return;
    entry.jail.entries.delete(entry.key);
    this.#unlink(entry);
    this.#size--;
  }

  /** Moves an entry to the newest end. */
  #touch(entry: Entry): void {
    if (this.#newest === entry) return;
    this.#unlink(entry);
    this.#append(entry);
  }

  #append(entry: Entry): void {
    entry.older = this.#newest;
    entry.newer = null;
    if (this.#newest === null) this.#oldest = entry;
    else this.#newest.newer = entry;
    this.#newest = entry;
  }

  #unlink(entry: Entry): void {
    if (entry.older === null) this.#oldest = entry.newer;
    else entry.older.newer = entry.newer;
    if (entry.newer === null) this.#newest = entry.older;
    else entry.newer.older = entry.older;
    entry.older = null;
    entry.newer = null;
  }
}

/** Turns an entry's inline failure into arrays, for its second failure. */
function unpack(entry: Entry): Failures {
  const more: Failures = {
    times: [entry.newest],
    hosts: [entry.host],
    senders: [entry.sender],
    lines: [{ time: entry.newest, text: entry.line }],
  };
  entry.more = more;
  // The arrays hold them now; the inline fields would only keep the first line alive.
  entry.host = '';
  entry.sender = '';
  entry.line = '';
  return more;
}

function expire(more: Failures, cutoff: EpochMs): void {
  let drop = 0;
  while (drop < more.times.length && (more.times[drop] as number) <= cutoff) drop++;
  if (drop > 0) {
    more.times.splice(0, drop);
    more.hosts.splice(0, drop);
    more.senders.splice(0, drop);
  }
  // Lines are kept in arrival order, which out-of-order events may break: filter, not shift.
  if (more.lines.some((l) => l.time <= cutoff))
    more.lines = more.lines.filter((l) => l.time > cutoff);
}
