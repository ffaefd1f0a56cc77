// The dashboard's view of active bans, newest first: targets in feed order, kept current from the store's change feed.
import type { Ban, Change } from '../core/types.js';
import type { BanStore } from '../store/store.js';

export interface BanQuery {
  /** Only bans of this jail. */
  readonly jail?: string;
  /** Only targets starting with this text (an address prefix as typed: `203.0.113.`, `2001:db8:`). */
  readonly prefix?: string;
  /** Only bans older than this sequence number: the cursor of the next page. */
  readonly before?: number;
  readonly limit: number;
}

export interface BanPage {
  /** Targets, newest ban first. */
  readonly targets: string[];
  /** The cursor of the next page (`before`), null on the last one. */
  readonly next: number | null;
  /** Active bans matching jail and prefix (all pages). */
  readonly total: number;
}

/**
 * Sorting a million bans per request costs most of a second; here the order comes for free:
 * a ban's position is its feed sequence number, and the feed only appends. A page walks back
 * from the newest (or from the cursor, found by binary search) and stops once it is full; the
 * total of a filtered query is one pass over small typed arrays and one string test per ban.
 * Lifted and replaced bans leave holes, squeezed out once they outnumber the live ones.
 */
export class BanIndex {
  #targets: (string | null)[] = [];
  #seqs = new Float64Array(1024);
  #jails = new Uint32Array(1024);
  readonly #pos = new Map<string, number>();
  readonly #jailIds = new Map<string, number>();
  /** Active bans per jail id. */
  readonly #jailBans: number[] = [];
  #holes = 0;
  #unsubscribe: (() => void) | null = null;

