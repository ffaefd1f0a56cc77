// Renders the whole ban set as one libnftables JSON document that `nft -j -f -` applies atomically and repeatably.
import type { EpochMs } from '../core/clock.js';
import { BAN_SET_SPECS, BAN_SETS, BanSet } from '../nft/element.js';
import { normaliseBans } from '../nft/normalise.js';
import {
  hashSetElementText,
  renderAdd,
  renderAddText,
  renderReplace,
  renderRuleset,
  Verdict,
  type Hook,
  type NftCommand,
} from '../nft/render.js';
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

/** Elements per `add element` command in the streamed document. */
const ELEMENTS_PER_COMMAND = 5_000;

/** The hash set a ban of this canonical target goes to, or null for an interval set. */
function hashSetOf(target: string): BanSet | null {
  const slash = target.indexOf('/');
  const v6 = target.includes(':');
  if (slash === -1) return v6 ? BanSet.V6 : BanSet.V4;
  return v6 && target.endsWith('/64') ? BanSet.V6_64 : null;
}

/** The active bans as the streamed document reads them: targets, and when each ends. */
export interface BanSource {
  /** Canonical targets (formatCidr), withheld ones left out. */
  targets(): Iterable<string>;
  /** When the ban of `target` ends (null: permanent; undefined: no longer banned). */
  endOf(target: string): EpochMs | null | undefined;
}

/**
 * The same document as renderNftablesDocument, as text a piece at a time, for any number of
 * bans: the targets are walked once and each element is written as text straight away, so a
 * million bans cost the server a few chunks of memory, not the document nor an object per ban.
 * Elements go out in `add element` commands of ELEMENTS_PER_COMMAND each (one transaction all
 * the same); the interval sets, which hold the rare other prefixes, are normalised as a whole.
 */
export function* renderNftablesText(
  bans: BanSource,
  options: NftDocumentOptions,
): Generator<string> {
  const now = options.now;
  const ruleset = {
    mode: options.mode,
    hooks: options.hooks ?? [],
    verdict: options.verdict ?? NftVerdict.DROP,
    ports: [],
    udpPorts: [],
    interface: '',
  };
  yield `{"nftables":[${JSON.stringify({ metainfo: { json_schema_version: 1 } })}`;
  for (const command of renderRuleset(ruleset, true)) yield `,${JSON.stringify(command)}`;
  // One walk: each hash set fills its own batch, sent as an `add element` once full (commands of
  // different sets may follow each other in any order within the transaction).
  const batches = new Map<BanSet, string[]>([
    [BanSet.V4, []],
    [BanSet.V6, []],
    [BanSet.V6_64, []],
  ]);
  const nets: { target: string; end: EpochMs | null }[] = [];
  for (const target of bans.targets()) {
    const end = bans.endOf(target);
    if (end === undefined) continue;
    const set = hashSetOf(target);
    if (set === null) {
      nets.push({ target, end });
      continue;
    }
    if (end !== null && end <= now) continue;
    const batch = batches.get(set) ?? [];
    batch.push(hashSetElementText(set === BanSet.V6_64 ? target.slice(0, -3) : target, end, now));
    if (batch.length === ELEMENTS_PER_COMMAND) {
      yield `,${renderAddText(set, batch)}`;
      batch.length = 0;
    }
  }
  for (const [set, batch] of batches) if (batch.length > 0) yield `,${renderAddText(set, batch)}`;
  const { sets } = normaliseBans(nets, now);
  for (const set of [BanSet.V4_NET, BanSet.V6_NET])
    for (const command of renderAdd(set, [...sets[set].values()], now))
      yield `,${JSON.stringify(command)}`;
  yield ']}\n';
}
