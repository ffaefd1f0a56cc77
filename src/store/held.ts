// The in-memory index of held bans (ban brake) that both stores keep beside their storage.
import type { HeldBan } from '../core/types.js';

/** One entry per target; `list` orders by hold time so `fleetban held` reads oldest first. */
export class HeldSet {
  readonly #byTarget = new Map<string, HeldBan>();

  get size(): number {
    return this.#byTarget.size;
  }

  get(target: string): HeldBan | undefined {
    return this.#byTarget.get(target);
  }

  put(entries: Iterable<HeldBan>): void {
    for (const e of entries) this.#byTarget.set(e.target, e);
  }

  /** Removes and returns the entries of these targets; unknown targets are skipped. */
  take(targets: readonly string[]): HeldBan[] {
    const out: HeldBan[] = [];
    for (const t of new Set(targets)) {
      const e = this.#byTarget.get(t);
      if (e === undefined) continue;
      this.#byTarget.delete(t);
      out.push(e);
    }
    return out;
  }

  list(): HeldBan[] {
    return [...this.#byTarget.values()].sort(
      (a, b) => a.heldAt - b.heldAt || a.target.localeCompare(b.target),
    );
  }
}
