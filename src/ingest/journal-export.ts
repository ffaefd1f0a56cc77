// The systemd journal export format, read incrementally: `FIELD=value` lines and binary fields, entries split by an empty line.
/**
 * Why a stream was given up (the connection is then answered with an error and closed), or why
 * one entry was skipped (the stream goes on).
 */
export const JournalExportError = {
  BAD_FIELD_NAME: 'invalid field name',
  BAD_LENGTH: 'binary field length out of range',
  MISSING_NEWLINE: 'binary field not followed by a newline',
  TRUNCATED: 'stream ended inside an entry',
} as const;
export type JournalExportError = (typeof JournalExportError)[keyof typeof JournalExportError];

/**
 * The kept fields of one entry, by their index in `keep`: field `k`'s value is the raw bytes
 * `buffers[k][starts[k], ends[k])`, as the journal stores them, or absent when `buffers[k]` is
 * undefined. A view, valid only during the `entry` call: the buffers may be the chunk being
 * read, and the arrays are reused for the next entry.
 */
export interface JournalEntry {
  readonly buffers: readonly (Buffer | undefined)[];
  readonly starts: ArrayLike<number>;
  readonly ends: ArrayLike<number>;
}

export interface JournalExportLimits {
  /** Largest field value kept, bytes; an entry with a larger field is skipped as oversized. */
  readonly maxFieldSize: number;
  /** The fields worth keeping (at most 32), in the order an entry lists them; others are read past without being held. */
  readonly keep: readonly string[];
}

/**
 * Called synchronously from `push` and `end`. After `failed`, the parser reads nothing more.
 */
export interface JournalExportHandlers {
  entry(entry: JournalEntry): void;
  /** An entry had a field over `maxFieldSize`: skipped whole, the stream goes on. */
  oversized(field: string): void;
  failed(reason: JournalExportError): void;
}

/** systemd's own limit on field names (journal-file.h: 64 characters). */
const MAX_NAME = 64;
/** Largest binary length the parser will skip over: beyond, the length itself is taken as corrupt. */
const MAX_BINARY_LENGTH = 2 ** 32;
const MAX_KEPT = 32;
const NO_NAME = Buffer.alloc(0);
const NL = 10;
const EQ = 61;

/** Bytes a field name may hold: upper-case letters, digits and `_` (1), and digits (2) may not open it. */
const NAME_BYTE = new Uint8Array(256);
for (let c = 65; c <= 90; c++) NAME_BYTE[c] = 1;
for (let c = 48; c <= 57; c++) NAME_BYTE[c] = 2;
NAME_BYTE[95] = 1;

const State = { NAME: 0, TEXT: 1, LENGTH: 2, BINARY: 3, BINARY_NL: 4, FAILED: 5 } as const;
type State = (typeof State)[keyof typeof State];

/**
 * Memory held is bounded by the kept fields (`keep.length × maxFieldSize`) plus one field name;
 * fields not kept and oversized values are skipped as they stream past. Names are matched as
 * bytes and values handed on as views into the chunk read, so a field costs no string and, while
 * its entry lies within one chunk, no copy: only the fields of an entry that a chunk boundary
 * cuts are copied, when `push` returns.
 */
export class JournalExportParser {
  readonly #limits: JournalExportLimits;
  readonly #on: JournalExportHandlers;
  /** Kept names as bytes, grouped by length for the lookup. */
  readonly #byLength: { readonly bytes: Buffer; readonly index: number }[][] = [];
  #state: State = State.NAME;
  readonly #buffers: (Buffer | undefined)[];
  readonly #starts: Int32Array;
  readonly #ends: Int32Array;
  readonly #entry: JournalEntry;
  /** Kept fields of the current entry whose value is a view into the chunk being read. */
  #borrowed = 0;
  /** Bytes of the field name or the value being read, when it spans chunks. */
  #parts: Buffer[] = [];
  #partsSize = 0;
  /** The current field's name: bytes [start, end) of this buffer (a copy once its chunk is gone). */
  #nameBuf: Buffer = NO_NAME;
  #nameStart = 0;
  #nameEnd = 0;
  /** Index in `keep` of the field being read, -1 when it is not kept (or no longer: oversized). */
  #keeping = -1;
  /** Binary value bytes still to read. */
  #remaining = 0;
  readonly #lengthBytes = Buffer.alloc(8);
  #lengthFill = 0;
  /** A field of this entry was oversized: the entry is skipped at its end. */
  #oversizedField: string | null = null;
  /** Any field read since the last entry ended. */
  #inEntry = false;

