// Reads the elements of `nft -j list set inet fleetban SET` back into SetElements.
import type { EpochMs } from '../core/clock.js';
import { parseCidr } from '../core/ip.js';
import {
  BAN_SET_SPECS,
  banSetOf,
  cidrOfValue,
  setElement,
  type BanSet,
  type SetElement,
} from './element.js';

export interface ListedSet {
  /** Every element read, keyed by SetElement.key; in a set of the older layout also those now kept elsewhere. */
  readonly elements: Map<string, SetElement>;
  /** Elements fleetban never writes to this set (ranges, concatenations, other kinds): edited by hand. */
  readonly foreign: number;
  /** The set carries the `interval` flag: in `banned_v4` / `banned_v6`, the older layout. */
  readonly interval: boolean;
}

/**
 * Parses the JSON that `nft -j list set` prints. `expires` (whole seconds left, rounded down by
 * nft) becomes an absolute end one second later, so fleetban never believes an element gone
 * while the kernel still holds it. Throws on output that is not nft's list format at all.
 * A hash set of the layout the set's name says holds only its own kind; an `interval` set named
 * `banned_v4` / `banned_v6` is the older layout, which held every prefix of its family: its
 * elements are read whole, for the migration to carry them over.
 */
export function parseListedSet(json: string, set: BanSet, now: EpochMs): ListedSet {
  const doc = JSON.parse(json) as unknown;
  const items = isRecord(doc) && Array.isArray(doc.nftables) ? (doc.nftables as unknown[]) : null;
  if (items === null) throw new Error('not an nftables JSON document');
  const elements = new Map<string, SetElement>();
  let foreign = 0;
  let interval = false;
  for (const item of items) {
    if (!isRecord(item) || !isRecord(item.set)) continue;
    const flags = item.set.flags;
    interval ||= Array.isArray(flags) && flags.includes('interval');
    const elem = item.set.elem;
    if (!Array.isArray(elem)) continue;
    for (const raw of elem) {
      const element = parseElement(raw, set, now);
      if (element === null) foreign++;
      else elements.set(element.key, element);
    }
  }
  const older = interval && !BAN_SET_SPECS[set].interval;
  if (!older) {
    for (const [key, e] of elements) {
      if (banSetOf(e.cidr) === set) continue;
      elements.delete(key);
      foreign++;
    }
  }
  return { elements, foreign, interval };
}

function parseElement(raw: unknown, set: BanSet, now: EpochMs): SetElement | null {
  let val: unknown = raw;
  let end: EpochMs | null = null;
  if (isRecord(raw) && isRecord(raw.elem)) {
    val = raw.elem.val;
    const { expires, timeout } = raw.elem;
    const left =
      typeof expires === 'number' ? expires : typeof timeout === 'number' ? timeout : null;
    if (left !== null) end = now + (left + 1) * 1000;
  }
  let cidr = null;
  if (typeof val === 'string') cidr = cidrOfValue(val, set);
  else if (isRecord(val) && isRecord(val.prefix)) {
    const { addr, len } = val.prefix;
    if (typeof addr === 'string' && typeof len === 'number') cidr = parseCidr(`${addr}/${len}`);
  }
  if (cidr === null || cidr.family !== BAN_SET_SPECS[set].family) return null;
  return setElement(cidr, end);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
