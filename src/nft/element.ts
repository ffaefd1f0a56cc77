// One element of a fleetban nftables set: a prefix (or single address) and when the kernel drops it.
import type { EpochMs } from '../core/clock.js';
import { formatCidr, type Cidr, type IpFamily } from '../core/ip.js';

/** The table and set names every fleetban enforcer shares (agents and `GET /v1/nftables`). */
export const NFT_TABLE = 'fleetban';
export const NFT_FAMILY = 'inet';
export const SET_OF_FAMILY: Readonly<Record<IpFamily, string>> = { 4: 'banned_v4', 6: 'banned_v6' };

/**
 * A set element. `end` is when the element stops matching: the ban's end for a wanted element,
 * the kernel's expiry for a listed one; null for a permanent element (no timeout).
 */
export interface SetElement {
  /** formatCidr(cidr): the identity of the element within its set. */
  readonly key: string;
  readonly cidr: Cidr;
  readonly end: EpochMs | null;
}

export function setElement(cidr: Cidr, end: EpochMs | null): SetElement {
  return { key: formatCidr(cidr), cidr, end };
}

/** Elements per set, keyed by `SetElement.key`. */
export type SetContents = ReadonlyMap<string, SetElement>;

/** What both sets hold (or should hold). */
export interface FamilySets {
  readonly 4: SetContents;
  readonly 6: SetContents;
}

/** Element timeout in whole seconds, rounded up so the kernel never lifts a ban early; null = permanent. */
export function timeoutSeconds(end: EpochMs | null, now: EpochMs): number | null {
  if (end === null) return null;
  return Math.max(1, Math.ceil((end - now) / 1000));
}
