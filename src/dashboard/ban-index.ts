// The dashboard's view of active bans, newest first: targets in feed order as packed bytes, kept current from the store's change feed.
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

const EMPTY = -1;
const DELETED = -2;

/**
 * Sorting a million bans per request costs most of a second; here the order comes for free:
 * a ban's position is its feed sequence number, and the feed only appends. A page walks back
 * from the newest (or from the cursor, found by binary search) and stops once it is full; the
 * total of a filtered query is one pass over typed arrays.
 *
 * A million bans as strings and a Map would cost about 90 MB of heap; here every position is a
 * few typed-array cells and the target's bytes (targets are canonical addresses and prefixes:
 * ASCII, at most 255 characters), found again by an open-addressing table of positions. Strings
 * are made only for the rows a page returns. Lifted and replaced bans leave holes (length 0),
 * squeezed out once they outnumber the live ones.
 */
export class BanIndex {
  /** Positions handed out (live ones and holes). */
  #n = 0;
  #seqs = new Float64Array(1024);
  #jails = new Uint32Array(1024);
  #offsets = new Uint32Array(1024);
  /** 0 = a hole. */
  #lengths = new Uint8Array(1024);
  #bytes = new Uint8Array(16 * 1024);
  #bytesUsed = 0;
  #live = 0;
  #holes = 0;
  /** target → position: open addressing with linear probing; EMPTY or DELETED otherwise. */
  #table = new Int32Array(2048).fill(EMPTY);
  /** Entries of the table that are not EMPTY (live and DELETED). */
  #tableUsed = 0;
  readonly #jailIds = new Map<string, number>();
  /** Active bans per jail id. */
  readonly #jailBans: number[] = [];
  #unsubscribe: (() => void) | null = null;

