// What follows from each stored ban and unban, beside mail and agents: the jails' counting and the expiry timer.
import type { Change } from '../core/types.js';
import type { JailEngine } from '../jails/engine.js';
import type { BanStore } from '../store/store.js';
import { EXPIRED } from './ban-manager.js';

export interface BanReactionDeps {
  readonly store: Pick<BanStore, 'subscribe'>;
  readonly engine: Pick<JailEngine, 'forget' | 'processBan'>;
  /** Called after changes that stored a ban (the expiry timer may need to fire sooner). */
  readonly onBanStored?: () => void;
  /**
   * Whether this server counts bans for the jails that read them (recidive). On a shared store
   * every server sees every ban: only the leader counts, or each would ask for the same ban.
   * Absent: always.
   */
  readonly countsBans?: () => boolean;
}

/**
 * Follows the store's change feed, as the mailer and the agents do, so that every reaction to a
 * ban has one path whoever made it (a jail, the brake's release, an administrator). Returns the
 * function that stops following.
 */
export function followBanChanges(deps: BanReactionDeps): () => void {
  const { engine } = deps;
  return deps.store.subscribe((changes: readonly Change[]) => {
    let banned = false;
    for (const c of changes) {
      if (c.kind === 'ban') {
        // The attacker starts afresh; the jails that count bans (recidive) keep counting.
        engine.forget(c.ban.target, undefined, true);
        banned = true;
      } else if (c.reason !== EXPIRED) {
        // An administrator's unban also clears the counting, or the next failure would ban again.
        engine.forget(c.target, undefined, true);
      }
    }
    if (banned) deps.onBanStored?.();
    // Recidive reads fleetban's own decisions from the store, never ban lines from the network.
    // Counted once the write that made the ban has settled: a recidive ban of the same target
    // asked for earlier would find that write still pending and be dropped as a duplicate.
    if (deps.countsBans?.() === false) return;
    setImmediate(() => {
      for (const c of changes) if (c.kind === 'ban') engine.processBan(c.ban);
    });
  });
}
