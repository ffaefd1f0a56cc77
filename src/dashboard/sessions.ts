// Dashboard sign-in sessions: random ids in an HttpOnly cookie, each with its user, role, CSRF token and expiry.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock, EpochMs } from '../core/clock.js';
import type { Role } from './users.js';

export interface Session {
  readonly id: string;
  readonly user: string;
  readonly role: Role;
  /** Sent back on every state-changing request (header `x-csrf-token` or form field). */
  readonly csrf: string;
  readonly expires: EpochMs;
}

/** Sessions kept at once; past that the oldest is ended (a flood of sign-ins cannot grow memory). */
const MAX_SESSIONS = 10_000;

/**
 * Sessions live in memory only: a restart signs everyone out, which is the safe direction.
 * Insertion order = creation order, so the oldest is the first key.
 */
export class Sessions {
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #byId = new Map<string, Session>();

  constructor(clock: Clock, ttlMs: number) {
    this.#clock = clock;
    this.#ttlMs = ttlMs;
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  create(user: string, role: Role): Session {
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      user,
      role,
      csrf: randomBytes(32).toString('base64url'),
      expires: this.#clock.now() + this.#ttlMs,
    };
    this.#byId.set(session.id, session);
    if (this.#byId.size > MAX_SESSIONS) {
      const oldest = this.#byId.keys().next().value;
      if (oldest !== undefined) this.#byId.delete(oldest);
    }
    return session;
  }

  /** The live session of this id, or undefined (unknown or expired: an expired one is dropped). */
  get(id: string | undefined): Session | undefined {
    if (id === undefined) return undefined;
    const session = this.#byId.get(id);
    if (session === undefined) return undefined;
    if (session.expires <= this.#clock.now()) {
      this.#byId.delete(id);
      return undefined;
    }
    return session;
  }

  end(id: string): void {
    this.#byId.delete(id);
  }

  /** Ends every session of a user (removed by `fleetban users remove`). */
  endUser(user: string): void {
    for (const [id, s] of this.#byId) if (s.user === user) this.#byId.delete(id);
  }

  get size(): number {
    return this.#byId.size;
  }
}

/** Constant-time comparison of a presented CSRF token with the session's. */
export function csrfMatches(session: Session, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The value of one cookie of a `Cookie` header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
