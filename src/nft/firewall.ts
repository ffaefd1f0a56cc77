// The firewall backend contract the agent enforces through: real nft, or an in-memory model for tests.
import type { IpFamily } from '../core/ip.js';
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
   * What the kernel holds in the set of this family, with absolute expiries; null when the
   * fleetban table or set does not exist (never set up, or deleted by hand). Must not change anything.
   */
  list(family: IpFamily): Promise<ListedSet | null>;
}
