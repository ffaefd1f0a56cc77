// RELP frame reader (librelp's wire format): `TXNR SP COMMAND SP DATALEN [SP DATA] LF`, byte by byte, free of I/O.
//
// Rules, as librelp applies them:
// - TXNR: 1 to 9 digits. COMMAND: 1 to 32 ASCII letters. DATALEN: 1 to 9 digits.
// - DATALEN 0 is followed directly by the LF trailer; otherwise by SP, DATALEN bytes, then LF.
// - A DATALEN above `maxDataSize` is refused before any byte of the data is held.
// A RELP stream cannot resynchronise (DATA may hold anything, LF included), so the first error
// ends the reading for good: the reader reports it once and ignores every later byte.

const LF = 10;
const SP = 32;
const ZERO = 48;
const NINE = 57;
const MAX_DIGITS = 9;
const MAX_COMMAND = 32;

export const RelpFrameError = {
  TXNR_INVALID: 'transaction number is not 1 to 9 digits',
  COMMAND_INVALID: 'command is not 1 to 32 letters',
  DATALEN_INVALID: 'data length is not 1 to 9 digits',
  TOO_LARGE: 'data length over the largest frame accepted',
  TRAILER_MISSING: 'no LF after the data (the data length does not match the data)',
  TRUNCATED: 'stream ended inside a frame',
} as const;
export type RelpFrameError = (typeof RelpFrameError)[keyof typeof RelpFrameError];

/** What the reader reports. Calls happen synchronously inside `push` / `end`. */
export interface RelpFrameHandler {
  /**
   * One complete frame. DATA is bytes `[start, end)` of `buf`, valid only during the call (the
   * caller's chunk or the reader's reused buffer): copy what you keep. Return false to stop
   * reading (the session is over); later bytes are ignored.
   */
  frame(txnr: number, command: string, buf: Buffer, start: number, end: number): boolean;
  /** The stream broke the format; nothing more is read. */
  error(reason: RelpFrameError): void;
}

const State = {
  TXNR: 0,
  COMMAND: 1,
  DATALEN: 2,
  DATA: 3,
  TRAILER: 4,
  /** An error was reported or the handler stopped: every byte is ignored. */
  DONE: 5,
} as const;
type State = (typeof State)[keyof typeof State];

export class RelpFrameReader {
  readonly #handler: RelpFrameHandler;
  readonly #maxData: number;
  #state: State = State.TXNR;
  /** Bytes of the current field (digits or letters) read so far. */
  #fieldLength = 0;
  #txnr = 0;
  #command = '';
  #dataLength = 0;
  /** DATA held across chunks; allocated on the first frame split by a chunk boundary. */
  #buf: Buffer | null = null;
  #held = 0;
  /** Where the current frame's DATA starts in the current chunk, when it is not held. */
  #dataStart = -1;

  constructor(maxDataSize: number, handler: RelpFrameHandler) {
    if (!Number.isInteger(maxDataSize) || maxDataSize < 1) {
      throw new TypeError(`maxDataSize must be a positive integer, got ${maxDataSize}`);
    }
    this.#maxData = maxDataSize;
    this.#handler = handler;
  }

  /** False once an error was reported or the handler stopped the reading. */
  get reading(): boolean {
    return this.#state !== State.DONE;
  }

  /** Feeds the next chunk of the stream. */
  push(chunk: Buffer): void {
    const n = chunk.length;
    let i = 0;
    while (i < n && this.#state !== State.DONE) {
      if (this.#state === State.DATA) {
        i = this.#data(chunk, i);
        continue;
      }
      const c = chunk[i] ?? 0;
      i++;
      switch (this.#state) {
        case State.TXNR:
          if (c >= ZERO && c <= NINE && this.#fieldLength < MAX_DIGITS) {
            this.#txnr = this.#txnr * 10 + (c - ZERO);
            this.#fieldLength++;
          } else if (c === SP && this.#fieldLength > 0) {
            this.#next(State.COMMAND);
          } else {
            this.#fail(RelpFrameError.TXNR_INVALID);
          }
          break;
        case State.COMMAND:
          if (isLetter(c) && this.#fieldLength < MAX_COMMAND) {
            this.#command += String.fromCharCode(c);
            this.#fieldLength++;
          } else if (c === SP && this.#fieldLength > 0) {
            this.#next(State.DATALEN);
          } else {
            this.#fail(RelpFrameError.COMMAND_INVALID);
          }
          break;
        case State.DATALEN:
          if (c >= ZERO && c <= NINE && this.#fieldLength < MAX_DIGITS) {
            this.#dataLength = this.#dataLength * 10 + (c - ZERO);
            this.#fieldLength++;
          } else if (this.#fieldLength > 0 && this.#dataLength === 0 && c === LF) {
            this.#emit(chunk, i - 1, i - 1);
          } else if (this.#fieldLength > 0 && this.#dataLength > 0 && c === SP) {
            if (this.#dataLength > this.#maxData) this.#fail(RelpFrameError.TOO_LARGE);
            else {
              this.#next(State.DATA);
              this.#dataStart = i;
            }
          } else {
            this.#fail(RelpFrameError.DATALEN_INVALID);
          }
          break;
        case State.TRAILER:
          if (c !== LF) this.#fail(RelpFrameError.TRAILER_MISSING);
          else if (this.#held > 0 || this.#dataStart < 0) {
            this.#emit(this.#buf ?? chunk, 0, this.#held);
          } else {
            this.#emit(chunk, this.#dataStart, i - 1);
          }
          break;
      }
    }
    // The chunk is the caller's: DATA still to come must be copied before it goes.
    if ((this.#state === State.DATA || this.#state === State.TRAILER) && this.#dataStart >= 0) {
      this.#hold(chunk, this.#dataStart, n);
      this.#dataStart = -1;
    }
  }

  /** The stream ended: inside a frame, that is an error. */
  end(): void {
    if (this.#state === State.DONE) return;
    const atBoundary = this.#state === State.TXNR && this.#fieldLength === 0;
    if (!atBoundary) this.#fail(RelpFrameError.TRUNCATED);
    this.#state = State.DONE;
  }

  /** Reads DATA from `i`; returns the index after what it consumed. */
  #data(chunk: Buffer, i: number): number {
    const have = this.#dataStart >= 0 ? i - this.#dataStart : this.#held;
    const take = Math.min(this.#dataLength - have, chunk.length - i);
    if (this.#dataStart < 0) {
      this.#hold(chunk, i, i + take);
    }
    if (have + take === this.#dataLength) this.#state = State.TRAILER;
    return i + take;
  }

  #emit(buf: Buffer, start: number, end: number): void {
    const txnr = this.#txnr;
    const command = this.#command;
    this.#next(State.TXNR);
    this.#txnr = 0;
    this.#command = '';
    this.#dataLength = 0;
    this.#held = 0;
    this.#dataStart = -1;
    if (!this.#handler.frame(txnr, command, buf, start, end)) this.#state = State.DONE;
  }

  #next(state: State): void {
    this.#state = state;
    this.#fieldLength = 0;
  }

  #fail(reason: RelpFrameError): void {
    this.#state = State.DONE;
    this.#handler.error(reason);
  }

  #hold(chunk: Buffer, from: number, to: number): void {
    if (to <= from) return;
    if (this.#buf === null || this.#buf.length < this.#dataLength) {
      const grown = Buffer.allocUnsafe(Math.max(this.#dataLength, 1024));
      this.#buf?.copy(grown, 0, 0, this.#held);
      this.#buf = grown;
    }
    chunk.copy(this.#buf, this.#held, from, to);
    this.#held += to - from;
  }
}

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
