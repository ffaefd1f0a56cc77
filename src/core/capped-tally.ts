// Counts per key for a log summary, naming at most a fixed number of distinct keys: spoofed sources are endless.

/**
 * Counts by key up to `limit` distinct keys; counts for further keys are only summed in
 * `untracked`, so an attacker who rotates addresses cannot grow it.
 */
export class CappedTally<K> {
  readonly #limit: number;
  #counts = new Map<K, number>();
  #untracked = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Adds one to `key`; true when the key was counted for the first time. */
  add(key: K): boolean {
    const n = this.#counts.get(key);
    if (n !== undefined) {
      this.#counts.set(key, n + 1);
      return false;
    }
    if (this.#counts.size < this.#limit) {
      this.#counts.set(key, 1);
      return true;
    }
    this.#untracked++;
    return false;
  }

  /** Distinct keys counted by name. */
  get size(): number {
    return this.#counts.size;
  }

  /** Counts of keys beyond the limit. */
  get untracked(): number {
    return this.#untracked;
  }

  entries(): IterableIterator<[K, number]> {
    return this.#counts.entries();
  }

  /** The `n` keys with the highest counts, highest first (ties by key text). */
  busiest(n: number): [K, number][] {
    return [...this.#counts]
      .sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0])))
      .slice(0, n);
  }

  clear(): void {
    this.#counts = new Map();
    this.#untracked = 0;
  }
}
