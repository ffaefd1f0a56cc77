// The dashboard's users: names, roles, token digests; a JSON file beside the ban store, written atomically.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Clock, EpochMs } from '../core/clock.js';
import { describeError, ErrorCode, FleetbanError } from '../core/errors.js';
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

interface UsersFile {
  readonly version: 1;
  readonly users: readonly UserRecord[];
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
  readonly #file: string;
  readonly #clock: Clock;
  readonly #byName = new Map<string, UserRecord>();
  readonly #byHash = new Map<string, string>();
  #writing: Promise<void> = Promise.resolve();

  constructor(file: string, clock: Clock) {
    this.#file = file;
    this.#clock = clock;
  }

  /** Reads the file; a missing file is no users, a broken one an error naming it. */
  async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.#file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new FleetbanError(
        ErrorCode.STORE_OPEN_FAILED,
        `cannot read the dashboard users ${this.#file}: ${describeError(e)}`,
        { cause: e },
      );
    }
    let users: unknown[];
    try {
      const parsed = JSON.parse(text) as Partial<UsersFile> | null;
      if (parsed === null || !Array.isArray(parsed.users)) throw new Error('no "users" list');
      users = parsed.users;
    } catch (e) {
      throw new FleetbanError(
        ErrorCode.STORE_OPEN_FAILED,
        `the dashboard users file ${this.#file} is not valid: ${describeError(e)}`,
        { cause: e },
      );
    }
    for (const u of users) {
      const record = toRecord(u);
      if (record !== null) this.#put(record);
    }
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
    return this.#writing;
  }

  #put(user: UserRecord): void {
    this.#byName.set(user.name, user);
    this.#byHash.set(user.tokenHash, user.name);
  }

  #save(): Promise<void> {
    const write = async (): Promise<void> => {
      const body: UsersFile = {
        version: 1,
        users: [...this.#byName.values()].sort((a, b) => a.name.localeCompare(b.name)),
      };
      await mkdir(dirname(this.#file), { recursive: true });
      const tmp = `${this.#file}.tmp`;
      await writeFile(tmp, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
      await rename(tmp, this.#file);
    };
    const next = this.#writing.then(write, write);
    this.#writing = next.catch(() => undefined);
    return next;
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
