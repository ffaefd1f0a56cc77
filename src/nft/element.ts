// The fleetban nftables sets and their elements: which set a prefix goes to, and when the kernel drops it.
import type { EpochMs } from '../core/clock.js';
import { formatCidr, parseCidr, type Cidr, type IpFamily } from '../core/ip.js';

/** The table every fleetban enforcer shares (agents and `GET /v1/nftables`). */
export const NFT_TABLE = 'fleetban';
export const NFT_FAMILY = 'inet';

/** The five sets of the table. */
export const BanSet = {
  V4: 'banned_v4',
  V6: 'banned_v6',
  V6_64: 'banned_v6_64',
  V4_NET: 'banned_v4_net',
  V6_NET: 'banned_v6_net',
} as const;
export type BanSet = (typeof BanSet)[keyof typeof BanSet];

/** In this order in every rendered ruleset and transaction. */
export const BAN_SETS: readonly BanSet[] = Object.values(BanSet);

export interface BanSetSpec {
  readonly family: IpFamily;
  /**
   * `interval` sets hold prefixes, but nft 1.0.6 reads every element of every interval set back
   * before each transaction (0.7 s at 110,000 elements); hash sets cost nothing per element
   * present. So single addresses and IPv6 /64s go to hash sets, only other prefixes to the
   * small interval sets.
   */
  readonly interval: boolean;
  /** Elements are networks of this length stored as their network address, matched by masking the source; null = as stored. */
  readonly masked: number | null;
}

export const BAN_SET_SPECS: Readonly<Record<BanSet, BanSetSpec>> = {
  [BanSet.V4]: { family: 4, interval: false, masked: null },
  [BanSet.V6]: { family: 6, interval: false, masked: null },
  [BanSet.V6_64]: { family: 6, interval: false, masked: 64 },
  [BanSet.V4_NET]: { family: 4, interval: true, masked: null },
  [BanSet.V6_NET]: { family: 6, interval: true, masked: null },
};

/** The set that enforces a ban on `cidr`. */
export function banSetOf(cidr: Cidr): BanSet {
  if (cidr.family === 4) return cidr.prefix === 32 ? BanSet.V4 : BanSet.V4_NET;
  if (cidr.prefix === 128) return BanSet.V6;
  return cidr.prefix === 64 ? BanSet.V6_64 : BanSet.V6_NET;
}

/**
 * The prefix an element value of `set` stands for: the address, or in a masked set the network
 * of the set's length (a value with host bits set is not fleetban's: null); null for bad text.
 */
export function cidrOfValue(text: string, set: BanSet): Cidr | null {
  const { family, masked } = BAN_SET_SPECS[set];
  const cidr = parseCidr(masked === null ? text : `${text}/${masked}`);
  if (cidr === null || cidr.family !== family) return null;
  if (masked !== null && parseCidr(text)?.address !== cidr.address) return null;
  return cidr;
}

/**
 * A set element. `end` is when the element stops matching: the ban's end for a wanted element,
 * the kernel's expiry for a listed one; null for a permanent element (no timeout).
 */
export interface SetElement {
  /** formatCidr(cidr): the identity of the element, unique across the sets. */
  readonly key: string;
  readonly cidr: Cidr;
  readonly end: EpochMs | null;
}

export function setElement(cidr: Cidr, end: EpochMs | null): SetElement {
  return { key: formatCidr(cidr), cidr, end };
}

/** Elements per set, keyed by `SetElement.key`. */
export type SetContents = ReadonlyMap<string, SetElement>;

/** A value for each of the five sets. */
export type PerSet<T> = Record<BanSet, T>;

export function perSet<T>(make: (set: BanSet) => T): PerSet<T> {
  return {
    [BanSet.V4]: make(BanSet.V4),
    [BanSet.V6]: make(BanSet.V6),
    [BanSet.V6_64]: make(BanSet.V6_64),
    [BanSet.V4_NET]: make(BanSet.V4_NET),
    [BanSet.V6_NET]: make(BanSet.V6_NET),
  };
}

/** Element timeout in whole seconds, rounded up so the kernel never lifts a ban early; null = permanent. */
export function timeoutSeconds(end: EpochMs | null, now: EpochMs): number | null {
  if (end === null) return null;
  return Math.max(1, Math.ceil((end - now) / 1000));
}
