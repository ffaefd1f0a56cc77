// Turns wanted bans into a valid nftables interval set: expired and covered entries dropped, so no add overlaps.
import type { EpochMs } from '../core/clock.js';
import { formatCidr, maskAddress, parseCidr, type Cidr, type IpFamily } from '../core/ip.js';
import { setElement, type SetElement } from './element.js';

/** A ban as the enforcer wants it: target text (`198.51.100.7`, `198.51.100.0/24`) and end. */
export interface WantedBan {
  readonly target: string;
  readonly end: EpochMs | null;
  /** The parsed target, when the caller has it already (saves re-parsing 100,000 texts per batch). */
  readonly cidr?: Cidr;
}

export interface NormalisedSets {
  readonly 4: Map<string, SetElement>;
  readonly 6: Map<string, SetElement>;
  /** Entries inside a wider banned prefix: the prefix enforces them. */
  readonly covered: number;
  /** Entries whose end has passed: the server's unban is on its way. */
  readonly expired: number;
  /** Targets that are not an address or prefix. */
  readonly invalid: number;
}

/**
 * nft 1.0.6 refuses a whole batch when an added interval overlaps a present one, so an address
 * inside a banned prefix is left to the prefix (and comes back when the prefix goes).
 * Cost: one mask per entry per distinct prefix length in use (a handful in practice).
 */
export function normaliseBans(bans: Iterable<WantedBan>, now: EpochMs): NormalisedSets {
  const sets = { 4: new Map<string, SetElement>(), 6: new Map<string, SetElement>() };
  const lengths = { 4: new Set<number>(), 6: new Set<number>() };
  let expired = 0;
  let invalid = 0;
  for (const ban of bans) {
    if (ban.end !== null && ban.end <= now) {
      expired++;
      continue;
    }
    const cidr = ban.cidr ?? parseCidr(ban.target);
    if (cidr === null) {
      invalid++;
      continue;
    }
    const element = setElement(cidr, ban.end);
    const set = sets[cidr.family];
    const old = set.get(element.key);
    // The same prefix twice (two spellings): the later end wins, permanent beats everything.
    if (old === undefined || laterEnd(element.end, old.end)) set.set(element.key, element);
    lengths[cidr.family].add(cidr.prefix);
  }
  let covered = 0;
  for (const family of [4, 6] as const) {
    const set = sets[family];
    const prefixLengths = [...lengths[family]].sort((a, b) => a - b);
    if (prefixLengths.length < 2) continue;
    for (const [key, element] of set) {
      if (isCovered(set, family, element, prefixLengths)) {
        set.delete(key);
        covered++;
      }
    }
  }
  return { 4: sets[4], 6: sets[6], covered, expired, invalid };
}

function isCovered(
  set: ReadonlyMap<string, SetElement>,
  family: IpFamily,
  element: SetElement,
  prefixLengths: readonly number[],
): boolean {
  const ip = { family, text: element.cidr.address };
  for (const length of prefixLengths) {
    if (length >= element.cidr.prefix) break;
    if (set.has(formatCidr(maskAddress(ip, length)))) return true;
  }
  return false;
}

function laterEnd(a: EpochMs | null, b: EpochMs | null): boolean {
  if (a === null) return b !== null;
  return b !== null && a > b;
}
