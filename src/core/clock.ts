// Time source for everything that counts, expires or schedules: injected so tests and replays are deterministic.

/** Milliseconds since the Unix epoch. */
export type EpochMs = number;

export interface Clock {
  /** The current time in milliseconds since the epoch. Must never throw. */
  now(): EpochMs;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to: for tests and for replaying old logs. */
export class ManualClock implements Clock {
  #now: EpochMs;
  constructor(start: EpochMs = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }
  now(): EpochMs {
    return this.#now;
  }
  set(t: EpochMs): void {
    this.#now = t;
  }
  advance(ms: number): void {
    this.#now += ms;
  }
}
