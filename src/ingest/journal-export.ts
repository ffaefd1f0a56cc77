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

/** The fields kept from an entry, by name: raw bytes, as the journal stores them. */
export type JournalEntry = ReadonlyMap<string, Buffer>;

export interface JournalExportLimits {
  /** Largest field value kept, bytes; an entry with a larger field is skipped as oversized. */
  readonly maxFieldSize: number;
  /** The fields worth keeping; others are read past without being held. */
  readonly keep: ReadonlySet<string>;
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
const NL = 10;
const EQ = 61;

const State = { NAME: 0, TEXT: 1, LENGTH: 2, BINARY: 3, BINARY_NL: 4, FAILED: 5 } as const;
type State = (typeof State)[keyof typeof State];

/**
 * Memory held is bounded by the kept fields (`keep.size × maxFieldSize`) plus one field name;
 * fields not kept and oversized values are skipped as they stream past.
 */
export class JournalExportParser {
  readonly #limits: JournalExportLimits;
  readonly #on: JournalExportHandlers;
  #state: State = State.NAME;
  #fields = new Map<string, Buffer>();
  /** Bytes of the field name or the value being read, when it spans chunks. */
  #parts: Buffer[] = [];
  #partsSize = 0;
  #name = '';
  /** The value being read goes into the entry (a kept field, not oversized). */
  #keeping = false;
  /** Binary value bytes still to read, or the length bytes gathered so far. */
  #remaining = 0;
  readonly #lengthBytes = Buffer.alloc(8);
  #lengthFill = 0;
  /** A field of this entry was oversized: the entry is skipped at its end. */
  #oversizedField: string | null = null;
  /** Any field read since the last entry ended. */
  #inEntry = false;

  constructor(limits: JournalExportLimits, handlers: JournalExportHandlers) {
    this.#limits = limits;
    this.#on = handlers;
  }

  get failed(): boolean {
    return this.#state === State.FAILED;
  }

  push(chunk: Buffer): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      switch (this.#state) {
        case State.NAME: {
          let j = i;
          while (j < n && chunk[j] !== NL && chunk[j] !== EQ) j++;
          if (this.#partsSize + (j - i) > MAX_NAME) {
            this.#fail(JournalExportError.BAD_FIELD_NAME);
            return;
          }
          if (j === n) {
            this.#hold(chunk.subarray(i, j));
            return;
          }
          // Decoded in place when whole in this chunk: one name per field is the parser's hot spot.
          const name =
            this.#partsSize === 0
              ? chunk.toString('latin1', i, j)
              : this.#take(chunk, i, j).toString('latin1');
          const sep = chunk[j];
          i = j + 1;
          if (sep === NL && name === '') {
            this.#endEntry();
            continue;
          }
          if (!validName(name)) {
            this.#fail(JournalExportError.BAD_FIELD_NAME);
            return;
          }
          this.#name = name;
          this.#inEntry = true;
          this.#keeping = this.#limits.keep.has(name);
          if (sep === EQ) {
            this.#state = State.TEXT;
          } else {
            this.#state = State.LENGTH;
            this.#lengthFill = 0;
          }
          continue;
        }
        case State.TEXT: {
          let j = chunk.indexOf(NL, i);
          if (j === -1) j = n;
          if (
            j < n &&
            this.#partsSize === 0 &&
            this.#keeping &&
            j - i <= this.#limits.maxFieldSize
          ) {
            // The whole value is in this chunk: one copy, nothing held.
            this.#fields.set(this.#name, Buffer.copyBytesFrom(chunk, i, j - i));
            this.#keeping = false;
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
          this.#value(chunk, i, i + take);
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

  #fail(reason: JournalExportError): void {
    this.#state = State.FAILED;
    this.#parts = [];
    this.#fields = new Map();
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
    if (this.#keeping) this.#hold(chunk.subarray(from, to));
    else this.#partsSize += to - from;
  }

  #markOversized(): void {
    this.#oversizedField ??= this.#name;
    this.#keeping = false;
    this.#parts = [];
  }

  #fieldDone(): void {
    if (this.#keeping) this.#fields.set(this.#name, this.#take(Buffer.alloc(0), 0, 0));
    this.#parts = [];
    this.#partsSize = 0;
    this.#keeping = false;
    this.#state = State.NAME;
  }

  #endEntry(): void {
    const oversized = this.#oversizedField;
    const fields = this.#fields;
    const inEntry = this.#inEntry;
    this.#fields = new Map();
    this.#oversizedField = null;
    this.#inEntry = false;
    if (!inEntry) return;
    if (oversized !== null) this.#on.oversized(oversized);
    else this.#on.entry(fields);
  }
}

/** Journal field names: upper-case letters, digits and `_`, not starting with a digit. */
function validName(name: string): boolean {
  const first = name.charCodeAt(0);
  if (first >= 48 && first <= 57) return false;
  for (let k = 0; k < name.length; k++) {
    const c = name.charCodeAt(k);
    if (!((c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95)) return false;
  }
  return true;
}
