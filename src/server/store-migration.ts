// `fleetban store migrate`: carries a LevelDB store (bans, evidence, history, outbox, held bans, agent and feed tokens) into Redis, then checks it.
import { join } from 'node:path';
import type { FleetbanConfig } from '../config/load.js';
import { systemClock } from '../core/clock.js';
import { ErrorCode, FleetbanError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Ban } from '../core/types.js';
import { AgentRegistry } from '../distribute/agent-registry.js';
import { FEED_TOKENS, TokenRegistry } from '../distribute/token-registry.js';
import { LevelBanStore } from '../store/level-store.js';
import type { RecordCounts } from '../store/records.js';
import { createRedisClient, describeTarget } from '../store/redis/client.js';
import { importRecords } from '../store/redis/import.js';
import { storeKeys } from '../store/redis/keys.js';
import { RedisBanStore } from '../store/redis/redis-store.js';

export interface MigrationReport {
  readonly from: string;
  readonly to: string;
  readonly keyPrefix: string;
  readonly lastSeq: number;
  readonly copied: RecordCounts & { readonly agents: number; readonly feeds: number };
  /** What a Redis store opened afterwards holds: equal to `copied` when nothing was lost. */
  readonly found: { readonly bans: number; readonly history: number; readonly notices: number };
  /** Bans whose fields differ between the two stores (0 when all is well). */
  readonly mismatched: number;
}

export async function migrateToRedis(
  config: FleetbanConfig,
  options: { readonly force: boolean; readonly logger: Logger },
): Promise<MigrationReport> {
  const r = config.store.redis;
  if (r.nodes.length === 0 && r.address === '')
    throw new FleetbanError(
      ErrorCode.CONFIG_INVALID,
      'store migrate writes to the Redis named by store.redis.nodes or store.redis.address: set one of them (store.backend may stay level until the migration is done)',
    );
  const level = new LevelBanStore(config.store.path, { logger: options.logger });
  // Fails with LevelDB's lock error while a server runs on the folder: stop it first.
  await level.open();
  const client = createRedisClient(r);
  client.on('error', () => undefined);
  try {
    const registry = new AgentRegistry(join(config.store.path, 'agents.json'), systemClock);
    await registry.load();
    const feeds = new TokenRegistry(
      join(config.store.path, 'feeds.json'),
      systemClock,
      FEED_TOKENS,
    );
    await feeds.load();
    const lastSeq = level.stats().lastSeq;
    const copied = await importRecords(level.records(), {
      client,
      keyPrefix: r.keyPrefix,
      lastSeq,
      agents: registry.list(),
      feeds: feeds.list(),
      force: options.force,
    });
    const check = new RedisBanStore({
      connection: r,
      keyPrefix: r.keyPrefix,
      waitReplicas: 0,
      waitTimeoutMs: 1_000,
      logger: options.logger,
    });
    await check.open();
    let mismatched = 0;
    try {
      for (const ban of level.active()) if (!sameBan(ban, check.get(ban.target))) mismatched++;
    } finally {
      await check.close();
    }
    const k = storeKeys(r.keyPrefix);
    const [bans, history, notices] = await Promise.all([
      client.hlen(k.bans),
      client.hlen(k.history),
      client.zcard(k.outboxIds),
    ]);
    return {
      from: config.store.path,
      to: describeTarget(r),
      keyPrefix: r.keyPrefix,
      lastSeq,
      copied,
      found: { bans, history, notices },
      mismatched,
    };
  } finally {
    await level.close();
    await client.quit().catch(() => undefined);
  }
}

function sameBan(a: Ban, b: Ban | undefined): boolean {
  if (b === undefined) return false;
  return (
    a.target === b.target &&
    a.family === b.family &&
    a.jail === b.jail &&
    a.origin === b.origin &&
    a.attacker === b.attacker &&
    a.start === b.start &&
    a.end === b.end &&
    a.banCount === b.banCount &&
    a.failures === b.failures &&
    a.reason === b.reason &&
    a.seq === b.seq
  );
}
