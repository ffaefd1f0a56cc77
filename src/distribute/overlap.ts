// Removes bans covered by a wider banned prefix, because nftables interval sets refuse overlapping elements.
import { parseCidr, type Cidr } from '../core/ip.js';
import type { BanEntry } from './protocol.js';

export interface NormalisedBans {
  /** Entries no other entry covers, ordered by family then address. */
  readonly kept: BanEntry[];
  /** Entries dropped because a wider (or equal) prefix covers them. */
  readonly covered: BanEntry[];
  /** Entries whose target is not an address or prefix (never expected from the store). */
  readonly invalid: BanEntry[];
}

interface Ranged {
  readonly entry: BanEntry;
  readonly family: 4 | 6;
  readonly first: bigint;
  readonly last: bigint;
  readonly prefix: number;
}

/**
 * Keeps only the outermost prefixes. CIDR prefixes are either nested or disjoint, so one sort by
 * start address (wider first on a tie) and one sweep find every covered entry: O(n log n).
 * A covered ban is dropped even when it outlives its cover; the next document (or agent update
 * after the cover is lifted) brings it back.
 */
export function normaliseBans(entries: Iterable<BanEntry>): NormalisedBans {
  const ranged: Ranged[] = [];
  const invalid: BanEntry[] = [];
  for (const entry of entries) {
    const cidr = parseCidr(entry.target);
    if (cidr === null || cidr.family !== entry.family) {
      invalid.push(entry);
      continue;
    }
    const [first, last] = rangeOf(cidr);
    ranged.push({ entry, family: cidr.family, first, last, prefix: cidr.prefix });
  }
  ranged.sort(
    (a, b) =>
      a.family - b.family ||
      (a.first < b.first ? -1 : a.first > b.first ? 1 : 0) ||
      a.prefix - b.prefix,
  );
  const kept: BanEntry[] = [];
  const covered: BanEntry[] = [];
  let coverFamily = 0;
  let coverLast = -1n;
  for (const r of ranged) {
    if (r.family === coverFamily && r.first <= coverLast) {
      covered.push(r.entry);
      continue;
    }
    kept.push(r.entry);
    coverFamily = r.family;
    coverLast = r.last;
  }
  return { kept, covered, invalid };
}

/** First and last address of a prefix, as integers. */
export function rangeOf(cidr: Cidr): [bigint, bigint] {
  const bits = cidr.family === 4 ? 32 : 128;
  const first = cidr.family === 4 ? v4ToBigInt(cidr.address) : v6ToBigInt(cidr.address);
  const hostBits = BigInt(bits - cidr.prefix);
  return [first, first + (1n << hostBits) - 1n];
}

function v4ToBigInt(text: string): bigint {
  return text.split('.').reduce((n, part) => (n << 8n) | BigInt(Number(part)), 0n);
}

/** Canonical IPv6 text (as parseCidr yields it, never with a dotted tail) to a 128-bit integer. */
function v6ToBigInt(text: string): bigint {
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? 0 : 8 - left.length - right.length;
  const groups = [...left, ...Array<string>(fill).fill('0'), ...right];
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}
