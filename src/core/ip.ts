// IP addresses and CIDR prefixes: parsing, canonical text, masking (banmask) and membership sets.
import { isIPv4, isIPv6 } from 'node:net';

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
  // The hot path: a canonical dotted quad, as filters hand over attackers, needs no regex.
  if (v4Int(raw) >= 0) return { family: 4, text: raw };
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
    const n = (v4Int(ip.text) & bits) >>> 0;
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
 * A set of prefixes with fast membership tests. A plain dotted quad (every attacker a filter
 * hands over) is checked by a binary search over merged IPv4 ranges, with no allocation and no
 * cache: a botnet of a million addresses costs no more per address than a few known senders.
 * Other forms are parsed, and cached because ingest asks about the same few senders often.
 */
export class CidrSet {
  readonly #entries: Cidr[] = [];
  /** IPv4 prefixes as ranges [first[i], last[i]]; once merged, sorted, disjoint and apart. */
  #first: number[] = [];
  #last: number[] = [];
  #merged = true;
  /** IPv6 prefixes as their 8 masked groups; few in practice, scanned in turn. */
  readonly #v6: { readonly groups: readonly number[]; readonly prefix: number }[] = [];
  readonly #cache = new Map<string, boolean>();

  constructor(cidrs: Iterable<Cidr> = []) {
    for (const c of cidrs) this.add(c);
  }

  add(c: Cidr): void {
    this.#entries.push(c);
    this.#cache.clear();
    if (c.family === 4) {
      this.#addV4(v4Int(c.address), c.prefix);
      return;
    }
    const groups = v6ToGroups(c.address);
    this.#v6.push({ groups, prefix: c.prefix });
    // IPv4 addresses are IPv4-mapped IPv6 ones too: a prefix over that space holds them.
    if (c.prefix <= 96 && v6Within(MAPPED, groups, c.prefix)) this.#addV4(0, 0);
    else if (c.prefix > 96 && v6Within(groups, MAPPED, 96))
      this.#addV4((((groups[6] ?? 0) << 16) | (groups[7] ?? 0)) >>> 0, c.prefix - 96);
  }

  #addV4(first: number, prefix: number): void {
    this.#first.push(first);
    this.#last.push(first + 2 ** (32 - prefix) - 1);
    this.#merged = false;
  }

  /** Sorts and merges the IPv4 ranges: once after any number of adds, not per add. */
  #merge(): void {
    const order = this.#first
      .map((_, i) => i)
      .sort((a, b) => (this.#first[a] as number) - (this.#first[b] as number));
    const firsts: number[] = [];
    const lasts: number[] = [];
    for (const i of order) {
      const f = this.#first[i] as number;
      const l = this.#last[i] as number;
      const at = lasts.length - 1;
      if (at >= 0 && f <= (lasts[at] as number) + 1) lasts[at] = Math.max(lasts[at] as number, l);
      else {
        firsts.push(f);
        lasts.push(l);
      }
    }
    this.#first = firsts;
    this.#last = lasts;
    this.#merged = true;
  }

  get size(): number {
    return this.#entries.length;
  }

  entries(): readonly Cidr[] {
    return this.#entries;
  }

  /** Whether the address (any text form parseIp accepts) falls in one of the prefixes. */
  has(address: string): boolean {
    if (this.#entries.length === 0) return false;
    const n = v4Int(address);
    if (n >= 0) return this.#hasV4(n);
    const hit = this.#cache.get(address);
    if (hit !== undefined) return hit;
    const ip = parseIp(address);
    const result =
      ip !== null &&
      (ip.family === 4 ? this.#hasV4(v4Int(ip.text)) : this.#hasV6(v6ToGroups(ip.text)));
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(address, result);
    return result;
  }

  #hasV4(n: number): boolean {
    if (!this.#merged) this.#merge();
    const first = this.#first;
    let lo = 0;
    let hi = first.length - 1;
    // The last range starting at or below n is the only one that can hold it.
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((first[mid] as number) <= n) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && n <= (this.#last[hi] as number);
  }

  #hasV6(groups: readonly number[]): boolean {
    for (const e of this.#v6) if (v6Within(groups, e.groups, e.prefix)) return true;
    return false;
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

/**
 * The value of a canonical dotted quad (what node's isIPv4 accepts: four decimal octets ≤ 255,
 * no leading zeros), or -1 for any other text. No allocation: it runs once per failure.
 */
function v4Int(text: string): number {
  const len = text.length;
  if (len < 7 || len > 15) return -1;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return -1; // a leading zero
      octet = octet * 10 + (c - 48);
      if (octet > 255) return -1;
      digits++;
    } else return -1;
  }
  if (digits === 0 || dots !== 3) return -1;
  return value * 256 + octet;
}

/** ::ffff:0.0.0.0, where IPv4-mapped IPv6 addresses start. */
const MAPPED: readonly number[] = [0, 0, 0, 0, 0, 0xffff, 0, 0];

/** Whether the first `prefix` bits of two addresses (8 groups each) are equal. */
function v6Within(groups: readonly number[], net: readonly number[], prefix: number): boolean {
  for (let i = 0; i < 8; i++) {
    const keep = Math.min(Math.max(prefix - i * 16, 0), 16);
    if (keep === 0) return true;
    const mask = (0xffff << (16 - keep)) & 0xffff;
    if ((((groups[i] ?? 0) ^ (net[i] ?? 0)) & mask) !== 0) return false;
  }
  return true;
}

function intToV4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/**
 * Expands IPv6 text (already validated by isIPv6, possibly with a dotted IPv4 tail) to 8 groups.
 * A scan of character codes, no regex or split: it runs for every IPv6 attacker.
 */
function v6ToGroups(text: string): number[] {
  const colon = text.lastIndexOf(':');
  const dotted = text.indexOf('.', colon) > colon;
  const end = dotted ? colon + 1 : text.length;
  const left: number[] = [];
  const right: number[] = [];
  let side = left;
  let value = 0;
  let digits = 0;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 58) {
      if (digits > 0) side.push(value);
      value = 0;
      digits = 0;
      if (text.charCodeAt(i + 1) === 58) {
        side = right;
        i++;
      }
      continue;
    }
    // 0-9, A-F, a-f (isIPv6 let nothing else through)
    value = value * 16 + (c <= 57 ? c - 48 : (c | 32) - 87);
    digits++;
  }
  if (digits > 0) side.push(value);
  if (dotted) {
    const n = v4Int(text.slice(colon + 1));
    side.push(n >>> 16, n & 0xffff);
  }
  const groups = left;
  while (groups.length + right.length < 8) groups.push(0);
  for (const g of right) groups.push(g);
  return groups;
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
  let text = '';
  let separate = false;
  for (let i = 0; i < 8;) {
    if (i === bestStart && bestLen >= 2) {
      text += '::';
      separate = false;
      i += bestLen;
      continue;
    }
    if (separate) text += ':';
    text += (groups[i] ?? 0).toString(16);
    separate = true;
    i++;
  }
  return text;
}
