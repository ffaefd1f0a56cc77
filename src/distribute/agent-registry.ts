// The registry of agents allowed to follow the ban feed: names, token digests, last contact; a JSON file written atomically.
import type { Clock, EpochMs } from '../core/clock.js';
import { ErrorCode, FleetbanError } from '../core/errors.js';
import { RecordFile } from './record-file.js';
import { generateToken, hashToken } from './tokens.js';

/** What is persisted of an agent. */
export interface AgentRecord {
  readonly name: string;
  /** Hex sha256 of the token; the token itself is never stored. */
  readonly tokenHash: string;
  readonly created: EpochMs;
  /** Last time the agent opened a stream or fetched /v1/nftables; null = never. */
  readonly lastContact: EpochMs | null;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Agent names: what a hostname or a systemd instance name can be, and safe in a URL path. */
export function isValidAgentName(name: string): boolean {
  return NAME.test(name);
}

/** The agents allowed to follow the feed, as the agent API sees them: lookups from memory. */
export interface AgentDirectory {
  /** Reads what is stored; a missing store is an empty directory. */
  load(): Promise<void>;
  /** Creates an agent; resolves with its token, which exists nowhere else afterwards. */
  add(name: string): Promise<{ agent: AgentRecord; token: string }>;
  /** Throws NOT_FOUND when no agent has this name. */
  remove(name: string): Promise<AgentRecord>;
  /** The agent a presented token belongs to, or undefined. */
  authenticate(token: string): AgentRecord | undefined;
  get(name: string): AgentRecord | undefined;
  /** Every agent, by name. */
  list(): AgentRecord[];
  /** Records a contact; persisted in the background (a failed write is reported, not thrown). */
  touch(name: string, onError: (e: unknown) => void): void;
  /** Resolves once every write issued so far is stored. */
  flush(): Promise<void>;
}

/** Names agents get: refused with a message saying what is allowed. */
export function checkAgentName(name: string): void {
  if (!isValidAgentName(name)) {
    throw new FleetbanError(
      ErrorCode.REQUEST_INVALID,
      `invalid agent name ${JSON.stringify(name)}: use letters, digits, '.', '_' and '-' (at most 63, starting with a letter or digit)`,
    );
  }
}

export function agentExists(name: string): FleetbanError {
  return new FleetbanError(
    ErrorCode.REQUEST_INVALID,
    `an agent named ${name} already exists (remove it first to issue a new token)`,
  );
}

export function noSuchAgent(name: string): FleetbanError {
  return new FleetbanError(ErrorCode.NOT_FOUND, `no agent named ${name}`);
}

/**
 * Lookups are from memory; every change is written to `file` (temp file + rename, so a crash
 * leaves the old or the new registry, never half of one). Writes are serialised in call order.
 */
export class AgentRegistry implements AgentDirectory {
  readonly #file: RecordFile<AgentRecord>;
  readonly #clock: Clock;
  readonly #byName = new Map<string, AgentRecord>();
  readonly #byHash = new Map<string, string>();

  constructor(file: string, clock: Clock) {
    this.#file = new RecordFile(file, 'agents', 'the agent registry', toRecord);
    this.#clock = clock;
  }

  get file(): string {
    return this.#file.path;
  }

  /** Reads the file; a missing file is an empty registry, a broken one an error naming it. */
  async load(): Promise<void> {
    for (const record of await this.#file.read()) this.#put(record);
  }

  /** Creates an agent; resolves with its token, which exists nowhere else afterwards. */
  async add(name: string): Promise<{ agent: AgentRecord; token: string }> {
    checkAgentName(name);
    if (this.#byName.has(name)) throw agentExists(name);
    const token = generateToken();
    const agent: AgentRecord = {
      name,
      tokenHash: hashToken(token),
      created: this.#clock.now(),
      lastContact: null,
    };
    this.#put(agent);
    await this.#save();
    return { agent, token };
  }

  /** Throws NOT_FOUND when no agent has this name. */
  async remove(name: string): Promise<AgentRecord> {
    const agent = this.#byName.get(name);
    if (agent === undefined) throw noSuchAgent(name);
    this.#byName.delete(name);
    this.#byHash.delete(agent.tokenHash);
    await this.#save();
    return agent;
  }

  /** The agent a presented token belongs to, or undefined. */
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

  /** Records a contact; persisted in the background (a failed write is reported, not thrown). */
  touch(name: string, onError: (e: unknown) => void): void {
    const agent = this.#byName.get(name);
    if (agent === undefined) return;
    this.#put({ ...agent, lastContact: this.#clock.now() });
    this.#save().catch(onError);
  }

  /** Resolves once every write issued so far is on disk. */
  flush(): Promise<void> {
    return this.#file.flush();
  }

  #put(agent: AgentRecord): void {
    this.#byName.set(agent.name, agent);
    this.#byHash.set(agent.tokenHash, agent.name);
  }

  #save(): Promise<void> {
    return this.#file.save(this.list());
  }
}

/** A persisted record, checked field by field: a hand-edited file must not smuggle in odd values. */
export function toRecord(v: unknown): AgentRecord | null {
  if (typeof v !== 'object' || v === null) return null;
  const { name, tokenHash, created, lastContact } = v as Record<string, unknown>;
  if (typeof name !== 'string' || !isValidAgentName(name)) return null;
  if (typeof tokenHash !== 'string' || !/^[0-9a-f]{64}$/.test(tokenHash)) return null;
  return {
    name,
    tokenHash,
    created: typeof created === 'number' ? created : 0,
    lastContact: typeof lastContact === 'number' ? lastContact : null,
  };
}
