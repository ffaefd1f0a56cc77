// Renders the whole ban set as one libnftables JSON document that `nft -j -f -` applies atomically and repeatably.
import type { EpochMs } from '../core/clock.js';
import { BAN_SET_SPECS, BAN_SETS } from '../nft/element.js';
import { normaliseBans } from '../nft/normalise.js';
import { renderReplace, Verdict, type Hook, type NftCommand } from '../nft/render.js';
import type { BanEntry, NftMode } from './protocol.js';

export const NftVerdict = Verdict;
export type NftVerdict = Verdict;

export interface NftDocumentOptions {
  readonly mode: NftMode;
  /** The chains by hook (`prerouting` drops before DNAT); empty or absent = those of `mode`. */
  readonly hooks?: readonly Hook[];
  readonly now: EpochMs;
  readonly verdict?: NftVerdict;
}

export interface NftDocument {
  readonly nftables: readonly NftCommand[];
}

export interface RenderReport {
  readonly document: NftDocument;
  /** Elements rendered per family. */
  readonly v4: number;
  readonly v6: number;
  /** Bans left out because a wider banned prefix of the same interval set covers them. */
  readonly covered: number;
  /** Bans left out because they end within the next second (their unban is on its way). */
  readonly ended: number;
}

/**
 * The same table an agent keeps (nft/render.ts), replaced wholesale in one transaction: add (so
 * the delete cannot fail on a first run), delete, then recreate sets, chains and elements.
 * Applying it twice gives the same state, and a table of an older layout cannot make it fail.
 * Element timeouts are the remaining seconds, rounded up, so the kernel lifts each ban on time
 * even if nothing ever talks to this host again; permanent bans carry no timeout.
 */
export function renderNftablesDocument(
  bans: Iterable<BanEntry>,
  options: NftDocumentOptions,
): RenderReport {
  const { sets, covered, expired } = normaliseBans(bans, options.now);
  const ruleset = {
    mode: options.mode,
    hooks: options.hooks ?? [],
    verdict: options.verdict ?? NftVerdict.DROP,
    ports: [],
    udpPorts: [],
    interface: '',
  };
  const counts = { 4: 0, 6: 0 };
  for (const set of BAN_SETS) counts[BAN_SET_SPECS[set].family] += sets[set].size;
  const { nftables } = renderReplace(ruleset, sets, options.now);
  return {
    document: { nftables: [{ metainfo: { json_schema_version: 1 } }, ...nftables] },
    v4: counts[4],
    v6: counts[6],
    covered,
    ended: expired,
  };
}
