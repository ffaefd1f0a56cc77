// Point reads made in the same turn of the event loop, sent to the database as one multi-get.

/** Reads many keys in one call; one value (or undefined) per key, in order. */
export type GetMany<V> = (keys: string[]) => Promise<(V | undefined)[]>;

interface Waiter<V> {
  resolve(value: V | undefined): void;
  reject(error: unknown): void;
}

/**
 * A burst of bans asks for thousands of attacker histories at once. As separate gets they queue
 * one job each in libuv's thread pool, first in, first out, so the ban writes queued behind them
 * wait for every read; as one multi-get per turn they are one job, and the writes follow at once.
 */
export class CoalescedReads<V> {
  readonly #getMany: GetMany<V>;
  #pending = new Map<string, Waiter<V>[]>();
  #scheduled = false;

  constructor(getMany: GetMany<V>) {
    this.#getMany = getMany;
  }

  get(key: string): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      const waiters = this.#pending.get(key);
      if (waiters === undefined) this.#pending.set(key, [{ resolve, reject }]);
      else waiters.push({ resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => void this.#flush());
      }
    });
  }

  async #flush(): Promise<void> {
    const batch = this.#pending;
    this.#pending = new Map();
    this.#scheduled = false;
    const keys = [...batch.keys()];
    try {
      const values = await this.#getMany(keys);
      keys.forEach((key, i) => {
        for (const w of batch.get(key) ?? []) w.resolve(values[i]);
      });
    } catch (e) {
      for (const waiters of batch.values()) for (const w of waiters) w.reject(e);
    }
  }
}
