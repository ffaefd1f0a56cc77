// Lifts bans when their time is up: one timer armed for the earliest expiry, re-armed after each change.
import type { Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { BanManager } from './ban-manager.js';

/** Longest single wait: timers beyond ~24.8 days overflow, and a long sleep should re-check anyway. */
const MAX_WAIT_MS = 60 * 60 * 1000;
const RETRY_AFTER_ERROR_MS = 1000;

export class ExpiryScheduler {
  readonly #bans: BanManager;
  readonly #nextExpiry: () => number | null;
  readonly #clock: Clock;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | null = null;
  #armedFor: number | null = null;
  #running: Promise<void> | null = null;
  #closed = false;

  constructor(bans: BanManager, nextExpiry: () => number | null, clock: Clock, logger: Logger) {
    this.#bans = bans;
    this.#nextExpiry = nextExpiry;
    this.#clock = clock;
    this.#logger = logger;
  }

  /** Lifts what is already due (bans that ended while fleetban was down), then arms the timer. */
  async start(): Promise<void> {
    await this.#run();
  }

  /** Call after a ban was stored: re-arms if it ends before the current timer fires. */
  rearm(): void {
    if (this.#closed || this.#running !== null) return;
    const next = this.#nextExpiry();
    if (next === null || (this.#armedFor !== null && this.#armedFor <= next)) return;
    this.#arm(next);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  #arm(at: number): void {
    if (this.#closed) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    const wait = Math.min(Math.max(at - this.#clock.now(), 0), MAX_WAIT_MS);
    this.#armedFor = at;
    this.#timer = setTimeout(() => void this.#run(), wait);
    this.#timer.unref();
  }

  async #run(): Promise<void> {
    if (this.#closed) return;
    this.#timer = null;
    this.#armedFor = null;
    const work = this.#bans.expireDue().then(
      () => true,
      (e: unknown) => {
        this.#logger.error({ err: e }, `cannot lift expired bans: ${describeError(e)}`);
        return false;
      },
    );
    this.#running = work.then(() => undefined);
    const ok = await work;
    this.#running = null;
    // After a store error, wait before retrying rather than spinning on the same due bans.
    const next = ok ? this.#nextExpiry() : this.#clock.now() + RETRY_AFTER_ERROR_MS;
    if (next !== null) this.#arm(next);
  }
}