  constructor(limits: JournalExportLimits, handlers: JournalExportHandlers) {
    if (limits.keep.length > MAX_KEPT) {
      throw new TypeError(`at most ${MAX_KEPT} journal fields can be kept`);
    }
    this.#limits = limits;
    this.#on = handlers;
    limits.keep.forEach((name, index) => {
      const bytes = Buffer.from(name, 'latin1');
      if (!validName(bytes, 0, bytes.length)) {
        throw new TypeError(`"${name}" is not a journal field name`);
      }
      const group = (this.#byLength[bytes.length] ??= []);
      group.push({ bytes, index });
    });
    const n = limits.keep.length;
    this.#buffers = new Array<Buffer | undefined>(n).fill(undefined);
    this.#starts = new Int32Array(n);
    this.#ends = new Int32Array(n);
    this.#entry = { buffers: this.#buffers, starts: this.#starts, ends: this.#ends };
  }

  get failed(): boolean {
    return this.#state === State.FAILED;
  }

  push(chunk: Buffer): void {
    this.#read(chunk);
    this.#release(chunk);
  }

  /**
   * The stream ended. A last entry without its closing empty line is still delivered when it
   * ended on a field boundary; ending inside a field fails the stream.
   */
  end(): void {
    if (this.#state === State.FAILED) return;
    if (this.#state !== State.NAME || this.#partsSize > 0) {
      this.#fail(JournalExportError.TRUNCATED);
      return;
    }
    this.#endEntry();
  }

  #read(chunk: Buffer): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      switch (this.#state) {
        case State.NAME: {
          // Each byte is checked as it is scanned: a name is never decoded.
          let j = i;
          let c = 0;
          while (j < n) {
            c = chunk[j] ?? 0;
            if (NAME_BYTE[c] === 0) break;
            j++;
          }
          if (this.#partsSize + (j - i) > MAX_NAME) {
            this.#fail(JournalExportError.BAD_FIELD_NAME);
            return;
          }
          if (j === n) {
            this.#hold(chunk.subarray(i, j));
            return;
          }
          if (c !== NL && c !== EQ) {
            this.#fail(JournalExportError.BAD_FIELD_NAME);
            return;
          }
          let buf = chunk;
          let from = i;
          let to = j;
          if (this.#partsSize > 0) {
            buf = this.#take(chunk, i, j);
            from = 0;
            to = buf.length;
          }
          i = j + 1;
          if (c === NL && to === from) {
            this.#endEntry();
            continue;
          }
          if (!validName(buf, from, to)) {
            this.#fail(JournalExportError.BAD_FIELD_NAME);
            return;
          }
          this.#nameBuf = buf;
          this.#nameStart = from;
          this.#nameEnd = to;
          this.#inEntry = true;
          this.#keeping = this.#keptIndex(buf, from, to);
          if (c === EQ) {
            this.#state = State.TEXT;
          } else {
            this.#state = State.LENGTH;
            this.#lengthFill = 0;
          }
          continue;
        }
        case State.TEXT: {
          const j = lineEnd(chunk, i, n);
          if (
            j < n &&
            this.#partsSize === 0 &&
            this.#keeping >= 0 &&
            j - i <= this.#limits.maxFieldSize
          ) {
            // The whole value is in this chunk: kept as a view, nothing copied.
            this.#lend(this.#keeping, chunk, i, j);
            this.#keeping = -1;
            this.#fieldDone();
            i = j + 1;
            continue;
          }
          this.#value(chunk, i, j);
          if (j === n) return;
          this.#fieldDone();
          i = j + 1;
          continue;
        }
        case State.LENGTH: {
          const take = Math.min(8 - this.#lengthFill, n - i);
          chunk.copy(this.#lengthBytes, this.#lengthFill, i, i + take);
          this.#lengthFill += take;
          i += take;
          if (this.#lengthFill < 8) return;
          const length = this.#lengthBytes.readBigUInt64LE(0);
          if (length > BigInt(MAX_BINARY_LENGTH)) {
            this.#fail(JournalExportError.BAD_LENGTH);
            return;
          }
          this.#remaining = Number(length);
          this.#state = State.BINARY;
          if (this.#remaining > this.#limits.maxFieldSize) this.#markOversized();
          continue;
        }
        case State.BINARY: {
          const take = Math.min(this.#remaining, n - i);
          if (this.#keeping >= 0 && this.#partsSize === 0 && take === this.#remaining) {
            // The whole value is in this chunk (and within maxFieldSize, checked with its length).
            this.#lend(this.#keeping, chunk, i, i + take);
            this.#keeping = -1;
          } else {
            this.#value(chunk, i, i + take);
          }
          this.#remaining -= take;
          i += take;
          if (this.#remaining === 0) this.#state = State.BINARY_NL;
          continue;
        }
        case State.BINARY_NL: {
          if (chunk[i] !== NL) {
            this.#fail(JournalExportError.MISSING_NEWLINE);
            return;
          }
          i++;
          this.#fieldDone();
          continue;
        }
        case State.FAILED:
          return;
      }
    }
  }

  /** Index in `keep` of the name in buf[from, to), or -1. */
  #keptIndex(buf: Buffer, from: number, to: number): number {
    const group = this.#byLength[to - from];
    if (group === undefined) return -1;
    for (const { bytes, index } of group) {
      let k = 0;
      while (k < bytes.length && bytes[k] === buf[from + k]) k++;
      if (k === bytes.length) return index;
    }
    return -1;
  }

  /** Kept field `k` is buf[from, to); a view into the chunk until `#release`. */
  #lend(k: number, buf: Buffer, from: number, to: number): void {
    this.#buffers[k] = buf;
    this.#starts[k] = from;
    this.#ends[k] = to;
    this.#borrowed |= 1 << k;
  }

  /**
   * `push` is returning: what the entry in progress still needs of `chunk` (its kept values,
   * the current field's name) is copied, since the caller may reuse the chunk.
   */
  #release(chunk: Buffer): void {
    if (this.#borrowed !== 0) {
      for (let k = 0; k < this.#buffers.length; k++) {
        if ((this.#borrowed & (1 << k)) === 0) continue;
        const start = this.#starts[k] ?? 0;
        const copy = Buffer.copyBytesFrom(chunk, start, (this.#ends[k] ?? 0) - start);
        this.#buffers[k] = copy;
        this.#starts[k] = 0;
        this.#ends[k] = copy.length;
      }
      this.#borrowed = 0;
    }
    if (this.#nameBuf !== chunk) return;
    if (this.#state === State.NAME) {
      // The field is read: its name is not needed, and the chunk is not kept for it.
      this.#nameBuf = NO_NAME;
      this.#nameEnd = 0;
    } else {
      this.#nameBuf = Buffer.copyBytesFrom(chunk, this.#nameStart, this.#nameEnd - this.#nameStart);
      this.#nameEnd -= this.#nameStart;
    }
    this.#nameStart = 0;
  }

  #fail(reason: JournalExportError): void {
    this.#state = State.FAILED;
    this.#parts = [];
    this.#buffers.fill(undefined);
    this.#borrowed = 0;
    this.#on.failed(reason);
  }

  #hold(part: Buffer): void {
    if (part.length === 0) return;
    // Copied: the caller's chunk may be reused once push returns.
    this.#parts.push(Buffer.from(part));
    this.#partsSize += part.length;
  }

  /** The held parts plus chunk[from, to), as one buffer; the held parts are cleared. */
  #take(chunk: Buffer, from: number, to: number): Buffer {
    if (this.#parts.length === 0) return Buffer.from(chunk.subarray(from, to));
    this.#parts.push(chunk.subarray(from, to));
    const whole = Buffer.concat(this.#parts, this.#partsSize + (to - from));
    this.#parts = [];
    this.#partsSize = 0;
    return whole;
  }

  /** Value bytes chunk[from, to) of the current field: kept, or only measured. */
  #value(chunk: Buffer, from: number, to: number): void {
    if (this.#state === State.TEXT && this.#partsSize + (to - from) > this.#limits.maxFieldSize) {
      this.#markOversized();
    }
    if (this.#keeping >= 0) this.#hold(chunk.subarray(from, to));
    else this.#partsSize += to - from;
  }

  #markOversized(): void {
    this.#oversizedField ??= this.#nameBuf.toString('latin1', this.#nameStart, this.#nameEnd);
    this.#keeping = -1;
    this.#parts = [];
  }

  #fieldDone(): void {
    const k = this.#keeping;
    if (k >= 0) {
      const whole = this.#take(Buffer.alloc(0), 0, 0);
      this.#buffers[k] = whole;
      this.#starts[k] = 0;
      this.#ends[k] = whole.length;
      // Owned now: a view taken from an earlier repeat of this field is no longer in the entry.
      this.#borrowed &= ~(1 << k);
    }
    this.#parts = [];
    this.#partsSize = 0;
    this.#keeping = -1;
    this.#state = State.NAME;
  }

  #endEntry(): void {
    const oversized = this.#oversizedField;
    const inEntry = this.#inEntry;
    this.#oversizedField = null;
    this.#inEntry = false;
    if (inEntry) {
      if (oversized !== null) this.#on.oversized(oversized);
      else this.#on.entry(this.#entry);
    }
    this.#buffers.fill(undefined);
    this.#borrowed = 0;
  }
}

/** Journal field names: upper-case letters, digits and `_`, not starting with a digit, not empty. */
function validName(buf: Buffer, from: number, to: number): boolean {
  if (to === from || NAME_BYTE[buf[from] ?? 0] !== 1) return false;
  for (let k = from + 1; k < to; k++) if (NAME_BYTE[buf[k] ?? 0] === 0) return false;
  return true;
}

/** Bytes scanned in JavaScript before handing the search to `indexOf`, whose call costs more than a short value. */
const SHORT_SCAN = 128;

/** Index of the first newline in buf[from, n), or n. */
function lineEnd(buf: Buffer, from: number, n: number): number {
  const stop = Math.min(n, from + SHORT_SCAN);
  for (let j = from; j < stop; j++) if (buf[j] === NL) return j;
  if (stop === n) return n;
  const j = buf.indexOf(NL, stop);
  return j === -1 ? n : j;
}
