// Renders the whole ban set as one libnftables JSON document that `nft -j -f -` applies atomically and repeatably.
import type { EpochMs } from '../core/clock.js';
import { parseCidr } from '../core/ip.js';
import { normaliseBans } from './overlap.js';
import { NftMode, type BanEntry } from './protocol.js';

export const NFT_TABLE = 'fleetban';
export const NFT_FAMILY = 'inet';
export const NFT_SET_V4 = 'banned_v4';
export const NFT_SET_V6 = 'banned_v6';
/** Before the usual filter chains (priority 0), so other rules cannot accept a banned source first. */
export const NFT_PRIORITY = -10;

export const NftVerdict = { DROP: 'drop', REJECT: 'reject' } as const;
export type NftVerdict = (typeof NftVerdict)[keyof typeof NftVerdict];

export interface NftDocumentOptions {
  readonly mode: NftMode;
  readonly now: EpochMs;
  readonly verdict?: NftVerdict;
}

export interface NftDocument {
  readonly nftables: readonly Record<string, unknown>[];
}

export interface RenderReport {
  readonly document: NftDocument;
  /** Elements rendered per family. */
  readonly v4: number;
  readonly v6: number;
  /** Bans left out because a wider banned prefix covers them. */
  readonly covered: number;
  /** Bans left out because they end within the next second (their unban is on its way). */
  readonly ended: number;
}

const table = { family: NFT_FAMILY, name: NFT_TABLE } as const;

/**
 * The document replaces the table wholesale in one transaction: add (so the delete cannot fail on
 * a first run), delete, then recreate sets, chains and elements. Applying it twice gives the same
 * state, and a set left with other flags by an older version cannot make it fail.
 * Element timeouts are the remaining seconds, rounded up, so the kernel lifts each ban on time
 * even if nothing ever talks to this host again; permanent bans carry no timeout.
 */
export function renderNftablesDocument(
  bans: Iterable<BanEntry>,
  options: NftDocumentOptions,
): RenderReport {
  const { kept, covered } = normaliseBans(bans);
  const v4: unknown[] = [];
  const v6: unknown[] = [];
  let ended = 0;
  for (const ban of kept) {
    let timeout: number | undefined;
    if (ban.end !== null) {
      timeout = Math.ceil((ban.end - options.now) / 1000);
      if (timeout < 1) {
        ended++;
        continue;
      }
    }
    const element = elementOf(ban, timeout);
    if (element === null) continue;
    (ban.family === 4 ? v4 : v6).push(element);
  }

  const verdict = options.verdict ?? NftVerdict.DROP;
  const chains: { name: string; hook: string }[] = [];
  if (options.mode !== NftMode.GATEWAY) chains.push({ name: 'input', hook: 'input' });
  if (options.mode !== NftMode.HOST) chains.push({ name: 'forward', hook: 'forward' });

  const commands: Record<string, unknown>[] = [
    { metainfo: { json_schema_version: 1 } },
    { add: { table } },
    { delete: { table } },
    { add: { table } },
    { add: { set: setOf(NFT_SET_V4, 'ipv4_addr') } },
    { add: { set: setOf(NFT_SET_V6, 'ipv6_addr') } },
  ];
  for (const c of chains) {
    commands.push({
      add: {
        chain: {
          family: NFT_FAMILY,
          table: NFT_TABLE,
          name: c.name,
          type: 'filter',
          hook: c.hook,
          prio: NFT_PRIORITY,
          policy: 'accept',
        },
      },
    });
    commands.push(ruleOf(c.name, 'ip', NFT_SET_V4, verdict));
    commands.push(ruleOf(c.name, 'ip6', NFT_SET_V6, verdict));
  }
  // nft refuses an element command with an empty list.
  if (v4.length > 0) commands.push(elementsOf(NFT_SET_V4, v4));
  if (v6.length > 0) commands.push(elementsOf(NFT_SET_V6, v6));
  return {
    document: { nftables: commands },
    v4: v4.length,
    v6: v6.length,
    covered: covered.length,
    ended,
  };
}

function setOf(name: string, type: string): Record<string, unknown> {
  return { family: NFT_FAMILY, table: NFT_TABLE, name, type, flags: ['interval', 'timeout'] };
}

function ruleOf(
  chain: string,
  protocol: 'ip' | 'ip6',
  set: string,
  verdict: NftVerdict,
): Record<string, unknown> {
  return {
    add: {
      rule: {
        family: NFT_FAMILY,
        table: NFT_TABLE,
        chain,
        expr: [
          {
            match: {
              op: '==',
              left: { payload: { protocol, field: 'saddr' } },
              right: `@${set}`,
            },
          },
          verdict === NftVerdict.REJECT ? { reject: null } : { drop: null },
        ],
      },
    },
  };
}

function elementsOf(set: string, elem: unknown[]): Record<string, unknown> {
  return { add: { element: { family: NFT_FAMILY, table: NFT_TABLE, name: set, elem } } };
}

/** A single address as plain text, a wider prefix as `{prefix}`; wrapped in `{elem}` for a timeout. */
function elementOf(ban: BanEntry, timeout: number | undefined): unknown {
  const cidr = parseCidr(ban.target);
  if (cidr === null) return null;
  const full = cidr.family === 4 ? 32 : 128;
  const val =
    cidr.prefix === full ? cidr.address : { prefix: { addr: cidr.address, len: cidr.prefix } };
  return timeout === undefined ? val : { elem: { val, timeout } };
}
