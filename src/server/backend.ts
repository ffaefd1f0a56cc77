// What the config's store.backend makes: the ban store, the token directories beside it (agents, feeds, dashboard users), and their health.
import { join } from 'node:path';
import type { Clock } from '../core/clock.js';
import type { FleetbanConfig } from '../config/load.js';
import type { Logger } from '../core/logger.js';
import { AgentRegistry, type AgentDirectory } from '../distribute/agent-registry.js';
import { RedisAgentRegistry } from '../distribute/redis-agent-registry.js';
import { RedisTokenRegistry } from '../distribute/redis-token-registry.js';
import { FEED_TOKENS, TokenRegistry, type TokenDirectory } from '../distribute/token-registry.js';
import { RedisUserRegistry } from '../dashboard/redis-users.js';
import { UserRegistry, type UserDirectory } from '../dashboard/users.js';
import { LevelBanStore } from '../store/level-store.js';
import { createRedisClient, type RedisClient } from '../store/redis/client.js';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { RedisBanStore, type RedisStoreHealth } from '../store/redis/redis-store.js';
import type { BanStore } from '../store/store.js';

/** One line for /healthz and `fleetban status`; `ok` false makes /healthz answer 503. */
export interface StoreHealth {
  readonly ok: boolean;
  readonly text: string;
}

export interface Backend {
  readonly store: BanStore;
  /** Who may follow the feed: agents.json beside LevelDB, or a hash every Redis server shares. */
  readonly agents: AgentDirectory;
  /** Read-only tokens for the gateway feeds: feeds.json beside LevelDB, or a hash on Redis. */
  readonly feeds: TokenDirectory;
  /** Who may sign in to the dashboard: users.json beside LevelDB, or a hash on Redis. */
  readonly users: UserDirectory;
  /** Where the bans live, for the start log: a folder, or the Redis deployment. */
  readonly where: string;
  health(): StoreHealth;
  /** The connection and names the shared parts use (heartbeats); null on the level store. */
  readonly shared: SharedRedis | null;
  /** The Redis store's own health figures; null on the level store. */
  readonly redisHealth: (() => RedisStoreHealth) | null;
  /** Closes what the backend opened beside the store (the store closes itself). */
  close(): Promise<void>;
}

export interface SharedRedis {
  readonly client: RedisClient;
  readonly keyPrefix: string;
  /** This server in the deployment: the outbox lease and the heartbeats name it so. */
  readonly serverId: string;
}

export interface BackendDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Told of each agent another server removed (shared directory only). */
  readonly onAgentRemoved: (name: string) => void;
  /** Told of each dashboard user another server removed (shared directory only). */
  readonly onUserRemoved: (name: string) => void;
}

export function backendFromConfig(config: FleetbanConfig, deps: BackendDeps): Backend {
  const s = config.store;
  const storeLogger = deps.logger.child({ part: 'store' });
  if (s.backend === 'level') {
    const store = new LevelBanStore(s.path, {
      sync: s.sync,
      feedRetention: s.feedRetention,
      logger: storeLogger,
    });
    return {
      store,
      // Next to the LevelDB files: one folder to back up, one owner, one set of permissions.
      agents: new AgentRegistry(join(s.path, 'agents.json'), deps.clock),
      feeds: new TokenRegistry(join(s.path, 'feeds.json'), deps.clock, FEED_TOKENS),
      users: new UserRegistry(join(s.path, 'users.json'), deps.clock),
      where: s.path,
      health: () => ({ ok: true, text: `${store.stats().activeBans} active bans` }),
      shared: null,
      redisHealth: null,
      close: () => Promise.resolve(),
    };
  }
  const r = s.redis;
  const serverId = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const store = new RedisBanStore({
    serverId,
    connection: r,
    keyPrefix: r.keyPrefix,
    waitReplicas: r.waitReplicas,
    waitTimeoutMs: r.waitTimeout * 1000,
    feedRetention: s.feedRetention,
    logger: storeLogger,
  });
  // The hot path's failure windows share this one: many small scripts, pipelined per tick.
  const shared = createRedisClient(r, { autoPipelining: true });
  shared.on('error', () => undefined);
  const agents = new RedisAgentRegistry({
    client: shared,
    keyPrefix: r.keyPrefix,
    clock: deps.clock,
    logger: deps.logger.child({ part: 'agents' }),
    onRemoved: deps.onAgentRemoved,
  });
  // A removed feed token has no connection to close: the next refresh refuses it everywhere.
  const feeds = new RedisTokenRegistry(
    {
      client: shared,
      keyPrefix: r.keyPrefix,
      clock: deps.clock,
      logger: deps.logger.child({ part: 'feeds' }),
    },
    FEED_TOKENS,
  );
  const users = new RedisUserRegistry({
    client: shared,
    keyPrefix: r.keyPrefix,
    clock: deps.clock,
    logger: deps.logger.child({ part: 'dashboard' }),
    onRemoved: deps.onUserRemoved,
  });
  return {
    store,
    agents,
    feeds,
    users,
    where: `${store.target}, key prefix ${r.keyPrefix}`,
    shared: { client: shared, keyPrefix: r.keyPrefix, serverId },
    redisHealth: () => store.health(),
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
    close: async () => {
      agents.close();
      feeds.close();
      users.close();
      await shared.quit().catch(() => undefined);
    },
  };
}
