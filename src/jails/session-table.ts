// The open sessions of one filter (connection id → client address), bounded in number and in idle time.
import type { EpochMs } from '../core/clock.js';

export interface SessionLimits {
  /** Most sessions remembered at once; the one idle longest goes first. */
  readonly maxSessions: number;
  /** A session not seen for this long is forgotten (its later lines pair with nothing). */
  readonly idleMs: number;
}

/**
 * OpenSMTPD ends a session idle for 5 minutes (its default timeout), so twice that outlives
 * every live one; 10,000 sessions take about 2 MB. A flood of connections that fills the table
 * makes the oldest sessions' later lines go unpaired: a miss, never a wrong address.
 */
export const DEFAULT_SESSION_LIMITS: SessionLimits = Object.freeze({
  maxSessions: 10_000,
  idleMs: 10 * 60_000,
});

interface Entry {
  readonly address: string;
  readonly seenAt: EpochMs;
}

/**
 * Keys are built by the caller from everything that makes an id unique (sender, host, program,
 * pid, id). Times are the server's receive times, which no sender writes. The Map's order is
 * the order of last use, so expiry and eviction both take from its front.
 */
export class SessionTable {
  readonly limits: SessionLimits;
  readonly #entries = new Map<string, Entry>();
  #evicted = 0;
  #expired = 0;

  constructor(limits: SessionLimits = DEFAULT_SESSION_LIMITS) {
    if (!(limits.maxSessions >= 1) || !(limits.idleMs > 0))
      throw new TypeError('session limits must be a positive count and a positive time');
    this.limits = limits;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Sessions dropped to make room, and sessions forgotten after being idle, since creation. */
  get evicted(): number {
    return this.#evicted;
  }

  get expired(): number {
    return this.#expired;
  }

  /** Remembers (or re-opens) a session. */
  open(key: string, address: string, now: EpochMs): void {
    this.#entries.delete(key);
    this.#sweep(now);
    while (this.#entries.size >= this.limits.maxSessions) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
      this.#evicted++;
    }
    this.#entries.set(key, { address, seenAt: now });
  }

  /** The session's address, or null if it is unknown or idle too long; a hit counts as use. */
  lookup(key: string, now: EpochMs): string | null {
    const entry = this.#entries.get(key);
    if (entry === undefined) return null;
    this.#entries.delete(key);
    if (now - entry.seenAt > this.limits.idleMs) {
      this.#expired++;
      return null;
    }
    this.#entries.set(key, { address: entry.address, seenAt: Math.max(now, entry.seenAt) });
    return entry.address;
  }

  close(key: string): void {
    this.#entries.delete(key);
  }

  /** Drops idle sessions from the front (least recently used) until a live one is met. */
  #sweep(now: EpochMs): void {
    for (const [key, entry] of this.#entries) {
      if (now - entry.seenAt <= this.limits.idleMs) return;
      this.#entries.delete(key);
      this.#expired++;
    }
  }
}
