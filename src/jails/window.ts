// Per-attacker failure windows for all jails, with one bound on memory: least recently updated attackers are evicted first.
import type { EpochMs } from '../core/clock.js';
import { cidrContains, type Cidr } from '../core/ip.js';
import type { Failure } from '../core/types.js';

/** Matched lines kept per attacker for the ban request (and so for mail and `fleetban bans`). */
export const MAX_LINES = 10;

/** One attacker (banmask prefix) in one jail. Failures sorted by time, oldest first. */
interface Entry {
  readonly jail: string;
  readonly key: string;
  readonly target: Cidr;
  attacker: string;
  times: EpochMs[];
  hosts: string[];
  /** Sender peer of each failure, in the same order as `times`. */
  senders: string[];
  lines: { time: EpochMs; text: string }[];
  newest: EpochMs;
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

/**
 * Sliding findtime windows keyed by jail and attacker prefix (the banmask applied, so an IPv6
 * /64 counts as one attacker). Time comes from the events, so replays of old logs count as they
 * happened; an event older than the newest failure is inserted in order, or dropped as stale when
 * it falls outside the window. At most `maxTracked` entries exist over all jails.
 */
export class FailureWindows {
  readonly #maxTracked: number;
  // Insertion order is update order: re-inserting on every failure keeps the oldest first.
  readonly #entries = new Map<string, Entry>();
  readonly #perJail = new Map<string, number>();
  readonly #evictions = new Map<string, number>();
  #evictedTotal = 0;

  constructor(maxTracked: number) {
    if (!Number.isInteger(maxTracked) || maxTracked < 1)
      throw new TypeError('maxTracked must be a positive integer');
    this.#maxTracked = maxTracked;
  }

  /** Counts a failure of `target` (the attacker's banmask prefix) in its jail. */
  add(target: Cidr, failure: Failure, findtimeMs: number): AddResult {
    const id = entryId(failure.jail, target);
    let entry = this.#entries.get(id);
    if (entry === undefined) {
      this.#makeRoom();
      entry = {
        jail: failure.jail,
        key: id,
        target,
        attacker: failure.attacker,
        times: [],
        hosts: [],
        senders: [],
        lines: [],
        newest: failure.time,
      };
      this.#perJail.set(failure.jail, (this.#perJail.get(failure.jail) ?? 0) + 1);
    } else {
      this.#entries.delete(id);
    }
    this.#entries.set(id, entry);

    const newest = Math.max(entry.newest, failure.time);
    const cutoff = newest - findtimeMs;
    if (failure.time <= cutoff) {
      if (entry.times.length === 0) this.#remove(entry);
      return { kind: 'stale' };
    }
    entry.newest = newest;
    entry.attacker = failure.attacker;
    expire(entry, cutoff);
    let at = entry.times.length;
    while (at > 0 && (entry.times[at - 1] as number) > failure.time) at--;
    entry.times.splice(at, 0, failure.time);
    entry.hosts.splice(at, 0, failure.host);
    entry.senders.splice(at, 0, failure.sender);
    entry.lines.push({ time: failure.time, text: failure.line });
    if (entry.lines.length > MAX_LINES) entry.lines.shift();
    return { kind: 'counted', failures: entry.times.length };
  }

  /** The current window of an attacker prefix in a jail, or null. */
  snapshot(jail: string, target: Cidr): WindowSnapshot | null {
    const entry = this.#entries.get(entryId(jail, target));
    if (entry === undefined) return null;
    const hosts: Record<string, number> = {};
    for (const h of entry.hosts) hosts[h] = (hosts[h] ?? 0) + 1;
    const senders: Record<string, number> = {};
    for (const s of entry.senders) senders[s] = (senders[s] ?? 0) + 1;
    const lines = [...entry.lines].sort((a, b) => a.time - b.time).map((l) => l.text);
    return { attacker: entry.attacker, failures: entry.times.length, hosts, senders, lines };
  }

  /** Forgets an attacker prefix in a jail (after a ban, or when an admin unbans). */
  delete(jail: string, target: Cidr): boolean {
    const entry = this.#entries.get(entryId(jail, target));
    if (entry === undefined) return false;
    this.#remove(entry);
    return true;
  }

  /** Forgets every window (of one jail, or of all) whose prefix lies inside `cidr`. */
  deleteCovered(cidr: Cidr, jail?: string): number {
    let n = 0;
    for (const entry of this.#entries.values()) {
      if ((jail === undefined || entry.jail === jail) && cidrContains(cidr, entry.target)) {
        this.#remove(entry);
        n++;
      }
    }
    return n;
  }

  /** Forgets every window of a jail (jail removed, or its banmask changed). */
  dropJail(jail: string): number {
    let n = 0;
    for (const entry of this.#entries.values()) {
      if (entry.jail === jail) {
        this.#remove(entry);
        n++;
      }
    }
    this.#evictions.delete(jail);
    return n;
  }

  /**
   * Removes windows whose newest failure is at least findtime old at `now`; `findtimeMs` gives
   * each jail's findtime (undefined = jail gone, drop). Returns how many were removed.
   */
  sweep(now: EpochMs, findtimeMs: (jail: string) => number | undefined): number {
    let n = 0;
    for (const entry of this.#entries.values()) {
      const f = findtimeMs(entry.jail);
      if (f === undefined || entry.newest <= now - f) {
        this.#remove(entry);
        n++;
      }
    }
    return n;
  }

  /** Attackers tracked in one jail, or over all jails. */
  tracked(jail?: string): number {
    return jail === undefined ? this.#entries.size : (this.#perJail.get(jail) ?? 0);
  }

  /** Windows dropped to stay under maxTracked, per jail or in all. */
  evictions(jail?: string): number {
    return jail === undefined ? this.#evictedTotal : (this.#evictions.get(jail) ?? 0);
  }

  #makeRoom(): void {
    while (this.#entries.size >= this.#maxTracked) {
      const oldest = this.#entries.values().next();
      if (oldest.done === true) return;
      this.#remove(oldest.value);
      this.#evictedTotal++;
      this.#evictions.set(oldest.value.jail, (this.#evictions.get(oldest.value.jail) ?? 0) + 1);
    }
  }

  #remove(entry: Entry): void {
    if (!this.#entries.delete(entry.key)) return;
    const left = (this.#perJail.get(entry.jail) ?? 1) - 1;
    if (left === 0) this.#perJail.delete(entry.jail);
    else this.#perJail.set(entry.jail, left);
  }
}

function entryId(jail: string, target: Cidr): string {
  return `${jail}\u0000${target.address}/${target.prefix}`;
}

function expire(entry: Entry, cutoff: EpochMs): void {
  let drop = 0;
  while (drop < entry.times.length && (entry.times[drop] as number) <= cutoff) drop++;
  if (drop > 0) {
    entry.times.splice(0, drop);
    entry.hosts.splice(0, drop);
    entry.senders.splice(0, drop);
  }
  // Lines are kept in arrival order, which out-of-order events may break: filter, not shift.
  if (entry.lines.some((l) => l.time <= cutoff))
    entry.lines = entry.lines.filter((l) => l.time > cutoff);
}
