// What distribution must never hand to a firewall: the server's never-ban list, as the agent API sees it.
import type { IpAddress } from '../core/ip.js';

/**
 * The server's never-ban list. Bans already in the store may cover one of its addresses (an old
 * store, a newly added admin network, an agent that connects from a new address): the agent API
 * leaves such bans out of every snapshot, change and nftables document instead of trusting that
 * the store holds none.
 */
export interface Withhold {
  /** Whether a ban on this canonical target (formatCidr text) covers a never-ban address. */
  covers(target: string): boolean;
  /**
   * Calls `listener` after every change of the list; returns the unsubscribe function. `added`
   * names the single addresses the change added (an agent's new peer address), so that only bans
   * containing them need a look; null means anything may have changed (a reload).
   */
  onChange(listener: (added: readonly IpAddress[] | null) => void): () => void;
}
