// Which server the agent tries next: round-robin through its list, the backoff waited once per full round.
import type { Backoff } from './backoff.js';

export interface RotationOptions {
  /** The servers in the configured order; the first is tried first. Not empty. */
  readonly servers: readonly string[];
  readonly backoff: Backoff;
  /**
   * A stream that stayed open this long counts as a working connection: the next failure starts
   * a new round. A shorter one does not, so servers that accept and drop at once are still
   * tried no faster than once per backoff delay.
   */
  readonly stableAfterMs: number;
}

/** How one attempt on the current server ended. */
export interface AttemptEnd {
  /** How long the stream was open (200 answered); null when it never opened. */
  readonly openedForMs: number | null;
  /** The server asked not to be tried again for this long (a 429's Retry-After); null = none. */
  readonly retryAfterMs: number | null;
}

/**
 * A dead server costs one failed attempt, not one backoff delay: within a round the next server
 * is tried at once, and only when every server failed since the last wait (or since the last
 * working connection) does the agent wait the backoff delay. With one server this is exactly
 * the plain backoff. Pure: time comes in as `now`.
 */
export class ServerRotation {
  readonly #servers: readonly string[];
  readonly #backoff: Backoff;
  readonly #stableAfterMs: number;
  /** Per server: no attempt before this time (epoch ms), from a Retry-After. */
  readonly #notBefore: number[];
  #index = 0;
  /** Servers attempted (or passed over) since the round began. */
  #tried = 0;

  constructor(options: RotationOptions) {
    if (options.servers.length === 0) throw new TypeError('ServerRotation needs a server');
    this.#servers = options.servers;
    this.#backoff = options.backoff;
    this.#stableAfterMs = options.stableAfterMs;
    this.#notBefore = options.servers.map(() => 0);
  }

  /** The server to try now. */
  get current(): string {
    return this.#at(this.#index);
  }

  get servers(): readonly string[] {
    return this.#servers;
  }

  /**
   * Records how the attempt on `current` ended, moves `current` to the server to try next and
   * returns how long to wait before trying it: 0 within a round, the backoff delay after a full
   * one (longer when every server asked for more time with Retry-After).
   */
  advance(end: AttemptEnd, now: number): number {
    const n = this.#servers.length;
    if (end.openedForMs !== null) this.#backoff.reset();
    if (end.openedForMs !== null && end.openedForMs >= this.#stableAfterMs) this.#tried = 0;
    if (end.retryAfterMs !== null) this.#notBefore[this.#index] = now + end.retryAfterMs;
    this.#tried++;
    // Within the round: the next server that has not asked for time, at once.
    while (this.#tried < n) {
      this.#index = (this.#index + 1) % n;
      if (this.#waitFor(this.#index, now) === 0) return 0;
      this.#tried++;
    }
    // The round is over: wait, then go on with the next server whose Retry-After is over by then.
    this.#tried = 0;
    const delay = this.#backoff.next();
    let soonest = (this.#index + 1) % n;
    for (let step = 1; step <= n; step++) {
      const i = (this.#index + step) % n;
      if (this.#waitFor(i, now) <= delay) {
        this.#index = i;
        return delay;
      }
      if (this.#waitFor(i, now) < this.#waitFor(soonest, now)) soonest = i;
    }
    this.#index = soonest;
    return this.#waitFor(soonest, now);
  }

  #waitFor(i: number, now: number): number {
    return Math.max(0, (this.#notBefore[i] ?? 0) - now);
  }

  #at(i: number): string {
    return this.#servers[i] ?? '';
  }
}
