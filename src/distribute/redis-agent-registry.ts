// The agent directory shared by the servers of a Redis deployment: one hash of records, a copy in each server's memory.
import type { Clock } from '../core/clock.js';
import {
  sharedRecords,
  type SharedDirectoryOptions,
  type SharedRecords,
} from '../store/redis/shared-records.js';
import {
  agentExists,
  checkAgentName,
  noSuchAgent,
  toRecord,
  type AgentDirectory,
  type AgentRecord,
} from './agent-registry.js';
import { generateToken, hashToken } from './tokens.js';

export type RedisAgentRegistryOptions = SharedDirectoryOptions;

/**
 * Records live in the hash `{keyPrefix}:agents` (name → JSON record), so a token made with
 * `fleetban agents add` on any server is valid on every server, and a removal on any server
 * revokes it everywhere. Lookups stay synchronous, from a copy read again every `refreshMs`:
 * an agent added on another server may be refused for that long (it retries), and one removed
 * there keeps its stream here as long, then `onRemoved` closes it.
 */
export class RedisAgentRegistry implements AgentDirectory {
  readonly #clock: Clock;
  readonly #records: SharedRecords<AgentRecord>;

  constructor(options: RedisAgentRegistryOptions) {
    this.#clock = options.clock;
    this.#records = sharedRecords(options, 'agents', 'agent', toRecord);
  }

  load(): Promise<void> {
    return this.#records.load();
  }

  /** Stops the refresh. */
  close(): void {
    this.#records.close();
  }

  async add(name: string): Promise<{ agent: AgentRecord; token: string }> {
    checkAgentName(name);
    const token = generateToken();
    const agent: AgentRecord = {
      name,
      tokenHash: hashToken(token),
      created: this.#clock.now(),
      lastContact: null,
    };
    if (!(await this.#records.create(agent))) throw agentExists(name);
    return { agent, token };
  }

  async remove(name: string): Promise<AgentRecord> {
    const removed = await this.#records.delete(name);
    if (removed === undefined) throw noSuchAgent(name);
    return removed;
  }

  authenticate(token: string): AgentRecord | undefined {
    return this.#records.byTokenHash(hashToken(token));
  }

  get(name: string): AgentRecord | undefined {
    return this.#records.get(name);
  }

  list(): AgentRecord[] {
    return this.#records.list();
  }

  touch(name: string, onError: (e: unknown) => void): void {
    const agent = this.#records.get(name);
    if (agent !== undefined)
      this.#records.update({ ...agent, lastContact: this.#clock.now() }, onError);
  }

  flush(): Promise<void> {
    return this.#records.flush();
  }
}
