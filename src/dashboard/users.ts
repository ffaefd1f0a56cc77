// The dashboard's users: names, roles, token digests; a JSON file beside the ban store, written atomically.
import type { Clock, EpochMs } from '../core/clock.js';
import { ErrorCode, FleetbanError } from '../core/errors.js';
import { RecordFile } from '../distribute/record-file.js';
import { generateToken, hashToken } from '../distribute/tokens.js';

/** viewer: reads every page; admin: also bans and unbans. */
export const ROLES = ['viewer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(v: unknown): v is Role {
  return v === 'viewer' || v === 'admin';
}

export interface UserRecord {
  readonly name: string;
  readonly role: Role;
  /** Hex sha256 of the token; the token itself is never stored. */
  readonly tokenHash: string;
  readonly created: EpochMs;
}

/** What the admin API shows of a user: never the digest. */
export interface UserReport {
  readonly name: string;
  readonly role: Role;
  readonly created: EpochMs;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,62}$/;

export function isValidUserName(name: string): boolean {
  return NAME.test(name);
}

export function reportOf(u: UserRecord): UserReport {
  return { name: u.name, role: u.role, created: u.created };
}

/**
 * Lookups are from memory; every change is written to `file` (temp file + rename, so a crash
 * leaves the old or the new list, never half of one). Writes are serialised in call order.
 */
/** Who may sign in to the dashboard, as the dashboard and the admin API see them. */
export interface UserDirectory {
  /** Reads what is stored; nothing stored is no users. */
  load(): Promise<void>;
  /** Creates a user; resolves with its token, which exists nowhere else afterwards. */
  add(name: string, role: Role): Promise<{ user: UserReport; token: string }>;
  /** Throws NOT_FOUND when no user has this name. */
  remove(name: string): Promise<UserReport>;
  /** The user a presented token belongs to, or undefined. */
  authenticate(token: string): UserRecord | undefined;
  get(name: string): UserRecord | undefined;
  /** Every user, by name. */
  list(): UserReport[];
  /** Resolves once every write issued so far is stored. */
  flush(): Promise<void>;
}

/** Refuses a name or role a user cannot have, saying what is allowed. */
export function checkUser(name: string, role: Role): void {
  if (!isValidUserName(name)) {
    throw new FleetbanError(
      ErrorCode.REQUEST_INVALID,
      `invalid user name ${JSON.stringify(name)}: use letters, digits, '.', '_', '@' and '-' (at most 63, starting with a letter or digit)`,
    );
  }
  if (!isRole(role)) {
    throw new FleetbanError(
      ErrorCode.REQUEST_INVALID,
      `invalid role ${JSON.stringify(role)}: use ${ROLES.join(' or ')}`,
    );
  }
}

/** A new user with a fresh token (the record keeps only its digest). */
export function newUser(
  name: string,
  role: Role,
  now: number,
): { user: UserRecord; token: string } {
  checkUser(name, role);
  const token = generateToken();
  return { user: { name, role, tokenHash: hashToken(token), created: now }, token };
}

export function userExists(name: string): FleetbanError {
  return new FleetbanError(
    ErrorCode.REQUEST_INVALID,
    `a user named ${name} already exists (remove it first to issue a new token)`,
  );
}

export function noSuchUser(name: string): FleetbanError {
  return new FleetbanError(ErrorCode.NOT_FOUND, `no user named ${name}`);
}

export class UserRegistry implements UserDirectory {
  readonly #file: RecordFile<UserRecord>;
  readonly #clock: Clock;
  readonly #byName = new Map<string, UserRecord>();
  readonly #byHash = new Map<string, string>();

  constructor(file: string, clock: Clock) {
    this.#file = new RecordFile(file, 'users', 'the dashboard users file', toRecord);
    this.#clock = clock;
  }

  /** Reads the file; a missing file is no users, a broken one an error naming it. */
  async load(): Promise<void> {
    for (const record of await this.#file.read()) this.#put(record);
  }

  /** Creates a user; resolves with its token, which exists nowhere else afterwards. */
  async add(name: string, role: Role): Promise<{ user: UserReport; token: string }> {
    const { user, token } = newUser(name, role, this.#clock.now());
    if (this.#byName.has(name)) throw userExists(name);
    this.#put(user);
    await this.#save();
    return { user: reportOf(user), token };
  }

  /** Throws NOT_FOUND when no user has this name. */
  async remove(name: string): Promise<UserReport> {
    const user = this.#byName.get(name);
    if (user === undefined) throw noSuchUser(name);
    this.#byName.delete(name);
    this.#byHash.delete(user.tokenHash);
    await this.#save();
    return reportOf(user);
  }

  /** The user a presented token belongs to, or undefined. */
  authenticate(token: string): UserRecord | undefined {
    const name = this.#byHash.get(hashToken(token));
    return name === undefined ? undefined : this.#byName.get(name);
  }

  get(name: string): UserRecord | undefined {
    return this.#byName.get(name);
  }

  /** Every user, by name. */
  list(): UserReport[] {
    return [...this.#byName.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((u) => reportOf(u));
  }

  /** Resolves once every write issued so far is on disk. */
  flush(): Promise<void> {
    return this.#file.flush();
  }

  #put(user: UserRecord): void {
    this.#byName.set(user.name, user);
    this.#byHash.set(user.tokenHash, user.name);
  }

  #save(): Promise<void> {
    return this.#file.save([...this.#byName.values()].sort((x, y) => x.name.localeCompare(y.name)));
  }
}

/** A persisted record, checked field by field: a hand-edited file must not smuggle in odd values. */
export function toRecord(v: unknown): UserRecord | null {
  if (typeof v !== 'object' || v === null) return null;
  const { name, role, tokenHash, created } = v as Record<string, unknown>;
  if (typeof name !== 'string' || !isValidUserName(name)) return null;
  if (!isRole(role)) return null;
  if (typeof tokenHash !== 'string' || !/^[0-9a-f]{64}$/.test(tokenHash)) return null;
  return { name, role, tokenHash, created: typeof created === 'number' ? created : 0 };
}
