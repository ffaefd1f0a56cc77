// Server-sent events to open dashboard pages: one `overview` event per change burst (at most one a second) and a heartbeat.
import type { ServerResponse } from 'node:http';

/** Open event streams at once; past that a new one is refused (503) rather than memory grown. */
export const MAX_STREAMS = 200;
/** Coalescing window: a burst of bans costs one event per stream. */
const THROTTLE_MS = 1000;
/** A comment line on idle streams, so proxies and the browser keep them open. */
const HEARTBEAT_MS = 15_000;

export class EventHub {
  /** Stream → the session it was opened by. */
  readonly #streams = new Map<ServerResponse, string>();
  readonly #render: () => string;
  readonly #alive: (session: string) => boolean;
  #pending: NodeJS.Timeout | undefined;
  #lastSent = 0;
  readonly #heartbeat: NodeJS.Timeout;

  /**
   * `render` makes the event's data (one JSON line) when it is sent; `alive` says whether a
   * session still holds (a stream whose session ended or expired is closed at its next write).
   */
  constructor(render: () => string, alive: (session: string) => boolean) {
    this.#render = render;
    this.#alive = alive;
    this.#heartbeat = setInterval(() => {
      this.#send(':\n\n');
    }, HEARTBEAT_MS);
    this.#heartbeat.unref();
  }

  get size(): number {
    return this.#streams.size;
  }

  /** Takes over a response: headers, a first event now, then one per `changed()` burst. */
  open(res: ServerResponse, session: string, headers: Readonly<Record<string, string>>): boolean {
    if (this.#streams.size >= MAX_STREAMS) return false;
    res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: 2000\nevent: overview\ndata: ${this.#render()}\n\n`);
    this.#streams.set(res, session);
    res.on('close', () => this.#streams.delete(res));
    return true;
  }

  /** Something changed: every stream gets a fresh event within THROTTLE_MS. */
  changed(): void {
    if (this.#pending !== undefined || this.#streams.size === 0) return;
    const wait = Math.max(0, this.#lastSent + THROTTLE_MS - Date.now());
    this.#pending = setTimeout(() => {
      this.#pending = undefined;
      this.#lastSent = Date.now();
      this.#send(`event: overview\ndata: ${this.#render()}\n\n`);
    }, wait);
    this.#pending.unref();
  }

  /** Closes the streams of one session now (sign-out). */
  endSession(session: string): void {
    for (const [res, s] of this.#streams) if (s === session) this.#end(res);
  }

  /** Ends every stream (shutdown). */
  close(): void {
    clearInterval(this.#heartbeat);
    clearTimeout(this.#pending);
    for (const res of [...this.#streams.keys()]) this.#end(res);
  }

  #send(text: string): void {
    for (const [res, session] of this.#streams) {
      if (this.#alive(session)) res.write(text);
      else this.#end(res);
    }
  }

  #end(res: ServerResponse): void {
    this.#streams.delete(res);
    res.end();
  }
}
