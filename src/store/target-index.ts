// Finds the slot of a ban by its target text: an open-addressing hash table of slot numbers.
import { hashText, type TextColumn } from './text-column.js';

/**
 * Linear probing over an Int32Array of slot + 1 (0 is an empty cell), at most half full, with
 * backward-shift deletion so that no tombstones build up. The texts stay in the `TextColumn`;
 * the table keeps each slot's hash so that growing it never reads them again.
 */
export class TargetIndex {
  readonly #texts: TextColumn;
  #cells: Int32Array = new Int32Array(32);
  #mask = 31;
  #hashes: Uint32Array = new Uint32Array(16);
  #size = 0;

  constructor(texts: TextColumn) {
    this.#texts = texts;
  }

  /**
   * An index over `texts` from a `table()` of earlier, or null when the table is not one: its
   * length not a power of two of at least 32, or a cell naming a slot that `live` denies.
   */
  static restore(
    texts: TextColumn,
    table: IndexTable,
    live: (slot: number) => boolean,
  ): TargetIndex | null {
    const { cells, hashes } = table;
    if (cells.length < 32 || (cells.length & (cells.length - 1)) !== 0) return null;
    let size = 0;
    for (const cell of cells) {
      if (cell === 0) continue;
      if (cell < 0 || cell > hashes.length || !live(cell - 1)) return null;
      size++;
    }
    const index = new TargetIndex(texts);
    index.#cells = cells;
    index.#mask = cells.length - 1;
    index.#hashes = hashes;
    index.#size = size;
    return index;
  }

  get size(): number {
    return this.#size;
  }

  /** The table as it stands, for slots below `slots` (for a snapshot). */
  table(slots: number): IndexTable {
    return { cells: this.#cells, hashes: this.#hashes.subarray(0, slots) };
  }

  /** The slot holding `target`, or -1. */
  find(target: string): number {
    const { hash, utf8 } = hashText(target);
    const cells = this.#cells;
    for (let i = hash & this.#mask; ; i = (i + 1) & this.#mask) {
      const cell = cells[i] ?? 0;
      if (cell === 0) return -1;
      const slot = cell - 1;
      if (this.#hashes[slot] === hash && this.#texts.equals(slot, target, utf8)) return slot;
    }
  }

  /** Adds `slot`, whose target is already in the text column and not in the index yet. */
  insert(slot: number): void {
    if (slot >= this.#hashes.length) this.#hashes = grownHashes(this.#hashes, slot + 1);
    const hash = this.#texts.hash(slot);
    this.#hashes[slot] = hash;
    if (2 * (this.#size + 1) > this.#cells.length) this.#resize(2 * this.#cells.length);
    this.#place(slot, hash);
    this.#size++;
  }

  /** Removes `slot` (which must be in the index), moving later cells of its run back. */
  remove(slot: number): void {
    const cells = this.#cells;
    const mask = this.#mask;
    let i = (this.#hashes[slot] ?? 0) & mask;
    while (cells[i] !== slot + 1) i = (i + 1) & mask;
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const cell = cells[j] ?? 0;
      if (cell === 0) break;
      const home = (this.#hashes[cell - 1] ?? 0) & mask;
      // Move the cell at j into the hole at i unless its home lies cyclically in (i, j].
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        cells[i] = cell;
        i = j;
      }
    }
    cells[i] = 0;
    this.#size--;
  }

  /** Indexes every slot below `slots` for which `live` holds, into a table sized for them. */
  rebuild(slots: number, live: (slot: number) => boolean): void {
    this.#hashes = new Uint32Array(Math.max(16, slots));
    let count = 0;
    for (let slot = 0; slot < slots; slot++) if (live(slot)) count++;
    this.#size = 0;
    this.#cells = new Int32Array(tableSize(count));
    this.#mask = this.#cells.length - 1;
    for (let slot = 0; slot < slots; slot++) {
      if (!live(slot)) continue;
      const hash = this.#texts.hash(slot);
      this.#hashes[slot] = hash;
      this.#place(slot, hash);
      this.#size++;
    }
  }

  #place(slot: number, hash: number): void {
    const cells = this.#cells;
    let i = hash & this.#mask;
    while (cells[i] !== 0) i = (i + 1) & this.#mask;
    cells[i] = slot + 1;
  }

  #resize(length: number): void {
    const old = this.#cells;
    this.#cells = new Int32Array(length);
    this.#mask = length - 1;
    for (const cell of old) if (cell !== 0) this.#place(cell - 1, this.#hashes[cell - 1] ?? 0);
  }
}

/** The hash table itself: slot + 1 per cell (0: empty), and each slot's hash. */
export interface IndexTable {
  readonly cells: Int32Array;
  readonly hashes: Uint32Array;
}

/** A power of two at least twice `count` (and at least 32). */
function tableSize(count: number): number {
  let size = 32;
  while (size < 2 * count) size *= 2;
  return size;
}

function grownHashes(hashes: Uint32Array, length: number): Uint32Array {
  const next = new Uint32Array(Math.max(length, 16, 2 * hashes.length));
  next.set(hashes);
  return next;
}
