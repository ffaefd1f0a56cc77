// Named bearer tokens of the agent API (agents, gateway feeds): names, token digests, last contact; a JSON file written atomically.
import type { Clock, EpochMs } from '../core/clock.js';
import { ErrorCode, FleetbanError } from '../core/errors.js';
import { RecordFile } from './record-file.js';
import { generateToken, hashToken } from './tokens.js';

/** What is persisted of a token holder (an agent, a feed). */
export interface TokenRecord {
  readonly name: string;
  /** Hex sha256 of the token; the token itself is never stored. */
  readonly tokenHash: string;
  readonly created: EpochMs;
  /** Last time the token was presented and accepted; null = never. */
  readonly lastContact: EpochMs | null;
}

/** Who holds the tokens of a directory: for the file, the Redis hash and every message. */
export interface TokenKind {
  /** One holder, in messages: "agent", "feed". */
  readonly noun: string;
  /** The list in the file and the Redis hash: `agents`, `feeds`. */
  readonly list: string;
  /** The file, in messages: "the agent registry". */
  readonly file: string;
}

export const AGENT_TOKENS: TokenKind = {
  noun: 'agent',
  list: 'agents',
  file: 'the agent registry',
};

/** Read-only tokens for the gateway feeds (/v1/blocklist.txt, /v1/nftables). */
export const FEED_TOKENS: TokenKind = {
  noun: 'feed',
  list: 'feeds',
  file: 'the feed token registry',
};

/** The 403 message for a feed token presented where it does not reach (`refused`: "the admin API"). */
export function readOnlyFeedMessage(feed: string, refused: string): string {
  return `the token of feed ${feed} is read-only: it reads GET /v1/blocklist.txt and GET /v1/nftables on the agent API, not ${refused}`;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Holder names: what a hostname or a systemd instance name can be, and safe in a URL path. */
export function isValidTokenName(name: string): boolean {
  return NAME.test(name);
}

/** The holders of one kind of token, as the agent API sees them: lookups from memory. */
export interface TokenDirectory {
  /** Reads what is stored; a missing store is an empty directory. */
  load(): Promise<void>;
  /** Creates a holder; resolves with its token, which exists nowhere else afterwards. */
  add(name: string): Promise<{ record: TokenRecord; token: string }>;
  /** Throws NOT_FOUND when no holder has this name. */
  remove(name: string): Promise<TokenRecord>;
  /** The holder a presented token belongs to, or undefined. */
  authenticate(token: string): TokenRecord | undefined;
  get(name: string): TokenRecord | undefined;
  /** Every holder, by name. */
  list(): TokenRecord[];
  /** Records a contact; persisted in the background (a failed write is reported, not thrown). */
  touch(name: string, onError: (e: unknown) => void): void;
  /** Resolves once every write issued so far is stored. */
  flush(): Promise<void>;
}

/** A new holder with a fresh token (the record keeps only its digest); a bad name is refused. */
export function newHolder(
  kind: TokenKind,
  name: string,
  now: EpochMs,
): { record: TokenRecord; token: string } {
  if (!isValidTokenName(name)) {
    throw new FleetbanError(
      ErrorCode.REQUEST_INVALID,
      `invalid ${kind.noun} name ${JSON.stringify(name)}: use letters, digits, '.', '_' and '-' (at most 63, starting with a letter or digit)`,
    );
  }
  const token = generateToken();
  return { record: { name, tokenHash: hashToken(token), created: now, lastContact: null }, token };
}

export function holderExists(kind: TokenKind, name: string): FleetbanError {
  return new FleetbanError(
    ErrorCode.REQUEST_INVALID,
    `${article(kind.noun)} ${kind.noun} named ${name} already exists (remove it first to issue a new token)`,
  );
}

export function noSuchHolder(kind: TokenKind, name: string): FleetbanError {
  return new FleetbanError(ErrorCode.NOT_FOUND, `no ${kind.noun} named ${name}`);
}

function article(noun: string): string {
  return /^[aeiou]/.test(noun) ? 'an' : 'a';
}

/**
 * Lookups are from memory; every change is written to `file` (temp file + rename, so a crash
 * leaves the old or the new registry, never half of one). Writes are serialised in call order.
 */
export class TokenRegistry implements TokenDirectory {
  readonly #kind: TokenKind;
  readonly #file: RecordFile<TokenRecord>;
  readonly #clock: Clock;
  readonly #byName = new Map<string, TokenRecord>();
  readonly #byHash = new Map<string, string>();

  constructor(file: string, clock: Clock, kind: TokenKind) {
    this.#kind = kind;
    this.#file = new RecordFile(file, kind.list, kind.file, toRecord);
    this.#clock = clock;
  }

  get file(): string {
    return this.#file.path;
  }

  /** Reads the file; a missing file is an empty registry, a broken one an error naming it. */
  async load(): Promise<void> {
    for (const record of await this.#file.read()) this.#put(record);
  }

  async add(name: string): Promise<{ record: TokenRecord; token: string }> {
    const { record, token } = newHolder(this.#kind, name, this.#clock.now());
    if (this.#byName.has(name)) throw holderExists(this.#kind, name);
    this.#put(record);
    await this.#save();
    return { record, token };
  }

  async remove(name: string): Promise<TokenRecord> {
    const record = this.#byName.get(name);
    if (record === undefined) throw noSuchHolder(this.#kind, name);
    this.#byName.delete(name);
    this.#byHash.delete(record.tokenHash);
    await this.#save();
    return record;
  }

  authenticate(token: string): TokenRecord | undefined {
    const name = this.#byHash.get(hashToken(token));
    return name === undefined ? undefined : this.#byName.get(name);
  }

  get(name: string): TokenRecord | undefined {
    return this.#byName.get(name);
  }

  list(): TokenRecord[] {
    return [...this.#byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  touch(name: string, onError: (e: unknown) => void): void {
    const record = this.#byName.get(name);
    if (record === undefined) return;
    this.#put({ ...record, lastContact: this.#clock.now() });
    this.#save().catch(onError);
  }

  /** Resolves once every write issued so far is on disk. */
  flush(): Promise<void> {
    return this.#file.flush();
  }

  #put(record: TokenRecord): void {
    this.#byName.set(record.name, record);
    this.#byHash.set(record.tokenHash, record.name);
  }

  #save(): Promise<void> {
    return this.#file.save(this.list());
  }
}

/** A persisted record, checked field by field: a hand-edited file must not smuggle in odd values. */
export function toRecord(v: unknown): TokenRecord | null {
  if (typeof v !== 'object' || v === null) return null;
  const { name, tokenHash, created, lastContact } = v as Record<string, unknown>;
  if (typeof name !== 'string' || !isValidTokenName(name)) return null;
  if (typeof tokenHash !== 'string' || !/^[0-9a-f]{64}$/.test(tokenHash)) return null;
  return {
    name,
    tokenHash,
    created: typeof created === 'number' ? created : 0,
    lastContact: typeof lastContact === 'number' ? lastContact : null,
  };
}
