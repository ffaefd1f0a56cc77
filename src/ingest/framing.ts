// RFC 6587 frame splitter for a TCP/TLS byte stream: octet counting and LF framing, detected per frame.
//
// Rules, applied at the start of every frame:
// - `[1-9][0-9]{0,9} SP` starts an octet-counted frame of that many bytes (`LEN SP MSG`); one
//   trailing LF inside the counted bytes is dropped (rsyslog ends its frames with one).
// - anything else starts an LF-terminated frame (non-transparent framing); a trailing CR is
//   dropped and empty lines are ignored. So `2024-05-01 …` or `12<13>…` are plain LF frames.
// - a frame over `maxFrameSize` is counted as oversized and skipped: an LF frame is discarded
//   up to its LF, an octet-counted one by skipping exactly LEN bytes without buffering them.
// - a count over `maxOctetSkip` is taken as a lie, not a big frame (skipping it could swallow
//   the rest of the connection): it is a framing error, and the stream resynchronises by
//   discarding up to the next LF, then reads frames again. A count that is wrong but below the
//   limits cannot be detected: the frame is cut or swallows the start of the next one, and the
//   remainder reads as one LF frame up to the next LF (rsyslog's trailing LF), after which the
//   stream is in step again. At most one neighbouring frame is garbled; the connection lives.
// The splitter holds at most `maxFrameSize` bytes of an incomplete frame, whatever it is fed.

const LF = 10;
const CR = 13;
const SP = 32;
const ZERO = 48;
const NINE = 57;
/** Ten digits hold any count we could accept and still fit a double exactly. */
const MAX_COUNT_DIGITS = 10;

export const FramingError = {
  /** An octet count above `maxOctetSkip`. */
  COUNT_TOO_LARGE: 'octet count too large',
  /** The stream ended inside an octet-counted frame. */
  TRUNCATED: 'stream ended inside a frame',
} as const;
export type FramingError = (typeof FramingError)[keyof typeof FramingError];

/** What the splitter reports. Calls happen synchronously inside `push` / `end`. */
export interface FrameHandler {
  /**
   * One complete frame: bytes `[start, end)` of `buf`. `buf` is valid only during the call
   * (it may be the caller's chunk or the splitter's reused buffer): copy what you keep.
   */
  frame(buf: Buffer, start: number, end: number): void;
  /** A frame over `maxFrameSize` was skipped. `size` is its length, or the bytes seen so far. */
  oversized(size: number): void;
  /** The stream lost step and is discarding up to the next LF. */
  framingError(reason: FramingError): void;
}

export interface FrameSplitterOptions {
  /** Largest frame delivered, in bytes (without header and trailer). */
  readonly maxFrameSize: number;
  /** Largest octet count skipped as an oversized frame; above it the count is a lie. Default 4 MiB. */
  readonly maxOctetSkip?: number;
}

const State = {
  /** At a frame boundary; `#held` holds the digits of a header read so far. */
  START: 0,
  /** Inside an LF frame; `#held` holds its bytes so far. */
  LF: 1,
  /** Inside an octet-counted frame; `#need` bytes still to collect. */
  OCTET: 2,
  /** Skipping `#need` bytes of an oversized octet-counted frame. */
  SKIP: 3,
  /** Discarding up to the next LF. */
  DISCARD: 4,
} as const;
type State = (typeof State)[keyof typeof State];

export class FrameSplitter {
  readonly #handler: FrameHandler;
  readonly #max: number;
  readonly #maxSkip: number;
  #state: State = State.START;
  /** Allocated on the first incomplete frame: most connections never need it. */
  #buf: Buffer | null = null;
  #held = 0;
  #need = 0;

  constructor(options: FrameSplitterOptions, handler: FrameHandler) {
    const { maxFrameSize } = options;
    if (!Number.isInteger(maxFrameSize) || maxFrameSize < 16) {
      throw new TypeError(`maxFrameSize must be an integer of at least 16, got ${maxFrameSize}`);
    }
    this.#max = maxFrameSize;
    this.#maxSkip = Math.max(options.maxOctetSkip ?? 4 * 1024 * 1024, maxFrameSize);
    this.#handler = handler;
  }

  /** Bytes currently held for an incomplete frame (never more than `maxFrameSize`). */
  get buffered(): number {
    return this.#held;
  }

  /** Feeds the next chunk of the stream. */
  push(chunk: Buffer): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      switch (this.#state) {
        case State.START:
          i = this.#start(chunk, i);
          break;
        case State.LF:
          i = this.#lf(chunk, i);
          break;
        case State.OCTET:
          i = this.#octet(chunk, i);
          break;
        case State.SKIP: {
          const take = Math.min(this.#need, n - i);
          this.#need -= take;
          i += take;
          if (this.#need === 0) this.#state = State.START;
          break;
        }
        case State.DISCARD: {
          const k = chunk.indexOf(LF, i);
          if (k < 0) return;
          i = k + 1;
          this.#state = State.START;
          break;
        }
      }
    }
  }

