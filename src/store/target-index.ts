// Finds the slot of a ban by its target text: an open-addressing hash table of slot numbers.
import { hashText, type TextColumn } from './text-column.js';

/**
 * Linear probing over an Int32Array of slot + 1 (0 is an empty cell), at most half full, with
 * backward-shift deletion so that no tombstones build up. The texts stay in the `TextColumn`,
 * which hashes them again when needed (removing a ban, growing the table) rather than the table
 * keeping a hash per slot: the table is all a snapshot has to carry.
 */
export class TargetIndex {
  readonly #texts: TextColumn;
  #cells: Int32Array = new Int32Array(32);
  #mask = 31;
  #size = 0;

  constructor(texts: TextColumn) {
    this.#texts = texts;
  }

  /**
   * An index over `texts` with the `cells()` of earlier, or null when they are not such a table:
   * a length that is not a power of two of at least 32, or a cell naming a slot not marked 1 in
   * `used`.
   */
  static restore(texts: TextColumn, cells: Int32Array, used: Uint8Array): TargetIndex | null {
    if (cells.length < 32 || (cells.length & (cells.length - 1)) !== 0) return null;
    let size = 0;
    for (let i = 0; i < cells.length; i++) {
      const cell = cells[i] ?? 0;
      if (cell === 0) continue;
      if (cell < 0 || used[cell - 1] !== 1) return null;
      size++;
    }
    const index = new TargetIndex(texts);
    index.#cells = cells;
    index.#mask = cells.length - 1;
    index.#size = size;
    return index;
  }

  get size(): number {
    return this.#size;
  }

  /** The table as it stands (for a snapshot). */
  cells(): Int32Array {
    return this.#cells;
  }

  /** The slot holding `target`, or -1. */
  find(target: string): number {
    const { hash, utf8 } = hashText(target);
    const cells = this.#cells;
    for (let i = hash & this.#mask; ; i = (i + 1) & this.#mask) {
      const cell = cells[i] ?? 0;
      if (cell === 0) return -1;
      if (this.#texts.equals(cell - 1, target, utf8)) return cell - 1;
    }
  }

  /** Makes the table big enough for `count` targets at once (a bulk load). */
  reserve(count: number): void {
    let length = this.#cells.length;
    while (2 * count > length) length *= 2;
    if (length > this.#cells.length) this.#resize(length);
  }

  /** Adds `slot`, whose target is already in the text column and not in the index yet. */
  insert(slot: number): void {
    if (2 * (this.#size + 1) > this.#cells.length) this.#resize(2 * this.#cells.length);
    this.#place(slot);
    this.#size++;
  }

  /** Removes `slot` (which must be in the index), moving later cells of its run back. */
  remove(slot: number): void {
    const cells = this.#cells;
    const mask = this.#mask;
    let i = this.#texts.hash(slot) & mask;
    while (cells[i] !== slot + 1) i = (i + 1) & mask;
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const cell = cells[j] ?? 0;
      if (cell === 0) break;
      const home = this.#texts.hash(cell - 1) & mask;
      // Move the cell at j into the hole at i unless its home lies cyclically in (i, j].
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        cells[i] = cell;
        i = j;
      }
    }
    cells[i] = 0;
    this.#size--;
  }

  #place(slot: number): void {
    const cells = this.#cells;
    let i = this.#texts.hash(slot) & this.#mask;
    while (cells[i] !== 0) i = (i + 1) & this.#mask;
    cells[i] = slot + 1;
  }

  #resize(length: number): void {
    const old = this.#cells;
    this.#cells = new Int32Array(length);
    this.#mask = length - 1;
    for (const cell of old) if (cell !== 0) this.#place(cell - 1);
  }
}
