// Dashboard users shared by the servers of a Redis deployment: one hash of records, a copy in each server's memory.
import type { Clock } from '../core/clock.js';
import { hashToken } from '../distribute/tokens.js';
import {
  sharedRecords,
  type SharedDirectoryOptions,
  type SharedRecords,
} from '../store/redis/shared-records.js';
import {
  newUser,
  noSuchUser,
  reportOf,
  toRecord,
  userExists,
  type Role,
  type UserDirectory,
  type UserRecord,
  type UserReport,
} from './users.js';

export type RedisUserRegistryOptions = SharedDirectoryOptions;

/**
 * Users in the hash `{keyPrefix}:users`: a token made with `fleetban users add` on any server
 * signs in on every server, and a removal on any server ends the user's sessions everywhere
 * within a second. Sessions themselves stay with the server that made them (sticky sessions
 * behind a load balancer).
 */
export class RedisUserRegistry implements UserDirectory {
  readonly #clock: Clock;
  readonly #records: SharedRecords<UserRecord>;

  constructor(options: RedisUserRegistryOptions) {
    this.#clock = options.clock;
    this.#records = sharedRecords(options, 'users', 'dashboard user', toRecord);
  }

  load(): Promise<void> {
    return this.#records.load();
  }

  /** Stops the refresh. */
  close(): void {
    this.#records.close();
  }

  async add(name: string, role: Role): Promise<{ user: UserReport; token: string }> {
    const { user, token } = newUser(name, role, this.#clock.now());
    if (!(await this.#records.create(user))) throw userExists(name);
    return { user: reportOf(user), token };
  }

  async remove(name: string): Promise<UserReport> {
    const removed = await this.#records.delete(name);
    if (removed === undefined) throw noSuchUser(name);
    return reportOf(removed);
  }

  authenticate(token: string): UserRecord | undefined {
    return this.#records.byTokenHash(hashToken(token));
  }

  get(name: string): UserRecord | undefined {
    return this.#records.get(name);
  }

  list(): UserReport[] {
    return this.#records.list().map((u) => reportOf(u));
  }

  flush(): Promise<void> {
    return this.#records.flush();
  }
}