  /** The stream ended: a last LF frame without its LF is delivered; a cut octet frame is an error. */
  end(): void {
    if (this.#state === State.OCTET) {
      this.#handler.framingError(FramingError.TRUNCATED);
    } else if ((this.#state === State.LF || this.#state === State.START) && this.#held > 0) {
      this.#emitHeld(this.#held);
    }
    this.#state = State.START;
    this.#held = 0;
    this.#need = 0;
  }

  /** Reads (the rest of) a header, or decides the frame is LF-terminated. Returns the new index. */
  #start(chunk: Buffer, i: number): number {
    const n = chunk.length;
    const first = this.#held > 0 ? (this.#buf?.[0] ?? 0) : (chunk[i] ?? 0);
    if (first < ZERO + 1 || first > NINE) {
      this.#state = State.LF;
      return i;
    }
    let j = i;
    while (j < n && this.#held + (j - i) <= MAX_COUNT_DIGITS) {
      const c = chunk[j] ?? 0;
      if (c < ZERO || c > NINE) break;
      j++;
    }
    const digits = this.#held + (j - i);
    if (j === n && digits <= MAX_COUNT_DIGITS) {
      this.#hold(chunk, i, n);
      return n;
    }
    if (digits > MAX_COUNT_DIGITS || chunk[j] !== SP) {
      this.#state = State.LF;
      return i;
    }
    let count = 0;
    for (let k = 0; k < this.#held; k++) count = count * 10 + ((this.#buf?.[k] ?? ZERO) - ZERO);
    for (let k = i; k < j; k++) count = count * 10 + ((chunk[k] ?? ZERO) - ZERO);
    this.#held = 0;
    if (count <= this.#max) {
      this.#state = State.OCTET;
      this.#need = count;
    } else if (count <= this.#maxSkip) {
      this.#handler.oversized(count);
      this.#state = State.SKIP;
      this.#need = count;
    } else {
      this.#handler.framingError(FramingError.COUNT_TOO_LARGE);
      this.#state = State.DISCARD;
    }
    return j + 1;
  }

  #lf(chunk: Buffer, i: number): number {
    const k = chunk.indexOf(LF, i);
    if (k < 0) {
      if (this.#held + (chunk.length - i) > this.#max) {
        const seen = this.#held + (chunk.length - i);
        this.#held = 0;
        this.#state = State.DISCARD;
        this.#handler.oversized(seen);
      } else {
        this.#hold(chunk, i, chunk.length);
      }
      return chunk.length;
    }
    this.#state = State.START;
    const size = this.#held + (k - i);
    if (size > this.#max) {
      this.#held = 0;
      this.#handler.oversized(size);
    } else if (this.#held === 0) {
      const end = k > i && chunk[k - 1] === CR ? k - 1 : k;
      if (end > i) this.#handler.frame(chunk, i, end);
    } else {
      this.#hold(chunk, i, k);
      this.#emitHeld(this.#held);
    }
    return k + 1;
  }

  #octet(chunk: Buffer, i: number): number {
    const take = Math.min(this.#need, chunk.length - i);
    if (this.#held === 0 && take === this.#need) {
      this.#state = State.START;
      let end = i + take;
      if (end > i && chunk[end - 1] === LF) end--;
      if (end > i) this.#handler.frame(chunk, i, end);
      return i + take;
    }
    this.#hold(chunk, i, i + take);
    this.#need -= take;
    if (this.#need === 0) {
      this.#state = State.START;
      const size = this.#held;
      this.#held = 0;
      const buf = this.#buf;
      const end = size > 0 && buf?.[size - 1] === LF ? size - 1 : size;
      if (buf !== null && end > 0) this.#handler.frame(buf, 0, end);
    }
    return i + take;
  }

  /** Delivers the held bytes as an LF frame (trailing CR dropped, empty frames ignored). */
  #emitHeld(size: number): void {
    this.#held = 0;
    const buf = this.#buf;
    if (buf === null) return;
    const end = size > 0 && buf[size - 1] === CR ? size - 1 : size;
    if (end > 0) this.#handler.frame(buf, 0, end);
  }

  #hold(chunk: Buffer, from: number, to: number): void {
    this.#buf ??= Buffer.allocUnsafe(this.#max);
    chunk.copy(this.#buf, this.#held, from, to);
    this.#held += to - from;
  }
}
