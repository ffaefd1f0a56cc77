// A token bucket: at most `perMinute` events in any burst, refilled evenly over the minute.
import type { EpochMs } from '../core/clock.js';

export class TokenBucket {
  #tokens: number;
  #at: EpochMs;

  constructor(perMinute: number, now: EpochMs) {
    this.#tokens = perMinute;
    this.#at = now;
  }

  /** Refills for the time passed and tells whether one token is there (without taking it). */
  has(now: EpochMs, perMinute: number): boolean {
    this.#refill(now, perMinute);
    return this.#tokens >= 1;
  }

  /** Takes one token; call after `has` said yes. */
  take(): void {
    this.#tokens -= 1;
  }

  /** Whether the bucket is back to full (nothing to remember any more). */
  full(now: EpochMs, perMinute: number): boolean {
    this.#refill(now, perMinute);
    return this.#tokens >= perMinute;
  }

  #refill(now: EpochMs, perMinute: number): void {
    // A clock stepped backwards refills nothing, rather than draining the bucket.
    const elapsed = Math.max(0, now - this.#at);
    this.#at = Math.max(this.#at, now);
    this.#tokens = Math.min(perMinute, this.#tokens + (elapsed * perMinute) / 60_000);
  }
}
