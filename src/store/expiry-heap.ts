// A binary min-heap of bans by end time with lazy deletion, so due()/nextExpiry() stay cheap at 1M bans.
import type { EpochMs } from '../core/clock.js';
import type { Ban } from '../core/types.js';

/**
 * Lifting or replacing a ban does not search the heap: the entry goes stale and is dropped when
 * it surfaces, or in a rebuild once stale entries outnumber live ones. `isLive` tells the two
 * apart (the owner's map still holds this very object).
 */
export class ExpiryHeap {
  #items: Ban[] = [];
  #stale = 0;
  readonly #isLive: (ban: Ban) => boolean;

  constructor(isLive: (ban: Ban) => boolean) {
    this.#isLive = isLive;
  }

  /** Replaces the contents in O(n): used once after loading from disk. */
  rebuild(bans: Iterable<Ban>): void {
    this.#items = [];
    for (const b of bans) if (b.end !== null) this.#items.push(b);
    this.#stale = 0;
    for (let i = (this.#items.length >> 1) - 1; i >= 0; i--) this.#down(i);
  }

  push(ban: Ban): void {
    if (ban.end === null) return;
    this.#items.push(ban);
    this.#up(this.#items.length - 1);
  }

  /** Records that one entry went stale; rebuilds when stale entries dominate. */
  markStale(ban: Ban, live: () => Iterable<Ban>): void {
    if (ban.end === null) return;
    this.#stale++;
    if (this.#stale > 1024 && this.#stale * 2 > this.#items.length) this.rebuild(live());
  }

  /** The earliest live end, or null. */
  peek(): EpochMs | null {
    this.#dropStaleTop();
    return this.#items[0]?.end ?? null;
  }

  /** Live bans with end ≤ now, earliest first, without removing them (the caller unbans). */
  due(now: EpochMs): Ban[] {
    this.#dropStaleTop();
    const out: Ban[] = [];
    const stack: number[] = [0];
    while (stack.length > 0) {
      const i = stack.pop() ?? 0;
      const b = this.#items[i];
      // Heap order: once a node ends after `now`, its whole subtree does too.
      if (b === undefined || (b.end ?? Infinity) > now) continue;
      if (this.#isLive(b)) out.push(b);
      stack.push(2 * i + 1, 2 * i + 2);
    }
    return out.sort((a, b) => (a.end ?? 0) - (b.end ?? 0));
  }

  get size(): number {
    return this.#items.length;
  }

  #dropStaleTop(): void {
    for (let top = this.#items[0]; top !== undefined && !this.#isLive(top); top = this.#items[0]) {
      const last = this.#items.pop();
      if (this.#stale > 0) this.#stale--;
      if (last !== undefined && this.#items.length > 0) {
        this.#items[0] = last;
        this.#down(0);
      }
    }
  }

  #up(i: number): void {
    const items = this.#items;
    const item = items[i];
    if (item === undefined) return;
    const end = item.end ?? Infinity;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = items[p];
      if (parent === undefined || (parent.end ?? Infinity) <= end) break;
      items[i] = parent;
      i = p;
    }
    items[i] = item;
  }

  #down(i: number): void {
    const items = this.#items;
    const n = items.length;
    const item = items[i];
    if (item === undefined) return;
    const end = item.end ?? Infinity;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      const left = items[c];
      const right = items[c + 1];
      let child = left;
      if (right !== undefined && (right.end ?? Infinity) < (left?.end ?? Infinity)) {
        c++;
        child = right;
      }
      if (child === undefined || (child.end ?? Infinity) >= end) break;
      items[i] = child;
      i = c;
    }
    items[i] = item;
  }
}
