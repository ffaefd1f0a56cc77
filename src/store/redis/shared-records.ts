// Named records with a token digest (agents, dashboard users) in one Redis hash that every server reads: a copy in memory for synchronous lookups.
import type { Result } from 'ioredis';
import type { Clock } from '../../core/clock.js';
import { describeError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { RedisClient } from './client.js';

/** What the hash holds: a name (the field) and the sha256 of a token, and whatever else. */
export interface NamedTokenRecord {
  readonly name: string;
  readonly tokenHash: string;
}

/** Updates a record only if it still exists: a late update must not bring a removed one back. */
const UPDATE_SCRIPT = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 0
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    fleetbanUpdateRecord(key: string, name: string, record: string): Result<number, Context>;
  }
}

export interface SharedRecordsOptions<R extends NamedTokenRecord> {
  readonly client: RedisClient;
  /** The hash, e.g. `{prefix}:agents`. */
  readonly key: string;
  /** A stored value checked field by field; null for one this version cannot read. */
  readonly parse: (value: unknown) => R | null;
  /** What the records are, for messages ("agent", "dashboard user"). */
  readonly what: string;
  readonly logger: Logger;
  /** How often the copy is read again (records added or removed by other servers). */
  readonly refreshMs?: number;
  /** Told of each record another server removed. */
  readonly onRemoved?: (name: string) => void;
}

/** What a directory kept in such a hash is given (the agents', the dashboard users'). */
export interface SharedDirectoryOptions {
  readonly client: RedisClient;
  readonly keyPrefix: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How often the copy in memory is read again (records added or removed on other servers). */
  readonly refreshMs?: number;
  /** Told of each record another server removed. */
  readonly onRemoved?: (name: string) => void;
}

/** The records of a directory in the hash `{keyPrefix}:NAME`. */
export function sharedRecords<R extends NamedTokenRecord>(
  o: SharedDirectoryOptions,
  name: string,
  what: string,
  parse: (value: unknown) => R | null,
): SharedRecords<R> {
  return new SharedRecords({
    client: o.client,
    key: `{${o.keyPrefix}}:${name}`,
    parse,
    what,
    logger: o.logger,
    ...(o.refreshMs !== undefined ? { refreshMs: o.refreshMs } : {}),
    ...(o.onRemoved !== undefined ? { onRemoved: o.onRemoved } : {}),
  });
}

/**
 * The copy is read again every `refreshMs`: a record added on another server is unknown here for
 * that long, one removed there still known as long (then `onRemoved` is told). Adds and removes
 * made here apply to the copy at once; a refresh that was read before one of them is dropped.
 */
export class SharedRecords<R extends NamedTokenRecord> {
  readonly #o: SharedRecordsOptions<R>;
  #byName = new Map<string, R>();
  #byHash = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  #version = 0;
  #writes: Promise<unknown> = Promise.resolve();

  constructor(options: SharedRecordsOptions<R>) {
    this.#o = options;
    options.client.defineCommand('fleetbanUpdateRecord', { lua: UPDATE_SCRIPT, numberOfKeys: 1 });
  }

  /** Reads the hash, then keeps reading it every `refreshMs` until `close`. */
  async load(): Promise<void> {
    await this.#refresh();
    this.#timer = setInterval(() => {
      this.#refresh().catch((e: unknown) => {
        this.#o.logger.warn(
          { err: e },
          `cannot read the ${this.#o.what} list from Redis (those known so far still work): ${describeError(e)}`,
        );
      });
    }, this.#o.refreshMs ?? 1_000);
    this.#timer.unref();
  }

  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
  }

  /** Stores a new record; false when the name is taken (HSETNX: two servers cannot both win). */
  async create(record: R): Promise<boolean> {
    if ((await this.#o.client.hsetnx(this.#o.key, record.name, JSON.stringify(record))) === 0)
      return false;
    this.#version++;
    this.#put(record);
    return true;
  }

  /** Deletes a record; undefined when there was none. */
  async delete(name: string): Promise<R | undefined> {
    const record = this.#byName.get(name) ?? (await this.#read(name));
    if (record === undefined || (await this.#o.client.hdel(this.#o.key, name)) === 0)
      return undefined;
    this.#version++;
    this.#byName.delete(name);
    this.#byHash.delete(record.tokenHash);
    return record;
  }

  /** Changes a record that exists, in the background; a failure goes to `onError`. */
  update(record: R, onError: (e: unknown) => void): void {
    if (!this.#byName.has(record.name)) return;
    this.#put(record);
    const write = this.#o.client.fleetbanUpdateRecord(
      this.#o.key,
      record.name,
      JSON.stringify(record),
    );
    this.#writes = Promise.all([this.#writes, write.catch(onError)]);
  }

  byTokenHash(hash: string): R | undefined {
    const name = this.#byHash.get(hash);
    return name === undefined ? undefined : this.#byName.get(name);
  }

  get(name: string): R | undefined {
    return this.#byName.get(name);
  }

  /** Every record, by name. */
  list(): R[] {
    return [...this.#byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Resolves once every update issued so far is written. */
  async flush(): Promise<void> {
    await this.#writes;
  }

  async #read(name: string): Promise<R | undefined> {
    const raw = await this.#o.client.hget(this.#o.key, name);
    return raw === null ? undefined : (this.#parse(raw) ?? undefined);
  }

  #parse(raw: string): R | null {
    try {
      return this.#o.parse(JSON.parse(raw));
    } catch {
      return null;
    }
  }

  async #refresh(): Promise<void> {
    const version = this.#version;
    const all = await this.#o.client.hgetall(this.#o.key);
    if (version !== this.#version) return;
    const byName = new Map<string, R>();
    const byHash = new Map<string, string>();
    for (const raw of Object.values(all)) {
      const record = this.#parse(raw);
      if (record === null) continue;
      byName.set(record.name, record);
      byHash.set(record.tokenHash, record.name);
    }
    const gone = [...this.#byName.keys()].filter((n) => !byName.has(n));
    this.#byName = byName;
    this.#byHash = byHash;
    for (const name of gone) this.#o.onRemoved?.(name);
  }

  #put(record: R): void {
    this.#byName.set(record.name, record);
    this.#byHash.set(record.tokenHash, record.name);
  }
}
