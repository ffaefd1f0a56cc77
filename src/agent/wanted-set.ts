// The agent's wanted bans, with the changes since the last nft job, so a batch can diff only what changed.
import type { EpochMs } from '../core/clock.js';
import { formatCidr, type Cidr, type IpFamily } from '../core/ip.js';
import type { BanEntry } from '../distribute/protocol.js';
import {
  BAN_SET_SPECS,
  banSetOf,
  perSet,
  setElement,
  type PerSet,
  type SetElement,
} from '../nft/element.js';

/** A wanted ban with its target parsed once, on arrival. */
export interface Wanted {
  readonly ban: BanEntry;
  readonly target: string;
  readonly end: EpochMs | null;
  readonly cidr: Cidr;
}

/** What changed since the last job, per set: the keys, and the wanted element of each still wanted. */
export interface Changes {
  readonly keys: PerSet<string[]>;
  readonly wanted: PerSet<Map<string, SetElement>>;
}

/**
 * Wanted bans keyed by target text. Besides the map it keeps the targets changed since the last
 * `takeChanges()`, and whether a diff of those alone is exact: it is not once an interval set
 * (`banned_v4_net`, `banned_v6_net`) holds two prefix lengths (a prefix inside a wider banned one
 * is left out of the set, and comes back when the wider one goes: a change to one key moves
 * another) or a target is not canonical text (two spellings of one element). Addresses and /64s
 * live in hash sets, where no key moves another, so the common case stays incremental. Such a state forces full diffs until a full job has run from
 * a state without it. Cost per ban or unban: O(1).
 */
export class WantedSet {
  readonly #map = new Map<string, Wanted>();
  /** Prefix length → wanted targets of that length, per family, in the interval sets only. */
  readonly #lengths: Record<IpFamily, Map<number, number>> = { 4: new Map(), 6: new Map() };
  /** Target → its prefix, for every target set or deleted since the last take. */
  #changed = new Map<string, Cidr>();
  /** Some interval set needed (or may have needed) normalising across keys since the last full job. */
  #mixed = true;
  /** Bumped whenever #mixed is set: a full job only clears it if no mixing came meanwhile. */
  #mixings = 0;

  get size(): number {
    return this.#map.size;
  }

  get(target: string): Wanted | undefined {
    return this.#map.get(target);
  }

  values(): IterableIterator<Wanted> {
    return this.#map.values();
  }

  entries(): Wanted[] {
    return [...this.#map.values()];
  }

  set(w: Wanted): void {
    const old = this.#map.get(w.target);
    if (old !== undefined) this.#count(old.cidr, -1);
    this.#map.set(w.target, w);
    this.#count(w.cidr, 1);
    if (formatCidr(w.cidr) !== w.target) this.#markMixed();
    this.#changed.set(w.target, w.cidr);
  }

  delete(target: string): boolean {
    const old = this.#map.get(target);
    if (old === undefined) return false;
    this.#map.delete(target);
    this.#count(old.cidr, -1);
    this.#changed.set(target, old.cidr);
    return true;
  }

  /**
   * Marks a key changed without changing the wanted bans: a job that applied only part of a
   * change hands the rest to the next one. Keys are targets while diffs of keys are exact
   * (then every target is canonical); otherwise the next job is a full one anyway.
   */
  markChanged(key: string, cidr: Cidr): void {
    if (!this.#changed.has(key)) this.#changed.set(key, cidr);
  }

  /** The element keys of the targets changed since the last take: the newest changes. */
  changedKeys(): Set<string> {
    const keys = new Set<string>();
    for (const cidr of this.#changed.values()) keys.add(formatCidr(cidr));
    return keys;
  }

  /** Empties the set; the next job must be a full one. */
  clear(): void {
    this.#map.clear();
    this.#lengths[4].clear();
    this.#lengths[6].clear();
    this.#changed = new Map();
    this.#markMixed();
  }

  /** Whether a diff of the changed keys alone gives what a full diff would. */
  get incremental(): boolean {
    return !this.#mixed;
  }

  /**
   * Hands over the changes since the last take (and forgets them): the keys, and the element
   * each should be now, per set; an expired ban counts as not wanted, as normaliseBans has it.
   */
  takeChanges(now: EpochMs): Changes {
    const changes: Changes = {
      keys: perSet(() => []),
      wanted: perSet(() => new Map<string, SetElement>()),
    };
    for (const [target, cidr] of this.#changed) {
      const key = formatCidr(cidr);
      const set = banSetOf(cidr);
      changes.keys[set].push(key);
      const w = this.#map.get(target);
      if (w !== undefined && (w.end === null || w.end > now)) {
        changes.wanted[set].set(key, setElement(w.cidr, w.end));
      }
    }
    this.#changed = new Map();
    return changes;
  }

  /**
   * Call as a full job starts (it computes from every wanted ban, so earlier changes are covered);
   * call the returned function once it has applied: from then on, diffs of the keys changed since
   * its start are exact again, unless the state it started from needed normalising or a change
   * made meanwhile did. (A change from a clean state can only spoil it by adding a second prefix
   * length or a non-canonical target, and both mark the set.)
   */
  startFull(): () => void {
    this.#changed = new Map();
    const mixings = this.#mixings;
    const clean = this.#clean();
    return () => {
      if (this.#mixings === mixings) this.#mixed = !clean;
    };
  }

  /** No interval set holds two prefix lengths and every target is canonical text. */
  #clean(): boolean {
    if (this.#lengths[4].size > 1 || this.#lengths[6].size > 1) return false;
    for (const w of this.#map.values()) if (formatCidr(w.cidr) !== w.target) return false;
    return true;
  }

  #count(cidr: Cidr, delta: number): void {
    if (!BAN_SET_SPECS[banSetOf(cidr)].interval) return;
    const m = this.#lengths[cidr.family];
    const n = (m.get(cidr.prefix) ?? 0) + delta;
    if (n > 0) m.set(cidr.prefix, n);
    else m.delete(cidr.prefix);
    if (m.size > 1) this.#markMixed();
  }

  #markMixed(): void {
    this.#mixed = true;
    this.#mixings++;
  }
}
