// IP addresses and CIDR prefixes: parsing, canonical text, masking (banmask) and membership sets.
import { BlockList, isIPv4, isIPv6 } from 'node:net';

export type IpFamily = 4 | 6;

/** A canonical address: IPv4 dotted quad, or RFC 5952 IPv6 text. IPv4-mapped IPv6 becomes IPv4. */
export interface IpAddress {
  readonly family: IpFamily;
  readonly text: string;
}

/** A network prefix such as 198.51.100.0/24 or 2001:db8::/64; a single address has the full length. */
export interface Cidr {
  readonly family: IpFamily;
  /** The network address, canonical, host bits cleared. */
  readonly address: string;
  readonly prefix: number;
}

/** Parses an address; strips brackets and an IPv6 zone; maps ::ffff:a.b.c.d to IPv4. */
export function parseIp(raw: string): IpAddress | null {
  let text = raw.trim();
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  // node's isIPv4 refuses leading zeros, so an accepted dotted quad is already canonical.
  if (isIPv4(text)) return { family: 4, text };
  if (!isIPv6(text)) return null;
  const groups = v6ToGroups(text);
  // ::ffff:c000:201 is as much IPv4-mapped as ::ffff:192.0.2.1: one attacker, one ban key.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return { family: 4, text: intToV4((((groups[6] ?? 0) << 16) | (groups[7] ?? 0)) >>> 0) };
  }
  return { family: 6, text: groupsToV6(groups) };
}

/** Parses `a.b.c.d`, `a.b.c.d/n`, `v6`, `v6/n`. Host bits are cleared. */
export function parseCidr(raw: string): Cidr | null {
  const slash = raw.indexOf('/');
  const addressText = slash < 0 ? raw : raw.slice(0, slash);
  const ip = parseIp(addressText);
  if (ip === null) return null;
  const max = ip.family === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = raw.slice(slash + 1).trim();
    if (!/^\d{1,3}$/.test(p)) return null;
    prefix = Number(p);
    // An IPv4-mapped address written in IPv6 form counts its prefix in IPv6 bits (/120 = IPv4 /24).
    if (ip.family === 4 && addressText.includes(':')) {
      if (prefix < 96 || prefix > 128) return null;
      prefix -= 96;
    }
    if (prefix > max) return null;
  }
  return maskAddress(ip, prefix);
}

/** The prefix of `prefix` bits that contains `ip` (fail2ban's banmask; IPv6 /64 by default). */
export function maskAddress(ip: IpAddress, prefix: number): Cidr {
  // The common case on the hot path (banmask /32 and /128): nothing to clear.
  if (prefix >= (ip.family === 4 ? 32 : 128)) {
    return { family: ip.family, address: ip.text, prefix: ip.family === 4 ? 32 : 128 };
  }
  if (ip.family === 4) {
    const bits = prefix >= 32 ? 0xffffffff : prefix <= 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    const n = (v4ToInt(ip.text) & bits) >>> 0;
    return { family: 4, address: intToV4(n), prefix: Math.min(Math.max(prefix, 0), 32) };
  }
  const p = Math.min(Math.max(prefix, 0), 128);
  const groups = v6ToGroups(ip.text);
  for (let i = 0; i < 8; i++) {
    const keep = Math.min(Math.max(p - i * 16, 0), 16);
    const mask = keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff;
    groups[i] = (groups[i] ?? 0) & mask;
  }
  return { family: 6, address: groupsToV6(groups), prefix: p };
}

/** `198.51.100.7` for a single address, `198.51.100.0/24` for a prefix. */
export function formatCidr(c: Cidr): string {
  const full = c.family === 4 ? 32 : 128;
  return c.prefix === full ? c.address : `${c.address}/${c.prefix}`;
}

/** True when `c` is one address rather than a wider prefix. */
export function isSingleAddress(c: Cidr): boolean {
  return c.prefix === (c.family === 4 ? 32 : 128);
}

/** Whether prefix `outer` contains all of `inner`. */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || outer.prefix > inner.prefix) return false;
  const masked = maskAddress({ family: inner.family, text: inner.address }, outer.prefix);
  return masked.address === outer.address;
}

/** Whether two prefixes share any address (CIDR prefixes are either nested or disjoint). */
export function cidrOverlaps(a: Cidr, b: Cidr): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

/**
 * The widest prefix around `attacker`, no wider than `target`, that overlaps none of `keep`:
 * `target` itself when nothing in `keep` touches it, a longer prefix when one of them lies inside
 * it, and null when the attacker's own address is in `keep` (no ban can spare it). `target` must
 * contain `attacker`.
 */
export function narrowAround(
  target: Cidr,
  attacker: IpAddress,
  keep: readonly Cidr[],
): Cidr | null {
  const full = attacker.family === 4 ? 32 : 128;
  for (let prefix = target.prefix; prefix <= full; prefix++) {
    const block = prefix === target.prefix ? target : maskAddress(attacker, prefix);
    if (!keep.some((k) => cidrOverlaps(k, block))) return block;
  }
  return null;
}

/**
 * A set of prefixes with fast membership tests; lookups of the same address text are cached,
 * because ingest asks about the same few senders millions of times.
 */
export class CidrSet {
  readonly #list = new BlockList();
  readonly #entries: Cidr[] = [];
  readonly #cache = new Map<string, boolean>();

  constructor(cidrs: Iterable<Cidr> = []) {
    for (const c of cidrs) this.add(c);
  }

  add(c: Cidr): void {
    this.#list.addSubnet(c.address, c.prefix, c.family === 4 ? 'ipv4' : 'ipv6');
    this.#entries.push(c);
    this.#cache.clear();
  }

  get size(): number {
    return this.#entries.length;
  }

  entries(): readonly Cidr[] {
    return this.#entries;
  }

  /** Whether the address (any text form parseIp accepts) falls in one of the prefixes. */
  has(address: string): boolean {
    const hit = this.#cache.get(address);
    if (hit !== undefined) return hit;
    const ip = parseIp(address);
    const result = ip !== null && this.#list.check(ip.text, ip.family === 4 ? 'ipv4' : 'ipv6');
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(address, result);
    return result;
  }
}

/** Parses a list of CIDR texts; returns the offending text on the first error. */
export function parseCidrList(items: readonly string[]): { ok: Cidr[] } | { bad: string } {
  const ok: Cidr[] = [];
  for (const item of items) {
    const c = parseCidr(item);
    if (c === null) return { bad: item };
    ok.push(c);
  }
  return { ok };
}

function v4ToInt(text: string): number {
  const [a = 0, b = 0, c = 0, d = 0] = text.split('.').map(Number);
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

function intToV4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Expands IPv6 text (already validated by isIPv6, possibly with a dotted IPv4 tail) to 8 groups. */
function v6ToGroups(text: string): number[] {
  let t = text.toLowerCase();
  const dotted = /(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(t);
  if (dotted?.[1] !== undefined) {
    const n = v4ToInt(dotted[1]);
    t = `${t.slice(0, -dotted[1].length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head = '', tail] = t.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array<string>(fill).fill('0'), ...right].map((g) => parseInt(g, 16));
}

/** RFC 5952 text: lowercase, no leading zeros, the longest run (≥ 2) of zero groups as `::`. */
function groupsToV6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLen).join(':');
  return `${left}::${right}`;
}
