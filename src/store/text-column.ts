// One text per numbered slot, kept as UTF-8 in one byte buffer instead of one string per slot.
import { grown } from './typed-array.js';

/**
 * Texts go at the end of the buffer; a replaced or cleared text leaves its bytes behind until
 * they outweigh the live ones, then the live texts are packed again. Strings are made only when
 * asked for (`get`), so a million addresses cost two buffers, not a million heap objects, and
 * `hash`/`equals` let an index find a slot by its text without making any.
 */
export class TextColumn {
  #bytes: Buffer;
  #start: Uint32Array;
  #length: Uint32Array;
  #end = 0;
  #garbage = 0;

  constructor(slots = 16, bytes = slots * 16) {
    this.#bytes = Buffer.allocUnsafe(Math.max(64, bytes));
    this.#start = new Uint32Array(slots);
    this.#length = new Uint32Array(slots);
  }

  /** A column over packed texts: slot i holds `lengths[i]` bytes, right after slot i-1's. */
  static packed(bytes: Buffer, lengths: Uint32Array, slots: number): TextColumn {
    const column = new TextColumn(0, 0);
    column.#bytes = bytes;
    column.#length = grown(lengths, slots);
    column.#start = new Uint32Array(slots);
    let at = 0;
    for (let i = 0; i < lengths.length; i++) {
      column.#start[i] = at;
      at += lengths[i] ?? 0;
    }
    column.#end = at;
    return column;
  }

  /** Makes room for slots below `slots`. */
  reserve(slots: number): void {
    if (slots <= this.#start.length) return;
    this.#start = grown(this.#start, slots);
    this.#length = grown(this.#length, slots);
  }

  /** Makes room for `bytes` more bytes of text without moving the buffer again. */
  reserveBytes(bytes: number): void {
    if (this.#end + bytes > this.#bytes.length) this.#makeRoom(bytes);
  }

  get(slot: number): string {
    const start = this.#start[slot] ?? 0;
    return this.#bytes.toString('utf8', start, start + (this.#length[slot] ?? 0));
  }

  byteLength(slot: number): number {
    return this.#length[slot] ?? 0;
  }

  set(slot: number, text: string): void {
    this.clear(slot);
    const size = Buffer.byteLength(text, 'utf8');
    if (this.#end + size > this.#bytes.length) this.#makeRoom(size);
    this.#bytes.write(text, this.#end, 'utf8');
    this.#start[slot] = this.#end;
    this.#length[slot] = size;
    this.#end += size;
  }

  clear(slot: number): void {
    this.#garbage += this.#length[slot] ?? 0;
    this.#length[slot] = 0;
  }

  /** FNV-1a over the slot's UTF-8 bytes; equal to `hashText` of the same text. */
  hash(slot: number): number {
    const bytes = this.#bytes;
    const start = this.#start[slot] ?? 0;
    const end = start + (this.#length[slot] ?? 0);
    let h = FNV_OFFSET;
    for (let i = start; i < end; i++) h = Math.imul(h ^ (bytes[i] ?? 0), FNV_PRIME);
    return h >>> 0;
  }

  /** Whether the slot holds `text`; `utf8` is its encoding when it is not all ASCII. */
  equals(slot: number, text: string, utf8: Buffer | null): boolean {
    const bytes = this.#bytes;
    const start = this.#start[slot] ?? 0;
    const length = this.#length[slot] ?? 0;
    if (utf8 !== null)
      return length === utf8.length && utf8.equals(bytes.subarray(start, start + length));
    if (length !== text.length) return false;
    for (let i = 0; i < length; i++) if (bytes[start + i] !== text.charCodeAt(i)) return false;
    return true;
  }

  /** The texts of slots 0 to `slots` - 1, packed in slot order, with their lengths (for a snapshot). */
  pack(slots: number): { bytes: Buffer; lengths: Uint32Array } {
    const lengths = this.#length.slice(0, slots);
    let size = 0;
    for (const length of lengths) size += length;
    const bytes = Buffer.allocUnsafe(size);
    let at = 0;
    for (let slot = 0; slot < slots; slot++) {
      const start = this.#start[slot] ?? 0;
      at += this.#bytes.copy(bytes, at, start, start + (lengths[slot] ?? 0));
    }
    return { bytes, lengths };
  }

  /**
   * Packs the live texts when garbage dominates, else grows the buffer; then `size` bytes fit.
   * Growing is one copy of the used bytes (the slots keep their offsets): a column loaded from a
   * snapshot is full, and packing a million slots one copy each on the first new ban cost 0.2 s.
   */
  #makeRoom(size: number): void {
    const live = this.#end - this.#garbage;
    const capacity = Math.max(this.#bytes.length, 2 * (live + size));
    const old = this.#bytes;
    if (this.#garbage <= live) {
      const bytes = Buffer.allocUnsafe(Math.max(capacity, this.#end + size));
      old.copy(bytes, 0, 0, this.#end);
      this.#bytes = bytes;
      return;
    }
    const bytes = Buffer.allocUnsafe(capacity);
    let at = 0;
    for (let slot = 0; slot < this.#length.length; slot++) {
      const length = this.#length[slot] ?? 0;
      if (length === 0) continue;
      const start = this.#start[slot] ?? 0;
      old.copy(bytes, at, start, start + length);
      this.#start[slot] = at;
      at += length;
    }
    this.#bytes = bytes;
    this.#end = at;
    this.#garbage = 0;
  }
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * The hash `TextColumn.hash` gives for `text`, and its UTF-8 bytes when it is not all ASCII
 * (null otherwise: the common case, compared character by character without encoding).
 */
export function hashText(text: string): { hash: number; utf8: Buffer | null } {
  let h = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return hashUtf8(Buffer.from(text, 'utf8'));
    h = Math.imul(h ^ c, FNV_PRIME);
  }
  return { hash: h >>> 0, utf8: null };
}

function hashUtf8(utf8: Buffer): { hash: number; utf8: Buffer } {
  let h = FNV_OFFSET;
  for (const b of utf8) h = Math.imul(h ^ b, FNV_PRIME);
  return { hash: h >>> 0, utf8 };
}
