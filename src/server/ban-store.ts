// The ban store the config asks for: the embedded LevelDB store, or the shared store on Redis; and how healthy it is.
import type { FleetbanConfig } from '../config/load.js';
import type { Logger } from '../core/logger.js';
import { LevelBanStore } from '../store/level-store.js';
import { RedisBanStore } from '../store/redis/redis-store.js';
import type { BanStore } from '../store/store.js';

/** One line for /healthz and `fleetban status`; `ok` false makes /healthz answer 503. */
export interface StoreHealth {
  readonly ok: boolean;
  readonly text: string;
}

export interface ConfiguredStore {
  readonly store: BanStore;
  /** Where the bans live, for the start log: a folder, or the Redis deployment. */
  readonly where: string;
  health(): StoreHealth;
}

export function storeFromConfig(config: FleetbanConfig, logger: Logger): ConfiguredStore {
  const s = config.store;
  if (s.backend === 'level') {
    const store = new LevelBanStore(s.path, {
      sync: s.sync,
      feedRetention: s.feedRetention,
      logger,
    });
    return {
      store,
      where: s.path,
      health: () => ({ ok: true, text: `${store.stats().activeBans} active bans` }),
    };
  }
  const r = s.redis;
  const store = new RedisBanStore({
    connection: r,
    keyPrefix: r.keyPrefix,
    waitReplicas: r.waitReplicas,
    waitTimeoutMs: r.waitTimeout * 1000,
    feedRetention: s.feedRetention,
    logger,
  });
  return {
    store,
    where: `${store.target}, key prefix ${r.keyPrefix}`,
    health: () => {
      const h = store.health();
      const bans = `${store.stats().activeBans} active bans`;
      return h.connected
        ? { ok: true, text: `${bans} on ${h.target}` }
        : {
            ok: false,
            text: `${h.target} unreachable (${h.lastError ?? 'connecting'}): new bans wait; ${bans} still served`,
          };
    },
  };
}
