// Group commit: calls made while one write is in flight are merged into the next single write.

type Entry<T, R> =
  | { readonly kind: 'item'; readonly item: T; resolve(r: R): void; reject(e: unknown): void }
  | { readonly kind: 'job'; run(): Promise<void> };

/**
 * Serialises writes. Items queued together (up to `maxGroup`) go to one `commit` call, which returns one result per
 * item (in order) or throws, failing every item of that group. Exclusive jobs run alone, between
 * groups, in queue order. Callers made in the same tick share the first write too.
 */
export class GroupCommit<T, R> {
  readonly #commit: (items: readonly T[]) => Promise<R[]>;
  readonly #maxGroup: number;
  #queue: Entry<T, R>[] = [];
  #draining: Promise<void> | null = null;

  /**
   * `maxGroup` bounds the items of one write: a burst of ten thousand bans is written (and
   * announced to the agents) in groups, so the first groups are enforced while the rest are still
   * being written, instead of all waiting for one write of everything queued meanwhile.
   */
  constructor(commit: (items: readonly T[]) => Promise<R[]>, maxGroup = Infinity) {
    this.#commit = commit;
    this.#maxGroup = Math.max(1, maxGroup);
  }

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ kind: 'item', item, resolve, reject });
      this.#kick();
    });
  }

  exclusive<X>(job: () => Promise<X>): Promise<X> {
    return new Promise<X>((resolve, reject) => {
      this.#queue.push({ kind: 'job', run: () => job().then(resolve, reject) });
      this.#kick();
    });
  }

  /** Resolves once everything queued so far (and anything queued meanwhile) is done. */
  async idle(): Promise<void> {
    while (this.#draining !== null) await this.#draining;
  }

  #kick(): void {
    this.#draining ??= this.#drain();
  }

  async #drain(): Promise<void> {
    // One microtask's grace lets a synchronous burst of calls join the first write.
    await Promise.resolve();
    while (this.#queue.length > 0) {
      const head = this.#queue[0];
      if (head?.kind === 'job') {
        this.#queue.shift();
        await head.run();
        continue;
      }
      let n = 0;
      const most = Math.min(this.#queue.length, this.#maxGroup);
      while (n < most && this.#queue[n]?.kind === 'item') n++;
      const group = this.#queue.splice(0, n) as Extract<Entry<T, R>, { kind: 'item' }>[];
      try {
        const results = await this.#commit(group.map((g) => g.item));
        group.forEach((g, i) => {
          g.resolve(results[i] as R);
        });
      } catch (e) {
        for (const g of group) g.reject(e);
      }
    }
    this.#draining = null;
  }
}
