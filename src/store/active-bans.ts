// The in-memory view of active bans both stores keep: one column per field, a target index, the expiry heap.
import type { EpochMs } from '../core/clock.js';
import type { Ban, BanOrigin, Change } from '../core/types.js';
import { checkColumns, type BanColumns } from './ban-columns.js';
import { ExpiryHeap } from './expiry-heap.js';
import { TargetIndex } from './target-index.js';
import { TextColumn } from './text-column.js';
import { grown } from './typed-array.js';
import { TextTable } from './text-table.js';

/**
 * A million bans as a million objects cost a restart seconds of allocation and garbage
 * collection; as columns, with the index and heap beside them, they load by taking over buffers.
 * A `Ban` object is made only when one is asked for (`get`, `values`, `due`), and is a fresh copy
 * each time: compare bans by value. Each ban lives in a numbered slot; freed slots are reused,
 * and `version` moves on whenever a slot changes, which is how the expiry heap knows its entries
 * for it are stale.
 */
export class ActiveBans {
  #count = 0;
  /** Slots handed out so far (used or freed); slots from here on were never used. */
  #high = 0;
  #free: number[] = [];
  #used: Uint8Array = new Uint8Array(16);
  #version: Uint32Array = new Uint32Array(16);
  #family: Uint8Array = new Uint8Array(16);
  #attackerIsTarget: Uint8Array = new Uint8Array(16);
  #jail: Uint32Array = new Uint32Array(16);
  #origin: Uint32Array = new Uint32Array(16);
  #reason: Uint32Array = new Uint32Array(16);
  #start: Float64Array = new Float64Array(16);
  #end: Float64Array = new Float64Array(16);
  #seq: Float64Array = new Float64Array(16);
  /** Counts are kept as u32 (clamped), as the LevelDB records keep them. */
  #banCount: Uint32Array = new Uint32Array(16);
  #failures: Uint32Array = new Uint32Array(16);
  #texts = new TextTable();
  #targets = new TextColumn();
  #attackers = new TextColumn();
  #index = new TargetIndex(this.#targets);
  #heap = new ExpiryHeap(this.#isLive.bind(this));
  /** False after `load` until the heap is next needed (see #expiryHeap). */
  #heapBuilt = true;
  /**
   * Target strings `values()` made, by slot, so that full passes after the first (agent
   * snapshots, nftables documents) make none again. Only `values()` fills it: opening a store
   * and looking targets up make no lasting strings.
   */
  readonly #targetStrings: (string | undefined)[] = [];