  /**
   * Reads the active bans once (showing each to `seen`), then follows the feed, telling
   * `onChanges` of each batch after applying it. No gap: both happen in one turn.
   */
  start(
    store: BanStore,
    seen: (ban: Ban) => void,
    onChanges: (changes: readonly Change[], replaced: ReadonlySet<number>) => void,
  ): void {
    let sorted = true;
    let last = -Infinity;
    // activeTargets() leaves no strings behind in the store; each target is packed here.
    for (const target of store.activeTargets()) {
      const ban = store.get(target);
      if (ban === undefined) continue;
      this.#put(ban.seq, target, this.#jailId(ban.jail));
      if (ban.seq < last) sorted = false;
      last = ban.seq;
      seen(ban);
    }
    if (!sorted) this.#sortBySeq();
    this.#rehash(this.#table.length);
    this.#unsubscribe = store.subscribe((changes) => {
      onChanges(changes, this.apply(changes));
    });
  }

  close(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  get size(): number {
    return this.#live;
  }

  /** Returns the seqs of the bans that replaced an active ban of the same target. */
  apply(changes: readonly Change[]): ReadonlySet<number> {
    const replaced = new Set<number>();
    for (const c of changes) {
      if (c.kind !== 'ban') this.#remove(c.target);
      else if (this.#append(c.seq, c.ban.target, c.ban.jail)) replaced.add(c.seq);
    }
    if (this.#holes > 1024 && this.#holes > this.#live) this.#compact();
    return replaced;
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

  page(q: BanQuery): BanPage {
    const jail = q.jail === undefined ? -1 : (this.#jailIds.get(q.jail) ?? -2);
    const prefix = asciiBytes(q.prefix?.toLowerCase() ?? '');
    const start = q.before === undefined ? this.#n - 1 : this.#below(q.before);
    const targets: string[] = [];
    let next: number | null = null;
    let lastSeq = 0;
    if (jail !== -2) {
      for (let i = start; i >= 0; i--) {
        if (!this.#matches(i, jail, prefix)) continue;
        if (targets.length === q.limit) {
          // The cursor is exclusive: the next page starts below the last ban shown.
          next = lastSeq;
          break;
        }
        targets.push(this.#text(i));
        lastSeq = this.#seqs[i] ?? 0;
      }
    }
    return { targets, next, total: this.#count(jail, prefix) };
  }

  #matches(i: number, jail: number, prefix: Uint8Array | null): boolean {
    const len = this.#lengths[i] ?? 0;
    if (len === 0) return false;
    if (jail !== -1 && this.#jails[i] !== jail) return false;
    if (prefix === null) return false;
    if (prefix.length === 0) return true;
    if (len < prefix.length) return false;
    const off = this.#offsets[i] ?? 0;
    const bytes = this.#bytes;
    for (let k = 0; k < prefix.length; k++) if (bytes[off + k] !== prefix[k]) return false;
    return true;
  }

  #count(jail: number, prefix: Uint8Array | null): number {
    if (jail === -2 || prefix === null) return 0;
    if (jail === -1 && prefix.length === 0) return this.#live;
    let count = 0;
    for (let i = 0; i < this.#n; i++) if (this.#matches(i, jail, prefix)) count++;
    return count;
  }

  /** The highest position whose sequence number is below `seq`, -1 if none. */
  #below(seq: number): number {
    let lo = 0;
    let hi = this.#n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#seqs[mid] ?? 0) < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  #text(i: number): string {
    const off = this.#offsets[i] ?? 0;
    return String.fromCharCode(...this.#bytes.subarray(off, off + (this.#lengths[i] ?? 0)));
  }

  #jailId(jail: string): number {
    let id = this.#jailIds.get(jail);
    if (id === undefined) {
      id = this.#jailIds.size;
      this.#jailIds.set(jail, id);
    }
    return id;
  }

  /** True when it replaced an active ban of the target. */
  #append(seq: number, target: string, jail: string): boolean {
    const replaced = this.#remove(target);
    const i = this.#put(seq, target, this.#jailId(jail));
    if ((this.#tableUsed + 1) * 2 > this.#table.length) {
      // Mostly DELETED entries (bans come and go): a fresh table of the same size will do.
      const crowded = (this.#live + 1) * 4 > this.#table.length;
      this.#rehash(crowded ? this.#table.length * 2 : this.#table.length);
    }
    this.#insert(target, i);
    return replaced;
  }

  /** Writes a position (not yet in the table); returns it. */
  #put(seq: number, target: string, jail: number): number {
    if (target.length === 0 || target.length > 255) {
      throw new TypeError(`a ban target must have 1 to 255 characters: ${target}`);
    }
    const i = this.#n;
    if (i === this.#seqs.length) {
      const size = i * 2;
      this.#seqs = grown(this.#seqs, size);
      this.#jails = grown(this.#jails, size);
      this.#offsets = grown(this.#offsets, size);
      this.#lengths = grown(this.#lengths, size);
    }
    if (this.#bytesUsed + target.length > this.#bytes.length) {
      this.#bytes = grown(this.#bytes, Math.max(this.#bytes.length * 2, this.#bytesUsed + 256));
    }
    const off = this.#bytesUsed;
    for (let k = 0; k < target.length; k++) this.#bytes[off + k] = target.charCodeAt(k) & 0xff;
    this.#bytesUsed += target.length;
    this.#seqs[i] = seq;
    this.#jails[i] = jail;
    this.#offsets[i] = off;
    this.#lengths[i] = target.length;
    this.#n++;
    this.#live++;
    this.#jailBans[jail] = (this.#jailBans[jail] ?? 0) + 1;
    return i;
  }

  #remove(target: string): boolean {
    const slot = this.#find(target);
    if (slot < 0) return false;
    const i = this.#table[slot] ?? 0;
    this.#table[slot] = DELETED;
    this.#lengths[i] = 0;
    this.#live--;
    this.#holes++;
    const id = this.#jails[i] ?? 0;
    this.#jailBans[id] = (this.#jailBans[id] ?? 1) - 1;
    return true;
  }

  /** The table slot holding `target`, or -1. */
  #find(target: string): number {
    const mask = this.#table.length - 1;
    for (let s = hashString(target) & mask; ; s = (s + 1) & mask) {
      const i = this.#table[s] ?? EMPTY;
      if (i === EMPTY) return -1;
      if (i >= 0 && this.#equals(i, target)) return s;
    }
  }

  #insert(target: string, i: number): void {
    const mask = this.#table.length - 1;
    for (let s = hashString(target) & mask; ; s = (s + 1) & mask) {
      const v = this.#table[s] ?? EMPTY;
      if (v === EMPTY || v === DELETED) {
        if (v === EMPTY) this.#tableUsed++;
        this.#table[s] = i;
        return;
      }
    }
  }

  #equals(i: number, target: string): boolean {
    const len = this.#lengths[i] ?? 0;
    if (len !== target.length) return false;
    const off = this.#offsets[i] ?? 0;
    for (let k = 0; k < len; k++) {
      if (this.#bytes[off + k] !== (target.charCodeAt(k) & 0xff)) return false;
    }
    return true;
  }

  /** A fresh table of at least `size` slots (and twice the live positions), DELETED ones dropped. */
  #rehash(size: number): void {
    let cap = 2048;
    while (cap < size || cap < this.#live * 2 + 2) cap *= 2;
    const table = new Int32Array(cap).fill(EMPTY);
    const mask = cap - 1;
    for (let i = 0; i < this.#n; i++) {
      const len = this.#lengths[i] ?? 0;
      if (len === 0) continue;
      const off = this.#offsets[i] ?? 0;
      let s = hashBytes(this.#bytes, off, len) & mask;
      while (table[s] !== EMPTY) s = (s + 1) & mask;
      table[s] = i;
    }
    this.#table = table;
    this.#tableUsed = this.#live;
  }

  /** Reorders every position by sequence number (once, at start, when the store's order differs). */
  #sortBySeq(): void {
    const n = this.#n;
    const seqs = this.#seqs;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => (seqs[a] ?? 0) - (seqs[b] ?? 0));
    const nextSeqs = new Float64Array(seqs.length);
    const jails = new Uint32Array(seqs.length);
    const offsets = new Uint32Array(seqs.length);
    const lengths = new Uint8Array(seqs.length);
    const bytes = new Uint8Array(this.#bytes.length);
    let used = 0;
    for (let i = 0; i < n; i++) {
      const from = order[i] ?? 0;
      const off = this.#offsets[from] ?? 0;
      const len = this.#lengths[from] ?? 0;
      bytes.set(this.#bytes.subarray(off, off + len), used);
      nextSeqs[i] = seqs[from] ?? 0;
      jails[i] = this.#jails[from] ?? 0;
      offsets[i] = used;
      lengths[i] = len;
      used += len;
    }
    this.#seqs = nextSeqs;
    this.#jails = jails;
    this.#offsets = offsets;
    this.#lengths = lengths;
    this.#bytes = bytes;
    this.#bytesUsed = used;
  }

  /** Squeezes out the holes, keeping the order; positions change, so the table is rebuilt. */
  #compact(): void {
    let w = 0;
    let used = 0;
    for (let r = 0; r < this.#n; r++) {
      const len = this.#lengths[r] ?? 0;
      if (len === 0) continue;
      const off = this.#offsets[r] ?? 0;
      // Writes only move left, so a forward copy never overwrites what is still to be read.
      this.#bytes.copyWithin(used, off, off + len);
      this.#seqs[w] = this.#seqs[r] ?? 0;
      this.#jails[w] = this.#jails[r] ?? 0;
      this.#offsets[w] = used;
      this.#lengths[w] = len;
      used += len;
      w++;
    }
    this.#lengths.fill(0, w, this.#n);
    this.#n = w;
    this.#bytesUsed = used;
    this.#holes = 0;
    this.#rehash(this.#table.length);
  }
}

/** FNV-1a over the character codes; the same as `hashBytes` of the packed (ASCII) text. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < s.length; k++) h = Math.imul(h ^ (s.charCodeAt(k) & 0xff), 16777619);
  return h >>> 0;
}

function hashBytes(bytes: Uint8Array, off: number, len: number): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < len; k++) h = Math.imul(h ^ (bytes[off + k] ?? 0), 16777619);
  return h >>> 0;
}

/** The prefix as bytes; null when it has a character no target has (nothing can match). */
function asciiBytes(text: string): Uint8Array | null {
  const out = new Uint8Array(text.length);
  for (let k = 0; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if (c > 0x7f) return null;
    out[k] = c;
  }
  return out;
}

function grown<T extends Float64Array | Uint32Array | Uint8Array>(a: T, size: number): T {
  const bigger = new (a.constructor as new (n: number) => T)(size);
  bigger.set(a);
  return bigger;
}
