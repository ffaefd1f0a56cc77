// The failures a server holds for the shared windows until Redis has them: grouped per attacker and jail, in arrival order, within two caps.
import type { Cidr } from '../core/ip.js';
import type { WindowRule } from '../jails/shared-counter.js';

/** One failure waiting to be sent. */
export interface Pending {
  /** Unique over the fleet: a retried script adds the same member, never a second one. */
  readonly id: string;
  readonly time: number;
  readonly attacker: string;
  readonly host: string;
  readonly sender: string;
  readonly line: string;
  /** Bytes its text takes in memory (UTF-16), for the byte cap. */
  readonly size: number;
}

/** The queued failures of one attacker in one jail: what one script carries. */
export interface Group {
  readonly window: string;
  readonly decided: string;
  readonly jail: string;
  readonly target: Cidr;
  rule: WindowRule;
  failures: Pending[];
  /** Drop the shared window before adding: a forget came after what was sent before. */
  reset: boolean;
  /** Kept while a reply may have been lost, so that a retry gets back its own crossing. */
  token: string | null;
  /** When its scripts started failing (monotonic ms), or -1. */
  failingSince: number;
}

export interface GroupKeys {
  readonly window: string;
  readonly decided: string;
}

/**
 * The queue keeps, per window key, one group in arrival order. A group taken for a flush leaves
 * the queue; what arrives meanwhile starts a new group of the same key, and whatever of the taken
 * group comes back (a retry, a cut-off tail) goes ahead of it, so Redis sees one attacker's
 * failures in the order they came. Held = queued + taken and not yet released.
 */
export class FailureQueue {
  readonly #maxHeld: number;
  readonly #maxBytes: number;
  readonly #now: () => number;
  readonly #groups = new Map<string, Group>();
  #held = 0;
  #heldBytes = 0;
  #since = 0;

  constructor(maxHeld: number, maxBytes: number, now: () => number) {
    this.#maxHeld = maxHeld;
    this.#maxBytes = maxBytes;
    this.#now = now;
  }

  /** Failures held: queued, or taken and not yet released. */
  get held(): number {
    return this.#held;
  }

  get heldBytes(): number {
    return this.#heldBytes;
  }

  /** Groups queued. */
  get size(): number {
    return this.#groups.size;
  }

  /** When the oldest queued group came (monotonic ms); -Infinity when something is due at once. */
  get since(): number {
    return this.#since;
  }

  /** Whether a failure of `size` bytes fits under both caps. */
  fits(size: number): boolean {
    return this.#held < this.#maxHeld && this.#heldBytes + size <= this.#maxBytes;
  }

  /** Queues a failure (the caller checked `fits`); the group takes the failure's rule. */
  push(keys: GroupKeys, jail: string, target: Cidr, rule: WindowRule, failure: Pending): void {
    const group = this.#group(keys, jail, target, rule);
    group.rule = rule;
    group.failures.push(failure);
    this.#held++;
    this.#heldBytes += failure.size;
  }

  /** A forget: the queued failures go with the window, which is dropped before the next ones. */
  reset(keys: GroupKeys, jail: string, target: Cidr, rule: WindowRule): void {
    const group = this.#group(keys, jail, target, rule);
    this.release(group.failures);
    group.failures = [];
    group.reset = true;
  }

  /** Takes up to `n` groups out of the queue, oldest first; any left are due at once. */
  take(n: number): Group[] {
    const taken: Group[] = [];
    for (const group of this.#groups.values()) {
      if (taken.length >= n) break;
      taken.push(group);
    }
    for (const group of taken) this.#groups.delete(group.window);
    if (this.#groups.size > 0) this.#since = -Infinity;
    return taken;
  }

  /** Failures done with: answered by Redis, settled without being sent, or dropped. */
  release(failures: readonly Pending[]): void {
    this.#held -= failures.length;
    for (const f of failures) this.#heldBytes -= f.size;
  }

  /** The cut-off failures of a window that stayed open: queued again ahead of newer ones, due at once. */
  putBack(group: Group, tail: Pending[]): void {
    const next = this.#group(group, group.jail, group.target, group.rule);
    this.#since = -Infinity;
    // A forget came after them: they go with the window.
    if (next.reset) return;
    next.failures = tail.concat(next.failures);
    this.#held += tail.length;
    for (const f of tail) this.#heldBytes += f.size;
  }

  /**
   * A taken group whose script failed (its failures still held): queued again ahead of newer
   * ones, with its token and its failing time. Returns false when a forget came since: then its
   * failures are released, gone with the window.
   */
  retry(group: Group): boolean {
    const next = this.#group(group, group.jail, group.target, group.rule);
    next.failingSince = group.failingSince;
    next.token = group.token;
    if (next.reset) {
      this.release(group.failures);
      return false;
    }
    next.reset = group.reset;
    next.failures = group.failures.concat(next.failures);
    return true;
  }

  /** Empties the queue; returns how many failures it held (released). */
  clear(): number {
    let n = 0;
    for (const group of this.#groups.values()) {
      n += group.failures.length;
      this.release(group.failures);
    }
    this.#groups.clear();
    return n;
  }

  #group(keys: GroupKeys, jail: string, target: Cidr, rule: WindowRule): Group {
    let group = this.#groups.get(keys.window);
    if (group === undefined) {
      if (this.#groups.size === 0) this.#since = this.#now();
      group = {
        window: keys.window,
        decided: keys.decided,
        jail,
        target,
        rule,
        failures: [],
        reset: false,
        token: null,
        failingSince: -1,
      };
      this.#groups.set(keys.window, group);
    }
    return group;
  }
}
