// A binary min-heap of ban slots by end time with lazy deletion, so due()/nextExpiry() stay cheap at 1M bans.
import type { EpochMs } from '../core/clock.js';
import { grown } from './typed-array.js';

/** Heap entries in three parallel arrays, in heap order. */
export interface HeapEntries {
  readonly slots: Int32Array;
  readonly versions: Uint32Array;
  readonly ends: Float64Array;
}

/**
 * Entries are (slot, version, end) in three typed arrays. Lifting or replacing a ban does not
 * search the heap: the slot's version moves on, so the entry goes stale and is dropped when it
 * surfaces, or in a rebuild once stale entries outnumber live ones. `isLive` tells the two apart
 * (the slot still holds a ban of that version).
 */
export class ExpiryHeap {
  #slots: Int32Array = new Int32Array(64);
  #versions: Uint32Array = new Uint32Array(64);
  #ends: Float64Array = new Float64Array(64);
  #size = 0;
  #stale = 0;
  readonly #isLive: (slot: number, version: number) => boolean;

  constructor(isLive: (slot: number, version: number) => boolean) {
    this.#isLive = isLive;
  }

  /**
   * A heap of the `entries()` of earlier, or null when they are not in heap order or name a slot
   * at or past `slots`.
   */
  static restore(
    entries: HeapEntries,
    slots: number,
    isLive: (slot: number, version: number) => boolean,
  ): ExpiryHeap | null {
    const n = entries.slots.length;
    if (entries.versions.length !== n || entries.ends.length !== n) return null;
    for (let i = 0; i < n; i++) {
      const slot = entries.slots[i] ?? -1;
      if (slot < 0 || slot >= slots) return null;
      if (i > 0 && !((entries.ends[(i - 1) >> 1] ?? NaN) <= (entries.ends[i] ?? NaN))) return null;
    }
    const heap = new ExpiryHeap(isLive);
    heap.#slots = entries.slots;
    heap.#versions = entries.versions;
    heap.#ends = entries.ends;
    heap.#size = n;
    return heap;
  }

  /** The entries in heap order, for a snapshot (stale ones too: rebuild first to drop them). */
  entries(): HeapEntries {
    return {
      slots: this.#slots.subarray(0, this.#size),
      versions: this.#versions.subarray(0, this.#size),
      ends: this.#ends.subarray(0, this.#size),
    };
  }

  /** Empties the heap ahead of a bulk load: `add` each entry, then `heapify` once, in O(n). */
  clear(): void {
    this.#size = 0;
    this.#stale = 0;
  }

  /** Appends an entry without ordering it (bulk load only). */
  add(slot: number, version: number, end: EpochMs): void {
    if (this.#size === this.#slots.length) this.#grow();
    this.#slots[this.#size] = slot;
    this.#versions[this.#size] = version;
    this.#ends[this.#size] = end;
    this.#size++;
  }

  heapify(): void {
    for (let i = (this.#size >> 1) - 1; i >= 0; i--) this.#down(i);
  }

  push(slot: number, version: number, end: EpochMs): void {
    this.add(slot, version, end);
    this.#up(this.#size - 1);
  }

  /** Records that one entry went stale; true when stale entries dominate (time to rebuild). */
  markStale(): boolean {
    this.#stale++;
    return this.#stale > 1024 && this.#stale * 2 > this.#size;
  }

  /** The earliest live end, or null. */
  peek(): EpochMs | null {
    this.#dropStaleTop();
    return this.#size === 0 ? null : (this.#ends[0] ?? null);
  }

  /** Slots of live entries with end ≤ now, earliest first, without removing them. */
  due(now: EpochMs): number[] {
    this.#dropStaleTop();
    const found: number[] = [];
    const stack: number[] = [0];
    while (stack.length > 0) {
      const i = stack.pop() ?? 0;
      // Heap order: once a node ends after `now`, its whole subtree does too.
      if (i >= this.#size || (this.#ends[i] ?? Infinity) > now) continue;
      if (this.#isLive(this.#slots[i] ?? 0, this.#versions[i] ?? 0)) found.push(i);
      stack.push(2 * i + 1, 2 * i + 2);
    }
    found.sort((a, b) => (this.#ends[a] ?? 0) - (this.#ends[b] ?? 0));
    return found.map((i) => this.#slots[i] ?? 0);
  }

  get size(): number {
    return this.#size;
  }

  #grow(): void {
    const length = Math.max(64, 2 * this.#slots.length);
    this.#slots = grown(this.#slots, length);
    this.#versions = grown(this.#versions, length);
    this.#ends = grown(this.#ends, length);
  }

  #dropStaleTop(): void {
    while (this.#size > 0 && !this.#isLive(this.#slots[0] ?? 0, this.#versions[0] ?? 0)) {
      this.#size--;
      if (this.#stale > 0) this.#stale--;
      if (this.#size > 0) {
        this.#move(this.#size, 0);
        this.#down(0);
      }
    }
  }

  #move(from: number, to: number): void {
    this.#slots[to] = this.#slots[from] ?? 0;
    this.#versions[to] = this.#versions[from] ?? 0;
    this.#ends[to] = this.#ends[from] ?? 0;
  }

  #up(i: number): void {
    const slot = this.#slots[i] ?? 0;
    const version = this.#versions[i] ?? 0;
    const end = this.#ends[i] ?? 0;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((this.#ends[p] ?? 0) <= end) break;
      this.#move(p, i);
      i = p;
    }
    this.#set(i, slot, version, end);
  }

  #down(i: number): void {
    const n = this.#size;
    const ends = this.#ends;
    const slot = this.#slots[i] ?? 0;
    const version = this.#versions[i] ?? 0;
    const end = ends[i] ?? 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && (ends[c + 1] ?? 0) < (ends[c] ?? 0)) c++;
      if ((ends[c] ?? 0) >= end) break;
      this.#move(c, i);
      i = c;
    }
    this.#set(i, slot, version, end);
  }

  #set(i: number, slot: number, version: number, end: EpochMs): void {
    this.#slots[i] = slot;
    this.#versions[i] = version;
    this.#ends[i] = end;
  }
}
