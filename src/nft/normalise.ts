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
  const sorter = new SetSorter(now);
  for (const ban of bans) sorter.add(ban);
  return sorter.finish();
}

/**
 * normaliseBans one ban at a time, for a caller that sends the hash sets' elements on while it
 * sorts the rest (a large first fill): what `add` returns is final for a hash set; the interval
 * sets are only final after `finish`.
 */
export class SetSorter {
  readonly #now: EpochMs;
  readonly #sets = perSet(() => new Map<string, SetElement>());
  readonly #lengths = { 4: new Set<number>(), 6: new Set<number>() };
  #expired = 0;
  #invalid = 0;

  constructor(now: EpochMs) {
    this.#now = now;
  }

  /** Sorts one ban in; its element when the set took it (new, or a later end than the same prefix spelt another way), else null. */
  add(ban: WantedBan): SetElement | null {
    if (ban.end !== null && ban.end <= this.#now) {
      this.#expired++;
      return null;
    }
    const cidr = ban.cidr ?? parseCidr(ban.target);
    if (cidr === null) {
      this.#invalid++;
      return null;
    }
    const element = setElement(cidr, ban.end);
    const name = banSetOf(cidr);
    const set = this.#sets[name];
    const old = set.get(element.key);
    if (BAN_SET_SPECS[name].interval) this.#lengths[cidr.family].add(cidr.prefix);
    // The same prefix twice (two spellings): the later end wins, permanent beats everything.
    if (old !== undefined && !laterEnd(element.end, old.end)) return null;
    set.set(element.key, element);
    return element;
  }

  /** Leaves out interval elements inside a wider one; the sorter is done with. */
  finish(): NormalisedSets {
    const sets = this.#sets;
    let covered = 0;
    for (const name of [BanSet.V4_NET, BanSet.V6_NET]) {
      const set = sets[name];
      const family = BAN_SET_SPECS[name].family;
      const prefixLengths = [...this.#lengths[family]].sort((a, b) => a - b);
      if (prefixLengths.length < 2) continue;
      for (const [key, element] of set) {
        if (isCovered(set, family, element, prefixLengths)) {
          set.delete(key);
          covered++;
        }
      }
    }
    return { sets, covered, expired: this.#expired, invalid: this.#invalid };
  }
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
