// Reconnection delays: exponential from a minimum to a cap, with jitter so a fleet does not reconnect in step.

export interface BackoffOptions {
  readonly minMs: number;
  readonly maxMs: number;
  /** Uniform in [0, 1); injected for deterministic tests. */
  readonly random?: () => number;
}

export class Backoff {
  readonly #options: BackoffOptions;
  #attempt = 0;

  constructor(options: BackoffOptions) {
    this.#options = options;
  }

  /** The delay before the next attempt: min·2^n capped at max, then scaled into [50 %, 100 %]. */
  next(): number {
    const { minMs, maxMs, random = Math.random } = this.#options;
    const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.round(ceiling * (0.5 + random() * 0.5));
  }

  /** After a connection that worked: start again from the minimum. */
  reset(): void {
    this.#attempt = 0;
  }

  get attempts(): number {
    return this.#attempt;
  }
}
