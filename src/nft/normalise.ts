// Sorts wanted bans into the fleetban sets: expired entries dropped, and no interval element inside another.
import type { EpochMs } from '../core/clock.js';
import { formatCidr, maskAddress, parseCidr, type Cidr, type IpFamily } from '../core/ip.js';
import {
  BAN_SET_SPECS,
  BanSet,
  banSetOf,
  perSet,
  setElement,
  type PerSet,
  type SetElement,
} from './element.js';

/** A ban as the enforcer wants it: target text (`198.51.100.7`, `198.51.100.0/24`) and end. */
export interface WantedBan {
  readonly target: string;
  readonly end: EpochMs | null;
  /** The parsed target, when the caller has it already (saves re-parsing 100,000 texts per batch). */
  readonly cidr?: Cidr;
}

export interface NormalisedSets {
  readonly sets: PerSet<Map<string, SetElement>>;
  /** Prefixes inside a wider banned prefix of the same interval set: the wider one enforces them. */
  readonly covered: number;
  /** Entries whose end has passed: the server's unban is on its way. */
  readonly expired: number;
  /** Targets that are not an address or prefix. */
  readonly invalid: number;
}

/**
 * Each ban goes to the set of its kind (element.ts). Hash sets cannot overlap, and an address in
 * `banned_v4` inside a prefix of `banned_v4_net` is just enforced twice. Within an interval set,
 * nft 1.0.6 refuses a whole batch when an added interval overlaps a present one, so a prefix
 * inside a wider banned one is left to the wider one (and comes back when that goes).
 * Cost: one mask per interval element per distinct prefix length in use (a handful in practice).
 */
export function normaliseBans(bans: Iterable<WantedBan>, now: EpochMs): NormalisedSets {
  const sets = perSet(() => new Map<string, SetElement>());
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
    const name = banSetOf(cidr);
    const set = sets[name];
    const old = set.get(element.key);
    // The same prefix twice (two spellings): the later end wins, permanent beats everything.
    if (old === undefined || laterEnd(element.end, old.end)) set.set(element.key, element);
    if (BAN_SET_SPECS[name].interval) lengths[cidr.family].add(cidr.prefix);
  }
  let covered = 0;
  for (const name of [BanSet.V4_NET, BanSet.V6_NET]) {
    const set = sets[name];
    const family = BAN_SET_SPECS[name].family;
    const prefixLengths = [...lengths[family]].sort((a, b) => a - b);
    if (prefixLengths.length < 2) continue;
    for (const [key, element] of set) {
      if (isCovered(set, family, element, prefixLengths)) {
        set.delete(key);
        covered++;
      }
    }
  }
  return { sets, covered, expired, invalid };
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
