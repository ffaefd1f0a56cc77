// Moves a table of the older layout (everything in two interval sets) into the hash-set layout without a banned packet passing.
import type { EpochMs } from '../core/clock.js';
import { BanSet, NFT_FAMILY, NFT_TABLE, type PerSet, type SetContents } from './element.js';
import {
  renderAdd,
  renderAddedRules,
  renderEmptyChains,
  renderRuleset,
  renderSets,
  type NftCommand,
  type RulesetOptions,
} from './render.js';

/** The sets the older layout did not have: they can be filled while the old ones still enforce. */
const NEW_SETS = [BanSet.V6_64, BanSet.V4_NET, BanSet.V6_NET] as const;

/** The sets whose names the older layout used for its interval sets. */
const RENAMED_SETS = [BanSet.V4, BanSet.V6] as const;

/**
 * Two transactions, each all or nothing. Measured on Linux 6.18 with nft 1.0.6: in a transaction
 * that replaces the table, an element of a newly created `interval` set misses a packet or so
 * around the commit (the hash sets do not), so the one-transaction replace let a banned prefix
 * through. Hence:
 *
 * 1. Adds the sets that are new (`banned_v6_64`, `banned_v4_net`, `banned_v6_net`) with their
 *    elements and rules beside the old ones: nothing removed, so the old sets still drop all.
 * 2. Switches in one transaction: empties the chains, deletes the interval `banned_v4` /
 *    `banned_v6`, declares them again as hash sets with their addresses, and rebuilds the rules.
 *    The prefixes are already matched by the sets of step 1, and a hash set's elements become
 *    visible with the rules that use them.
 *
 * `sets` holds the older table's elements sorted into the new sets (with their remaining time).
 */
export function renderMigration(
  options: RulesetOptions,
  sets: Readonly<PerSet<SetContents>>,
  now: EpochMs,
): [NftCommand[], NftCommand[]] {
  const addNew: NftCommand[] = [
    { add: { table: { family: NFT_FAMILY, name: NFT_TABLE } } },
    ...renderSets(NEW_SETS),
    ...renderAddedRules(options, NEW_SETS),
    ...NEW_SETS.flatMap((set) => renderAdd(set, [...sets[set].values()], now)),
  ];
  const swap: NftCommand[] = [
    { add: { table: { family: NFT_FAMILY, name: NFT_TABLE } } },
    ...renderEmptyChains(),
    ...RENAMED_SETS.map((name) => ({
      delete: { set: { family: NFT_FAMILY, table: NFT_TABLE, name } },
    })),
    ...renderRuleset(options, false),
    ...RENAMED_SETS.flatMap((set) => renderAdd(set, [...sets[set].values()], now)),
  ];
  return [addNew, swap];
}
