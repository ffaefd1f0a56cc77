// The firewall backend contract the agent enforces through: real nft, or an in-memory model for tests.
import type { BanSet } from './element.js';
import type { ListedSet } from './parse-list.js';
import type { NftDocument } from './render.js';

export interface Firewall {
  /**
   * Applies one batch as one transaction: all of it or, on any error, none of it. Rejects with a
   * FleetbanError NFT_FAILED carrying nft's message. Must not retry: the caller re-lists and
   * re-diffs, because a failed batch means its picture of the kernel was wrong.
   */
  apply(doc: NftDocument): Promise<void>;

  /**
   * What the kernel holds in this set, with absolute expiries (parseListedSet); null when the
   * fleetban table or the set does not exist (never set up, an older layout without it, or
   * deleted by hand). Must not change anything.
   */
  list(set: BanSet): Promise<ListedSet | null>;
}
