// The HTTP/1.1 side of systemd-journal-upload: request heads, chunked or sized bodies, one request after another on a connection.
/** One request head, as far as the upload needs it. */
export interface RequestHead {
  readonly method: string;
  /** The path, without the query. */
  readonly path: string;
  /** Header names lower-cased; a repeated header keeps its last value. */
  readonly headers: ReadonlyMap<string, string>;
}

/** An HTTP status and the plain-text reason sent with it; the connection is closed after it. */
export interface HttpFailure {
  readonly status: number;
  readonly reason: string;
}

export interface HttpRequestHandlers {
  /**
   * A head arrived. Returns a failure to refuse the request (its body is not read), or null to
   * read the body.
   */
  head(head: RequestHead): HttpFailure | null;
  /** Body bytes, in order; `chunk` is only valid during the call. */
  body(chunk: Buffer): void;
  /** The body is complete: the handler answers; the next request may follow. */
  done(): void;
  /** The request broke HTTP framing: answered with `failure`, then nothing more is read. */
  failed(failure: HttpFailure): void;
}

/** Request line and headers together, bytes: libcurl's are a few hundred. */
const MAX_HEAD = 16 * 1024;
/** A chunk-size line with its extensions, or a trailer line. */
const MAX_LINE = 1024;
const CRLF2 = Buffer.from('\r\n\r\n');

const State = { HEAD: 0, SIZE: 1, DATA: 2, DATA_CRLF: 3, TRAILER: 4, SIZED: 5, FAILED: 6 } as const;
type State = (typeof State)[keyof typeof State];

/** Reads requests from a byte stream; free of I/O, so every byte split can be tested. */
export class HttpRequestReader {
  readonly #on: HttpRequestHandlers;
  #state: State = State.HEAD;
  #held: Buffer = Buffer.alloc(0);
  /** Bytes of the current chunk or sized body still to read. */
  #remaining = 0;

  constructor(handlers: HttpRequestHandlers) {
    this.#on = handlers;
  }

  /** Between requests (no head or body partly read): the connection may be closed cleanly. */
  get idle(): boolean {
    return this.#state === State.HEAD && this.#held.length === 0;
  }

  push(chunk: Buffer): void {
    const buf = this.#held.length === 0 ? chunk : Buffer.concat([this.#held, chunk]);
    this.#held = Buffer.alloc(0);
    let i = 0;
    while (i < buf.length && this.#state !== State.FAILED) {
      switch (this.#state) {
        case State.HEAD: {
          const end = buf.indexOf(CRLF2, i);
          if (end === -1) {
            if (buf.length - i > MAX_HEAD) {
              this.#fail(431, 'request head too large');
              return;
            }
            this.#held = Buffer.from(buf.subarray(i));
            return;
          }
          if (end - i > MAX_HEAD) {
            this.#fail(431, 'request head too large');
            return;
          }
          const head = parseHead(buf.toString('latin1', i, end));
          i = end + 4;
          if ('status' in head) {
            this.#fail(head.status, head.reason);
            return;
          }
          this.#startBody(head);
          continue;
        }
        case State.SIZE:
        case State.TRAILER: {
          const end = buf.indexOf('\r\n', i, 'latin1');
          if (end === -1) {
            if (buf.length - i > MAX_LINE) {
              this.#fail(400, 'chunk line too long');
              return;
            }
            this.#held = Buffer.from(buf.subarray(i));
            return;
          }
          const line = buf.toString('latin1', i, end);
          i = end + 2;
          if (this.#state === State.TRAILER) {
            if (line === '') this.#finish();
            continue;
          }
          const size = /^([0-9A-Fa-f]{1,8})[ \t]*(;.*)?$/.exec(line);
          if (size === null) {
            this.#fail(400, 'invalid chunk size');
            return;
          }
          this.#remaining = parseInt(size[1] ?? '', 16);
          this.#state = this.#remaining === 0 ? State.TRAILER : State.DATA;
          continue;
        }
        case State.DATA:
        case State.SIZED: {
          const take = Math.min(this.#remaining, buf.length - i);
          this.#on.body(buf.subarray(i, i + take));
          this.#remaining -= take;
          i += take;
          // The handler may have stopped the reader during `body`.
          if (this.#remaining > 0 || (this.#state as State) === State.FAILED) continue;
          if (this.#state === State.SIZED) this.#finish();
          else this.#state = State.DATA_CRLF;
          continue;
        }
        case State.DATA_CRLF: {
          if (buf.length - i < 2) {
            this.#held = Buffer.from(buf.subarray(i));
            return;
          }
          if (buf[i] !== 13 || buf[i + 1] !== 10) {
            this.#fail(400, 'chunk not followed by CRLF');
            return;
          }
          i += 2;
          this.#state = State.SIZE;
          continue;
        }
      }
    }
  }

  /** The handler gave up on the request (bad body): nothing more is read. */
  stop(): void {
    this.#state = State.FAILED;
    this.#held = Buffer.alloc(0);
  }

  #startBody(head: RequestHead): void {
    const refused = this.#on.head(head);
    if (refused !== null) {
      this.#fail(refused.status, refused.reason);
      return;
    }
    const te = head.headers.get('transfer-encoding');
    const cl = head.headers.get('content-length');
    if (te !== undefined) {
      if (te.toLowerCase() !== 'chunked') {
        this.#fail(501, `transfer encoding ${te} not supported`);
        return;
      }
      this.#state = State.SIZE;
    } else if (cl !== undefined) {
      if (!/^[0-9]{1,15}$/.test(cl)) {
        this.#fail(400, 'invalid Content-Length');
        return;
      }
      this.#remaining = Number(cl);
      this.#state = State.SIZED;
      if (this.#remaining === 0) this.#finish();
    } else {
      this.#fail(411, 'Content-Length or chunked transfer encoding required');
    }
  }

  #finish(): void {
    this.#state = State.HEAD;
    this.#on.done();
  }

  #fail(status: number, reason: string): void {
    this.#state = State.FAILED;
    this.#held = Buffer.alloc(0);
    this.#on.failed({ status, reason });
  }
}

function parseHead(text: string): RequestHead | HttpFailure {
  const lines = text.split('\r\n');
  const request = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(lines[0] ?? '');
  if (request === null) return { status: 400, reason: 'invalid request line' };
  const headers = new Map<string, string>();
  for (let k = 1; k < lines.length; k++) {
    const line = lines[k] ?? '';
    const colon = line.indexOf(':');
    if (colon <= 0) return { status: 400, reason: 'invalid header line' };
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const target = request[2] ?? '';
  const q = target.indexOf('?');
  return {
    method: request[1] ?? '',
    path: q === -1 ? target : target.slice(0, q),
    headers,
  };
}
