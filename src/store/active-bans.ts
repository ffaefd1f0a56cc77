// The in-memory view of active bans both stores keep: a map by target plus the expiry heap.
import type { EpochMs } from '../core/clock.js';
import type { Ban } from '../core/types.js';
import { ExpiryHeap } from './expiry-heap.js';
import type { Effect } from './plan.js';

export class ActiveBans {
  readonly #byTarget = new Map<string, Ban>();
  readonly #heap = new ExpiryHeap((b) => this.#byTarget.get(b.target) === b);

  get size(): number {
    return this.#byTarget.size;
  }

  get(target: string): Ban | undefined {
    return this.#byTarget.get(target);
  }

  values(): IterableIterator<Ban> {
    return this.#byTarget.values();
  }

  /** Bulk load at open: one heapify instead of a million pushes. */
  load(bans: Iterable<Ban>): void {
    for (const b of bans) this.#byTarget.set(b.target, b);
    this.#heap.rebuild(this.#byTarget.values());
  }

  /** Applies a written plan's effects, in order. */
  apply(effects: readonly Effect[]): void {
    for (const e of effects) {
      const old = this.#byTarget.get(e.target);
      if (e.kind === 'ban') {
        this.#byTarget.set(e.target, e.ban);
        this.#heap.push(e.ban);
      } else {
        this.#byTarget.delete(e.target);
      }
      if (old !== undefined) this.#heap.markStale(old, () => this.#byTarget.values());
    }
  }

  due(now: EpochMs): Ban[] {
    return this.#heap.due(now);
  }

  nextExpiry(): EpochMs | null {
    return this.#heap.peek();
  }
}
