// Reads the elements of `nft -j list set inet fleetban banned_vN` back into SetElements.
import type { EpochMs } from '../core/clock.js';
import { parseCidr, type IpFamily } from '../core/ip.js';
import { setElement, type SetElement } from './element.js';

export interface ListedSet {
  readonly elements: Map<string, SetElement>;
  /** Elements fleetban never writes (ranges, concatenations): someone edited the set by hand. */
  readonly foreign: number;
}

/**
 * Parses the JSON that `nft -j list set` prints. `expires` (whole seconds left, rounded down by
 * nft) becomes an absolute end one second later, so fleetban never believes an element gone
 * while the kernel still holds it. Throws on output that is not nft's list format at all.
 */
export function parseListedSet(json: string, family: IpFamily, now: EpochMs): ListedSet {
  const doc = JSON.parse(json) as unknown;
  const items = isRecord(doc) && Array.isArray(doc.nftables) ? (doc.nftables as unknown[]) : null;
  if (items === null) throw new Error('not an nftables JSON document');
  const elements = new Map<string, SetElement>();
  let foreign = 0;
  for (const item of items) {
    if (!isRecord(item) || !isRecord(item.set)) continue;
    const elem = item.set.elem;
    if (!Array.isArray(elem)) continue;
    for (const raw of elem) {
      const element = parseElement(raw, family, now);
      if (element === null) foreign++;
      else elements.set(element.key, element);
    }
  }
  return { elements, foreign };
}

function parseElement(raw: unknown, family: IpFamily, now: EpochMs): SetElement | null {
  let val: unknown = raw;
  let end: EpochMs | null = null;
  if (isRecord(raw) && isRecord(raw.elem)) {
    val = raw.elem.val;
    const { expires, timeout } = raw.elem;
    const left =
      typeof expires === 'number' ? expires : typeof timeout === 'number' ? timeout : null;
    if (left !== null) end = now + (left + 1) * 1000;
  }
  let text: string | null = null;
  if (typeof val === 'string') text = val;
  else if (isRecord(val) && isRecord(val.prefix)) {
    const { addr, len } = val.prefix;
    if (typeof addr === 'string' && typeof len === 'number') text = `${addr}/${len}`;
  }
  if (text === null) return null;
  const cidr = parseCidr(text);
  if (cidr === null || cidr.family !== family) return null;
  return setElement(cidr, end);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