  /**
   * Reads the active bans once (showing each to `seen`), then follows the feed, telling
   * `onChanges` of each batch after applying it. No gap: both happen in one turn.
   */
  start(
    store: BanStore,
    seen: (ban: Ban) => void,
    onChanges: (changes: readonly Change[]) => void,
  ): void {
    // Columns, not a million small objects: what start leaves behind is only what the index keeps.
    let n = 0;
    let seqs = new Float64Array(Math.max(1024, store.stats().activeBans));
    let jails = new Uint32Array(seqs.length);
    const targets: string[] = [];
    let sorted = true;
    for (const b of store.active()) {
      if (n === seqs.length) {
        seqs = grow(seqs, n * 2);
        jails = grow(jails, n * 2);
      }
      seqs[n] = b.seq;
      jails[n] = this.#jailId(b.jail);
      targets.push(b.target);
      if (n > 0 && (seqs[n - 1] ?? 0) > b.seq) sorted = false;
      n++;
      seen(b);
    }
    if (sorted) {
      this.#seqs = seqs;
      this.#jails = jails;
      this.#targets = targets;
    } else {
      const order = new Uint32Array(n);
      for (let i = 0; i < n; i++) order[i] = i;
      order.sort((a, b) => (seqs[a] ?? 0) - (seqs[b] ?? 0));
      this.#seqs = new Float64Array(seqs.length);
      this.#jails = new Uint32Array(seqs.length);
      this.#targets = new Array<string | null>(n);
      for (let i = 0; i < n; i++) {
        const from = order[i] ?? 0;
        this.#seqs[i] = seqs[from] ?? 0;
        this.#jails[i] = jails[from] ?? 0;
        this.#targets[i] = targets[from] ?? null;
      }
    }
    for (let i = 0; i < n; i++) {
      const t = this.#targets[i];
      if (t === null || t === undefined) continue;
      this.#pos.set(t, i);
      const id = this.#jails[i] ?? 0;
      this.#jailBans[id] = (this.#jailBans[id] ?? 0) + 1;
    }
    this.#unsubscribe = store.subscribe((changes) => {
      this.apply(changes);
      onChanges(changes);
    });
  }

  /** Jails by active bans, most first. */
  topJails(n: number): { jail: string; bans: number }[] {
    const out: { jail: string; bans: number }[] = [];
    for (const [jail, id] of this.#jailIds) {
      const bans = this.#jailBans[id] ?? 0;
      if (bans > 0) out.push({ jail, bans });
    }
    return out.sort((a, b) => b.bans - a.bans || a.jail.localeCompare(b.jail)).slice(0, n);
  }

  close(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  get size(): number {
    return this.#pos.size;
  }

  apply(changes: readonly Change[]): void {
    for (const c of changes) {
      if (c.kind === 'ban') this.#append(c.seq, c.ban.target, c.ban.jail);
      else this.#remove(c.target);
    }
    if (this.#holes > 1024 && this.#holes > this.#pos.size) this.#compact();
  }

  page(q: BanQuery): BanPage {
    const jail = q.jail === undefined ? -1 : (this.#jailIds.get(q.jail) ?? -2);
    const prefix = q.prefix?.toLowerCase() ?? '';
    const n = this.#targets.length;
    let start = n - 1;
    if (q.before !== undefined) start = this.#below(q.before);
    const targets: string[] = [];
    let next: number | null = null;
    let lastSeq = 0;
    for (let i = start; i >= 0; i--) {
      const t = this.#targets[i];
      if (t === null || t === undefined) continue;
      if (jail !== -1 && this.#jails[i] !== jail) continue;
      if (prefix !== '' && !t.startsWith(prefix)) continue;
      if (targets.length === q.limit) {
        // The cursor is exclusive: the next page starts below the last ban shown.
        next = lastSeq;
        break;
      }
      targets.push(t);
      lastSeq = this.#seqs[i] ?? 0;
    }
    return { targets, next, total: this.#count(jail, prefix) };
  }

  #count(jail: number, prefix: string): number {
    if (jail === -2) return 0;
    if (jail === -1 && prefix === '') return this.#pos.size;
    let count = 0;
    const targets = this.#targets;
    const jails = this.#jails;
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i];
      if (t === null || t === undefined) continue;
      if (jail !== -1 && jails[i] !== jail) continue;
      if (prefix !== '' && !t.startsWith(prefix)) continue;
      count++;
    }
    return count;
  }

  /** The highest position whose sequence number is below `seq`, -1 if none. */
  #below(seq: number): number {
    let lo = 0;
    let hi = this.#targets.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#seqs[mid] ?? 0) < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  #append(seq: number, target: string, jail: string): void {
    this.#remove(target);
    const i = this.#targets.length;
    if (i === this.#seqs.length) {
      this.#seqs = grow(this.#seqs, i * 2);
      this.#jails = grow(this.#jails, i * 2);
    }
    const id = this.#jailId(jail);
    this.#targets.push(target);
    this.#seqs[i] = seq;
    this.#jails[i] = id;
    this.#pos.set(target, i);
    this.#jailBans[id] = (this.#jailBans[id] ?? 0) + 1;
  }

  #jailId(jail: string): number {
    let id = this.#jailIds.get(jail);
    if (id === undefined) {
      id = this.#jailIds.size;
      this.#jailIds.set(jail, id);
    }
    return id;
  }

  #remove(target: string): void {
    const i = this.#pos.get(target);
    if (i === undefined) return;
    this.#pos.delete(target);
    this.#targets[i] = null;
    const id = this.#jails[i] ?? 0;
    this.#jailBans[id] = (this.#jailBans[id] ?? 1) - 1;
    this.#holes++;
  }

  #compact(): void {
    let w = 0;
    const targets = this.#targets;
    for (let r = 0; r < targets.length; r++) {
      const t = targets[r];
      if (t === null || t === undefined) continue;
      targets[w] = t;
      this.#seqs[w] = this.#seqs[r] ?? 0;
      this.#jails[w] = this.#jails[r] ?? 0;
      this.#pos.set(t, w);
      w++;
    }
    targets.length = w;
    this.#holes = 0;
  }
}

function grow<T extends Float64Array | Uint32Array>(a: T, size: number): T {
  const bigger = new (a.constructor as new (n: number) => T)(size);
  bigger.set(a);
  return bigger;
}
