// The agent directory shared by the servers of a Redis deployment: one hash of records, a copy in each server's memory.
import type { Result } from 'ioredis';
import type { Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { RedisClient } from '../store/redis/client.js';
import {
  agentExists,
  checkAgentName,
  noSuchAgent,
  toRecord,
  type AgentDirectory,
  type AgentRecord,
} from './agent-registry.js';
import { generateToken, hashToken } from './tokens.js';

/** Updates a record only if it still exists: a contact must not bring a removed agent back. */
const TOUCH_SCRIPT = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 0
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    fleetbanTouchAgent(key: string, name: string, record: string): Result<number, Context>;
  }
}

export interface RedisAgentRegistryOptions {
  readonly client: RedisClient;
  readonly keyPrefix: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How often the copy in memory is read again (agents added or removed on other servers). */
  readonly refreshMs?: number;
  /** Told of each agent that another server removed, to close its stream here. */
  readonly onRemoved?: (name: string) => void;
}

/**
 * Records live in the hash `{keyPrefix}:agents` (name → JSON record), so a token made with
 * `fleetban agents add` on any server is valid on every server, and a removal on any server
 * revokes it everywhere. Lookups stay synchronous, from a copy read again every `refreshMs`:
 * an agent added on another server may be refused for that long (it retries), and one removed
 * there keeps its stream here as long, then `onRemoved` closes it.
 */
export class RedisAgentRegistry implements AgentDirectory {
  readonly #o: RedisAgentRegistryOptions;
  readonly #key: string;
  #byName = new Map<string, AgentRecord>();
  #byHash = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  /** Bumped by each add and remove made here: a refresh read before one of them is stale. */
  #version = 0;
  #writes: Promise<unknown> = Promise.resolve();

  constructor(options: RedisAgentRegistryOptions) {
    this.#o = options;
    this.#key = `{${options.keyPrefix}}:agents`;
    options.client.defineCommand('fleetbanTouchAgent', { lua: TOUCH_SCRIPT, numberOfKeys: 1 });
  }

  async load(): Promise<void> {
    await this.#refresh();
    this.#timer = setInterval(() => {
      this.#refresh().catch((e: unknown) => {
        this.#o.logger.warn(
          { err: e },
          `cannot read the agent list from Redis (agents known so far still work): ${describeError(e)}`,
        );
      });
    }, this.#o.refreshMs ?? 1_000);
    this.#timer.unref();
  }

  /** Stops the refresh. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
  }

  async add(name: string): Promise<{ agent: AgentRecord; token: string }> {
    checkAgentName(name);
    const token = generateToken();
    const agent: AgentRecord = {
      name,
      tokenHash: hashToken(token),
      created: this.#o.clock.now(),
      lastContact: null,
    };
    // HSETNX: two servers adding one name at once cannot both succeed.
    const created = await this.#o.client.hsetnx(this.#key, name, JSON.stringify(agent));
    if (created === 0) throw agentExists(name);
    this.#version++;
    this.#put(agent);
    return { agent, token };
  }

  async remove(name: string): Promise<AgentRecord> {
    const agent = this.#byName.get(name) ?? (await this.#read(name));
    if (agent === undefined || (await this.#o.client.hdel(this.#key, name)) === 0)
      throw noSuchAgent(name);
    this.#version++;
    this.#byName.delete(name);
    this.#byHash.delete(agent.tokenHash);
    return agent;
  }

  authenticate(token: string): AgentRecord | undefined {
    const name = this.#byHash.get(hashToken(token));
    return name === undefined ? undefined : this.#byName.get(name);
  }

  get(name: string): AgentRecord | undefined {
    return this.#byName.get(name);
  }

  list(): AgentRecord[] {
    return [...this.#byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  touch(name: string, onError: (e: unknown) => void): void {
    const agent = this.#byName.get(name);
    if (agent === undefined) return;
    const touched = { ...agent, lastContact: this.#o.clock.now() };
    this.#put(touched);
    const write = this.#o.client.fleetbanTouchAgent(this.#key, name, JSON.stringify(touched));
    this.#writes = Promise.all([this.#writes, write.catch(onError)]);
  }

  async flush(): Promise<void> {
    await this.#writes;
  }

  async #read(name: string): Promise<AgentRecord | undefined> {
    const raw = await this.#o.client.hget(this.#key, name);
    return raw === null ? undefined : (toRecord(JSON.parse(raw)) ?? undefined);
  }

  async #refresh(): Promise<void> {
    const version = this.#version;
    const all = await this.#o.client.hgetall(this.#key);
    if (version !== this.#version) return;
    const byName = new Map<string, AgentRecord>();
    const byHash = new Map<string, string>();
    for (const raw of Object.values(all)) {
      let record: AgentRecord | null = null;
      try {
        record = toRecord(JSON.parse(raw));
      } catch {
        record = null;
      }
      if (record === null) continue;
      byName.set(record.name, record);
      byHash.set(record.tokenHash, record.name);
    }
    const gone = [...this.#byName.keys()].filter((n) => !byName.has(n));
    this.#byName = byName;
    this.#byHash = byHash;
    for (const name of gone) this.#o.onRemoved?.(name);
  }

  #put(agent: AgentRecord): void {
    this.#byName.set(agent.name, agent);
    this.#byHash.set(agent.tokenHash, agent.name);
  }
}
