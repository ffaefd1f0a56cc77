// One RELP session as the server sees it, free of I/O: open, syslog, close, transaction numbers, and the answers to write.
import { RelpFrameError, RelpFrameReader } from './relp-frame.js';

export const RelpSessionError = {
  NOT_OPEN: 'command before open',
  OUT_OF_SEQUENCE: 'transaction number out of sequence',
  UNKNOWN_COMMAND: 'command not supported',
} as const;
export type RelpSessionError = (typeof RelpSessionError)[keyof typeof RelpSessionError];

/** Why a session ended early: a frame that broke the format, or a valid frame that broke the protocol. */
export type RelpFailure = RelpFrameError | RelpSessionError;

/** librelp numbers transactions 1 to 999,999,999, then starts again at 1. */
export const MAX_TXNR = 999_999_999;

export function nextTxnr(txnr: number): number {
  return txnr >= MAX_TXNR ? 1 : txnr + 1;
}

/** Sent on the server's own initiative (transaction 0) before it ends a session: the client resends what is not acknowledged. */
export const SERVER_CLOSE = '0 serverclose 0\n';

export interface RelpSessionHandler {
  /**
   * One syslog message: bytes `[start, end)` of `buf`, valid only during the call. The message
   * is acknowledged as soon as this returns, so it must have been processed by then.
   */
  message(buf: Buffer, start: number, end: number): void;
  /** Answers to write to the peer, in order. Called at most once per `push`. */
  send(text: string): void;
  /**
   * The session is over: after the client's close (`failure` null) or on the first error. What
   * was acknowledged has been passed to `send` before; the caller ends the connection.
   */
  finish(failure: RelpFailure | null): void;
}

export interface RelpSessionOptions {
  /** Largest DATA of any frame, bytes; a larger frame ends the session before it is read. */
  readonly maxDataSize: number;
  /** Largest syslog message, bytes (at most `maxDataSize`); a larger one ends the session. Default: `maxDataSize`. */
  readonly maxMessageSize?: number;
  /** `relp_software` offered in the answer to open: `name,version`. */
  readonly software: string;
}

const SessionState = { AWAITING_OPEN: 0, OPEN: 1, OVER: 2 } as const;
type SessionState = (typeof SessionState)[keyof typeof SessionState];

/**
 * Contract: the caller feeds every byte read from the connection to `push`, calls `end` when the
 * peer ends, and `serverClose` when the listener shuts down. Each message is acknowledged only
 * once `handler.message` has returned; a message read but not acknowledged (after an error or
 * `serverClose`) is dropped, and the client sends it again on its next session.
 */
export class RelpSession {
  readonly #handler: RelpSessionHandler;
  readonly #reader: RelpFrameReader;
  readonly #openAnswer: string;
  readonly #maxMessage: number;
  #state: SessionState = SessionState.AWAITING_OPEN;
  #expected = 1;
  /** Answers gathered during one `push`, written at once. */
  #out = '';

  constructor(options: RelpSessionOptions, handler: RelpSessionHandler) {
    this.#handler = handler;
    this.#maxMessage = Math.min(options.maxMessageSize ?? options.maxDataSize, options.maxDataSize);
    this.#openAnswer = `200 OK\nrelp_version=0\nrelp_software=${options.software}\ncommands=syslog`;
    this.#reader = new RelpFrameReader(options.maxDataSize, {
      frame: (txnr, command, buf, start, end) => this.#frame(txnr, command, buf, start, end),
      error: (reason) => {
        this.#over(reason);
      },
    });
  }

  /** False once the session is over. */
  get active(): boolean {
    return this.#state !== SessionState.OVER;
  }

  push(chunk: Buffer): void {
    if (this.#state === SessionState.OVER) return;
    this.#reader.push(chunk);
    this.#flush();
  }

  /** The peer ended the connection. */
  end(): void {
    if (this.#state === SessionState.OVER) return;
    this.#reader.end();
    // Does nothing if the reader found the stream cut mid-frame and ended the session itself.
    this.#over(null);
  }

  /** The server is shutting down: says so, and reads no further message. */
  serverClose(): void {
    if (this.#state === SessionState.OVER) return;
    this.#out += SERVER_CLOSE;
    this.#over(null);
  }

  #frame(txnr: number, command: string, buf: Buffer, start: number, end: number): boolean {
    if (txnr !== this.#expected) return this.#refuse(txnr, RelpSessionError.OUT_OF_SEQUENCE);
    this.#expected = nextTxnr(txnr);
    if (command === 'syslog') {
      if (this.#state !== SessionState.OPEN) return this.#refuse(txnr, RelpSessionError.NOT_OPEN);
      // rsyslog may end a message with LF; it is not part of the message.
      const last = end > start && buf[end - 1] === 10 ? end - 1 : end;
      if (last - start > this.#maxMessage) {
        this.#over(RelpFrameError.TOO_LARGE);
        return false;
      }
      if (last > start) this.#handler.message(buf, start, last);
      this.#out += `${txnr} rsp 6 200 OK\n`;
      return true;
    }
    if (command === 'open') {
      // A second open is harmless (librelp itself sends one in some cases): answered, ignored.
      const answer =
        this.#state === SessionState.OPEN ? '200 connection already open' : this.#openAnswer;
      this.#state = SessionState.OPEN;
      this.#respond(txnr, answer);
      return true;
    }
    if (command === 'close') {
      this.#respond(txnr, '');
      this.#over(null);
      return false;
    }
    return this.#refuse(txnr, RelpSessionError.UNKNOWN_COMMAND);
  }

  /** Answers 500 with the reason, then ends the session. */
  #refuse(txnr: number, reason: RelpSessionError): false {
    this.#respond(txnr, `500 ${reason}`);
    this.#over(reason);
    return false;
  }

  #respond(txnr: number, data: string): void {
    const length = Buffer.byteLength(data);
    this.#out += length === 0 ? `${txnr} rsp 0\n` : `${txnr} rsp ${length} ${data}\n`;
  }

  #over(failure: RelpFailure | null): void {
    if (this.#state === SessionState.OVER) return;
    this.#state = SessionState.OVER;
    this.#flush();
    this.#handler.finish(failure);
  }

  #flush(): void {
    if (this.#out === '') return;
    const out = this.#out;
    this.#out = '';
    this.#handler.send(out);
  }
}
