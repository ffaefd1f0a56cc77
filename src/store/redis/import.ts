// Writes a whole store's records into an empty Redis deployment: the target side of `fleetban store migrate`.
import { describeError, ErrorCode, FleetbanError } from '../../core/errors.js';
import { encodeBan } from '../codec.js';
import { emptyCounts, type RecordCounts, type StoreRecord } from '../records.js';
import type { RedisClient } from './client.js';
import { storeKeys } from './keys.js';
import { REDIS_SCHEMA_VERSION } from './redis-store.js';

/** Fields per HSET: large enough to be quick, small enough not to stall Redis. */
const CHUNK = 1_000;

export interface ImportOptions {
  readonly client: RedisClient;
  readonly keyPrefix: string;
  /** The source's last sequence number: the Redis feed continues after it. */
  readonly lastSeq: number;
  /** Agent records (JSON-able, each with its name), for the shared agent directory. */
  readonly agents: readonly { readonly name: string }[];
  /** Feed token records, likewise, for the shared feed token directory. */
  readonly feeds: readonly { readonly name: string }[];
  /** Write into a deployment that already holds a store (its records are overwritten). */
  readonly force?: boolean;
}

/** Whether the key prefix already holds a fleetban store (a sequence number or bans). */
export async function holdsStore(client: RedisClient, keyPrefix: string): Promise<boolean> {
  const k = storeKeys(keyPrefix);
  const [seq, bans] = await Promise.all([client.exists(k.seq), client.hlen(k.bans)]);
  return seq > 0 || bans > 0;
}

/**
 * Writes every record, then the sequence number last: a migration cut short leaves no sequence
 * number, so no server opens the half-written store as if it were whole (it starts at 0 and the
 * next migration with --force completes it). Agents' positions from the old store do not exist
 * in the new feed: they resync once.
 */
export async function importRecords(
  records: AsyncIterable<StoreRecord>,
  o: ImportOptions,
): Promise<RecordCounts & { agents: number; feeds: number }> {
  const k = storeKeys(o.keyPrefix);
  const client = o.client;
  if (o.force !== true && (await holdsStore(client, o.keyPrefix)))
    throw new FleetbanError(
      ErrorCode.REQUEST_INVALID,
      `key prefix "${o.keyPrefix}" already holds a fleetban store: choose another store.redis.keyPrefix, or pass --force to write over it`,
    );
  const counts = emptyCounts();
  const hashes = new Map<string, (string | Buffer)[]>();
  const outboxIds: (string | number)[] = [];
  const sent: (string | number)[] = [];
  const flush = async (all: boolean): Promise<void> => {
    const writes: Promise<unknown>[] = [];
    for (const [key, fields] of hashes)
      if (all || fields.length >= 2 * CHUNK) {
        if (fields.length > 0) writes.push(client.hset(key, ...fields));
        hashes.set(key, []);
      }
    if (outboxIds.length > 0 && (all || outboxIds.length >= 2 * CHUNK))
      writes.push(client.zadd(k.outboxIds, ...outboxIds.splice(0)));
    if (sent.length > 0 && (all || sent.length >= 2 * CHUNK))
      writes.push(client.zadd(k.sentMail, ...sent.splice(0)));
    await Promise.all(writes);
  };
  const put = async (key: string, field: string, value: string | Buffer): Promise<void> => {
    const fields = hashes.get(key) ?? [];
    fields.push(field, value);
    hashes.set(key, fields);
    if (fields.length >= 2 * CHUNK) await flush(false);
  };
  try {
    for await (const r of records) {
      switch (r.kind) {
        case 'ban':
          await put(k.bans, r.ban.target, encodeBan(r.ban));
          await put(k.details, r.ban.target, JSON.stringify(r.details));
          counts.bans++;
          break;
        case 'history':
          await put(k.history, r.history.attacker, JSON.stringify(r.history));
          counts.history++;
          break;
        case 'notice':
          await put(k.outbox, String(r.notice.id), JSON.stringify(r.notice));
          outboxIds.push(r.notice.id, r.notice.id);
          counts.notices++;
          break;
        case 'held':
          await put(k.held, r.held.target, JSON.stringify(r.held));
          counts.held++;
          break;
        case 'sent':
          sent.push(r.sent.at, `${r.sent.at}/${r.sent.route}/migrated${counts.sent}`);
          counts.sent++;
          break;
      }
    }
    for (const a of o.agents) await put(`{${o.keyPrefix}}:agents`, a.name, JSON.stringify(a));
    for (const f of o.feeds) await put(`{${o.keyPrefix}}:feeds`, f.name, JSON.stringify(f));
    await flush(true);
    await client.set(k.schema, String(REDIS_SCHEMA_VERSION));
    await client.set(k.seq, String(o.lastSeq));
  } catch (e) {
    if (e instanceof FleetbanError) throw e;
    throw new FleetbanError(
      ErrorCode.STORE_UNAVAILABLE,
      `the migration into Redis stopped: ${describeError(e)} (nothing is lost from the LevelDB store; run it again with --force)`,
      { cause: e },
    );
  }
  return { ...counts, agents: o.agents.length, feeds: o.feeds.length };
}
