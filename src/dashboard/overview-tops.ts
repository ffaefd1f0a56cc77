// The Overview's top attacked hosts and top attacking networks among the active bans, kept up to date from the change feed.
import { maskAddress, parseCidr } from '../core/ip.js';
import type { Ban, BanDetails, Change } from '../core/types.js';

export interface TopEntry {
  readonly name: string;
  readonly bans: number;
}

/**
 * Bans whose hosts are read at start: the newest ones only. Hosts live in the ban details, one
 * store read each, so a million active bans would mean a million reads; bans older than these
 * are left out of the hosts count (`hostsCounted` says how many bans it covers).
 */
export const START_DETAILS = 10_000;

/**
 * Networks (/24 for IPv4, /64 for IPv6) of every active ban, counted from the targets (no store
 * read); hosts from the details of each ban arriving on the feed, plus the START_DETAILS newest
 * active at start. Tops are cached and rebuilt only after a change.
 */
export class BanTops {
  readonly #details: (target: string) => Promise<BanDetails | null>;
  readonly #networks = new Map<string, number>();
  readonly #hosts = new Map<string, number>();
  /** Hosts counted per target, to take back on unban; `null` while its details are being read. */
  readonly #hostsOf = new Map<string, readonly string[] | null>();
  /** Details reads started by the feed and not yet done. */
  readonly #reading = new Set<Promise<void>>();
  #cache: { n: number; networks: TopEntry[]; hosts: TopEntry[] } | null = null;

  constructor(details: (target: string) => Promise<BanDetails | null>) {
    this.#details = details;
  }

  /** A ban active at start: its network only (hosts: readHosts). */
  seen(ban: Ban): void {
    this.#addNetwork(ban.target, 1);
  }

  /**
   * Reads the hosts of `targets` (the newest active bans at start), one after another so the
   * store is not flooded; resolves when done. `isActive` skips the ones lifted meanwhile.
   */
  async readHosts(
    targets: readonly string[],
    isActive: (target: string) => boolean,
  ): Promise<void> {
    for (const target of targets) {
      if (this.#hostsOf.has(target) || !isActive(target)) continue;
      this.#hostsOf.set(target, null);
      await this.#readHostsOf(target);
    }
  }

  /** `replaced`: seqs of the bans that replaced an active ban of their target (BanIndex.apply). */
  apply(changes: readonly Change[], replaced: ReadonlySet<number>): void {
    for (const c of changes) {
      if (c.kind === 'ban') {
        this.#forgetHosts(c.ban.target);
        if (!replaced.has(c.seq)) this.#addNetwork(c.ban.target, 1);
        this.#hostsOf.set(c.ban.target, null);
        const read = this.#readHostsOf(c.ban.target).finally(() => this.#reading.delete(read));
        this.#reading.add(read);
      } else {
        this.#forgetHosts(c.target);
        this.#hostsOf.delete(c.target);
        this.#addNetwork(c.target, -1);
      }
    }
  }

  /** Resolves when the details reads started by the feed so far are done. */
  async settled(): Promise<void> {
    await Promise.all([...this.#reading]);
  }

  /** Bans whose hosts are counted. */
  get hostsCounted(): number {
    return this.#hostsOf.size;
  }

  top(n: number): { networks: TopEntry[]; hosts: TopEntry[] } {
    if (this.#cache?.n !== n) {
      this.#cache = { n, networks: topOf(this.#networks, n), hosts: topOf(this.#hosts, n) };
    }
    return { networks: this.#cache.networks, hosts: this.#cache.hosts };
  }

  async #readHostsOf(target: string): Promise<void> {
    let hosts: string[] = [];
    try {
      hosts = Object.keys((await this.#details(target))?.hosts ?? {});
    } catch {
      // Evidence is optional for the figures: a failed read leaves the ban out of the hosts.
    }
    // Lifted (or replaced and read again) meanwhile: nothing to count.
    if (this.#hostsOf.get(target) !== null) return;
    this.#hostsOf.set(target, hosts);
    for (const h of hosts) bump(this.#hosts, h, 1);
    this.#cache = null;
  }

  #forgetHosts(target: string): void {
    for (const h of this.#hostsOf.get(target) ?? []) bump(this.#hosts, h, -1);
    this.#cache = null;
  }

  #addNetwork(target: string, by: number): void {
    const net = networkOf(target);
    if (net !== null) bump(this.#networks, net, by);
    this.#cache = null;
  }
}

/** `203.0.113.0/24` for an IPv4 target, `2001:db8::/64` for IPv6; a wider prefix stays as it is. */
export function networkOf(target: string): string | null {
  const c = parseCidr(target);
  if (c === null) return null;
  const width = c.family === 4 ? 24 : 64;
  if (c.prefix <= width) return `${c.address}/${c.prefix}`;
  const m = maskAddress({ family: c.family, text: c.address }, width);
  return `${m.address}/${m.prefix}`;
}

function bump(counts: Map<string, number>, key: string, by: number): void {
  const n = (counts.get(key) ?? 0) + by;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
}

/** The `n` largest counts, most first, ties by name: one pass, a small sorted list. */
function topOf(counts: ReadonlyMap<string, number>, n: number): TopEntry[] {
  const out: TopEntry[] = [];
  for (const [name, bans] of counts) {
    const last = out[out.length - 1];
    if (
      out.length === n &&
      last !== undefined &&
      (bans < last.bans || (bans === last.bans && name > last.name))
    )
      continue;
    out.push({ name, bans });
    out.sort((a, b) => b.bans - a.bans || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (out.length > n) out.pop();
  }
  return out;
}