  /**
   * The bans of `columns()` of earlier (or of a snapshot), taking over its arrays; null when
   * they do not hold together (a family, text number or slot out of range, an index or heap
   * that does not match the slots).
   */
  static fromColumns(c: BanColumns): ActiveBans | null {
    const slots = checkColumns(c);
    if (slots === null) return null;
    const n = c.used.length;
    const bans = new ActiveBans();
    bans.#count = slots.used;
    bans.#free = slots.free;
    bans.#high = n;
    bans.#used = c.used;
    bans.#version = new Uint32Array(n);
    bans.#family = c.family;
    bans.#attackerIsTarget = c.attackerIsTarget;
    bans.#jail = c.jail;
    bans.#origin = c.origin;
    bans.#reason = c.reason;
    bans.#start = c.start;
    bans.#end = c.end;
    bans.#seq = c.seq;
    bans.#banCount = c.banCount;
    bans.#failures = c.failures;
    bans.#texts = TextTable.of(c.texts, [c.jail, c.origin, c.reason], c.used);
    bans.#targets = TextColumn.packed(c.targets.bytes, c.targets.lengths, n);
    bans.#attackers = TextColumn.packed(c.attackers.bytes, c.attackers.lengths, n);
    const index = TargetIndex.restore(bans.#targets, c.index, c.used);
    const heap = ExpiryHeap.restore(
      { ...c.heap, versions: new Uint32Array(c.heap.slots.length) },
      n,
      bans.#isLive.bind(bans),
    );
    if (index === null || index.size !== bans.#count || heap === null) return null;
    bans.#index = index;
    bans.#heap = heap;
    return bans;
  }

  get size(): number {
    return this.#count;
  }

  get(target: string): Ban | undefined {
    const slot = this.#index.find(target);
    return slot < 0 ? undefined : this.#ban(slot);
  }

  /** When the ban on `target` ends (null: never), undefined when there is none; no object made. */
  endOf(target: string): EpochMs | null | undefined {
    const slot = this.#index.find(target);
    if (slot < 0) return undefined;
    const end = this.#end[slot] ?? NaN;
    return Number.isNaN(end) ? null : end;
  }

  *values(): IterableIterator<Ban> {
    const strings = this.#targetStrings;
    for (let slot = 0; slot < this.#high; slot++) {
      if (this.#used[slot] !== 1) continue;
      // Filled in slot order, so the array stays a plain list rather than a sparse one.
      while (strings.length <= slot) strings.push(undefined);
      const target = strings[slot] ?? this.#targets.get(slot);
      strings[slot] = target;
      yield this.#ban(slot, target);
    }
  }

  *targets(): IterableIterator<string> {
    for (let slot = 0; slot < this.#high; slot++)
      if (this.#used[slot] === 1) yield this.#targetString(slot);
  }

  /**
   * Bulk load at open, in as many calls as the caller has chunks: room is made per chunk, and
   * the expiry heap is built once, when next needed, instead of a million pushes.
   */
  load(bans: readonly Ban[]): void {
    const slots = this.#high + bans.length;
    if (slots > this.#used.length) this.#grow(Math.max(slots, 2 * this.#used.length));
    this.#index.reserve(this.#count + bans.length);
    let bytes = 0;
    for (const ban of bans) bytes += ban.target.length;
    this.#targets.reserveBytes(bytes);
    for (const ban of bans) this.#put(ban);
    this.#heapBuilt = false;
  }

  /** Applies written changes (a batch's, or the feed after a snapshot), in order. */
  apply(changes: readonly Change[]): void {
    this.#expiryHeap();
    for (const change of changes) {
      if (change.kind === 'ban') {
        const replacedExpiring = this.#expires(this.#index.find(change.ban.target));
        const slot = this.#put(change.ban);
        const end = this.#end[slot] ?? NaN;
        if (!Number.isNaN(end)) this.#heap.push(slot, this.#version[slot] ?? 0, end);
        // After the push: a rebuild here must see the new entry, and only once.
        if (replacedExpiring && this.#heap.markStale()) this.#rebuildHeap();
      } else {
        this.#delete(change.target);
      }
    }
  }

  due(now: EpochMs): Ban[] {
    return this.#expiryHeap()
      .due(now)
      .map((slot) => this.#ban(slot));
  }

  nextExpiry(): EpochMs | null {
    return this.#expiryHeap().peek();
  }

  #expiryHeap(): ExpiryHeap {
    if (!this.#heapBuilt) this.#rebuildHeap();
    return this.#heap;
  }

  /** The arrays as they stand, stale heap entries dropped first (for the snapshot). */
  columns(): BanColumns {
    this.#rebuildHeap();
    const n = this.#high;
    return {
      texts: this.#texts.texts(),
      used: this.#used.subarray(0, n),
      family: this.#family.subarray(0, n),
      attackerIsTarget: this.#attackerIsTarget.subarray(0, n),
      jail: this.#jail.subarray(0, n),
      origin: this.#origin.subarray(0, n),
      reason: this.#reason.subarray(0, n),
      start: this.#start.subarray(0, n),
      end: this.#end.subarray(0, n),
      seq: this.#seq.subarray(0, n),
      banCount: this.#banCount.subarray(0, n),
      failures: this.#failures.subarray(0, n),
      targets: this.#targets.pack(n),
      attackers: this.#attackers.pack(n),
      index: this.#index.cells(),
      heap: this.#heap.entries(),
    };
  }

  #isLive(slot: number, version: number): boolean {
    return this.#used[slot] === 1 && this.#version[slot] === version;
  }

  #targetString(slot: number): string {
    return this.#targetStrings[slot] ?? this.#targets.get(slot);
  }

  #ban(slot: number, target = this.#targetString(slot)): Ban {
    const end = this.#end[slot] ?? NaN;
    return {
      target,
      family: this.#family[slot] === 6 ? 6 : 4,
      jail: this.#texts.text(this.#jail[slot] ?? 0),
      origin: this.#texts.text(this.#origin[slot] ?? 0) as BanOrigin,
      attacker: this.#attackerIsTarget[slot] === 1 ? target : this.#attackers.get(slot),
      start: this.#start[slot] ?? 0,
      end: Number.isNaN(end) ? null : end,
      banCount: this.#banCount[slot] ?? 0,
      failures: this.#failures[slot] ?? 0,
      reason: this.#texts.text(this.#reason[slot] ?? 0),
      seq: this.#seq[slot] ?? 0,
    };
  }

  /** Writes `ban` into its target's slot (a new one if the target is not banned); returns it. */
  #put(ban: Ban): number {
    let slot = this.#index.find(ban.target);
    if (slot >= 0) {
      this.#releaseTexts(slot);
    } else {
      slot = this.#allocate();
      if (slot < this.#targetStrings.length) this.#targetStrings[slot] = undefined;
      this.#targets.set(slot, ban.target);
      this.#index.insert(slot);
    }
    const same = ban.attacker === ban.target;
    this.#version[slot] = (this.#version[slot] ?? 0) + 1;
    this.#family[slot] = ban.family;
    this.#attackerIsTarget[slot] = same ? 1 : 0;
    if (same) this.#attackers.clear(slot);
    else this.#attackers.set(slot, ban.attacker);
    this.#jail[slot] = this.#texts.use(ban.jail);
    this.#origin[slot] = this.#texts.use(ban.origin);
    this.#reason[slot] = this.#texts.use(ban.reason);
    this.#start[slot] = ban.start;
    this.#end[slot] = ban.end ?? NaN;
    this.#seq[slot] = ban.seq;
    this.#banCount[slot] = u32(ban.banCount);
    this.#failures[slot] = u32(ban.failures);
    return slot;
  }

  #delete(target: string): void {
    const slot = this.#index.find(target);
    if (slot < 0) return;
    const expiring = this.#expires(slot);
    this.#index.remove(slot);
    this.#releaseTexts(slot);
    this.#targets.clear(slot);
    if (slot < this.#targetStrings.length) this.#targetStrings[slot] = undefined;
    this.#attackers.clear(slot);
    this.#used[slot] = 0;
    this.#version[slot] = (this.#version[slot] ?? 0) + 1;
    this.#free.push(slot);
    this.#count--;
    if (expiring && this.#heap.markStale()) this.#rebuildHeap();
  }

  /** Whether `slot` holds a ban that ends (and so has an entry in the heap). */
  #expires(slot: number): boolean {
    return slot >= 0 && this.#used[slot] === 1 && !Number.isNaN(this.#end[slot] ?? NaN);
  }

  #releaseTexts(slot: number): void {
    this.#texts.release(this.#jail[slot] ?? 0);
    this.#texts.release(this.#origin[slot] ?? 0);
    this.#texts.release(this.#reason[slot] ?? 0);
  }

  #allocate(): number {
    let slot = this.#free.pop();
    if (slot === undefined) {
      slot = this.#high++;
      if (slot >= this.#used.length) this.#grow(Math.max(16, 2 * this.#used.length));
    }
    this.#used[slot] = 1;
    this.#count++;
    return slot;
  }

  #grow(slots: number): void {
    this.#used = grown(this.#used, slots);
    this.#version = grown(this.#version, slots);
    this.#family = grown(this.#family, slots);
    this.#attackerIsTarget = grown(this.#attackerIsTarget, slots);
    this.#jail = grown(this.#jail, slots);
    this.#origin = grown(this.#origin, slots);
    this.#reason = grown(this.#reason, slots);
    this.#start = grown(this.#start, slots);
    this.#end = grown(this.#end, slots);
    this.#seq = grown(this.#seq, slots);
    this.#banCount = grown(this.#banCount, slots);
    this.#failures = grown(this.#failures, slots);
    this.#targets.reserve(slots);
    this.#attackers.reserve(slots);
  }

  #rebuildHeap(): void {
    this.#heapBuilt = true;
    const heap = this.#heap;
    heap.clear();
    for (let slot = 0; slot < this.#high; slot++) {
      const end = this.#end[slot] ?? NaN;
      if (this.#used[slot] === 1 && !Number.isNaN(end))
        heap.add(slot, this.#version[slot] ?? 0, end);
    }
    heap.heapify();
  }
}

/** `n` as the nearest u32 (what the LevelDB record keeps too). */
function u32(n: number): number {
  return Math.min(Math.max(Math.trunc(n), 0), 0xffffffff) || 0;
}
