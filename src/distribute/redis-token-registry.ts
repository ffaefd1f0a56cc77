// Named tokens (agents, gateway feeds) shared by the servers of a Redis deployment: one hash of records, a copy in each server's memory.
import type { Clock } from '../core/clock.js';
import {
  sharedRecords,
  type SharedDirectoryOptions,
  type SharedRecords,
} from '../store/redis/shared-records.js';
import {
  holderExists,
  newHolder,
  noSuchHolder,
  toRecord,
  type TokenDirectory,
  type TokenKind,
  type TokenRecord,
} from './token-registry.js';
import { hashToken } from './tokens.js';

export type RedisTokenRegistryOptions = SharedDirectoryOptions;

/**
 * Records live in the hash `{keyPrefix}:LIST` (`agents`, `feeds`; name → JSON record), so a
 * token made with `fleetban agents add` or `fleetban feeds add` on any server is valid on every
 * server, and a removal on any server revokes it everywhere. Lookups stay synchronous, from a
 * copy read again every `refreshMs`: a holder added on another server may be refused for that
 * long (it retries), and one removed there is accepted as long, then `onRemoved` is told.
 */
export class RedisTokenRegistry implements TokenDirectory {
  readonly #kind: TokenKind;
  readonly #clock: Clock;
  readonly #records: SharedRecords<TokenRecord>;

  constructor(options: RedisTokenRegistryOptions, kind: TokenKind) {
    this.#kind = kind;
    this.#clock = options.clock;
    this.#records = sharedRecords(options, kind.list, kind.noun, toRecord);
  }

  load(): Promise<void> {
    return this.#records.load();
  }

  /** Stops the refresh. */
  close(): void {
    this.#records.close();
  }

  async add(name: string): Promise<{ record: TokenRecord; token: string }> {
    const { record, token } = newHolder(this.#kind, name, this.#clock.now());
    if (!(await this.#records.create(record))) throw holderExists(this.#kind, name);
    return { record, token };
  }

  async remove(name: string): Promise<TokenRecord> {
    const removed = await this.#records.delete(name);
    if (removed === undefined) throw noSuchHolder(this.#kind, name);
    return removed;
  }

  authenticate(token: string): TokenRecord | undefined {
    return this.#records.byTokenHash(hashToken(token));
  }

  get(name: string): TokenRecord | undefined {
    return this.#records.get(name);
  }

  list(): TokenRecord[] {
    return this.#records.list();
  }

  touch(name: string, onError: (e: unknown) => void): void {
    const record = this.#records.get(name);
    if (record !== undefined)
      this.#records.update({ ...record, lastContact: this.#clock.now() }, onError);
  }

  flush(): Promise<void> {
    return this.#records.flush();
  }
}
