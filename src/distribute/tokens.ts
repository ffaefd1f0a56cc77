// Agent bearer tokens: random, shown once, stored only as a sha256 digest.
import { createHash, randomBytes } from 'node:crypto';

/** 32 random bytes, base64url: 43 characters, safe in headers and shell lines. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Hex sha256 of the token. A plain (unsalted, fast) digest is enough: tokens carry 256 random
 * bits, so there is nothing to brute-force, and a digest lets the server look a token up directly.
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * The token of an `Authorization` header, or null: `Bearer TOKEN`, or `Basic` with the token as
 * the password (any user name), for gateways whose URL lists offer only basic authentication.
 */
export function tokenOf(header: string | undefined): string | null {
  if (header === undefined) return null;
  const bearer = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (bearer !== null) return bearer[1] ?? null;
  const basic = /^basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(header);
  if (basic === null) return null;
  const pair = Buffer.from(basic[1] ?? '', 'base64').toString('utf8');
  const colon = pair.indexOf(':');
  const password = colon < 0 ? '' : pair.slice(colon + 1);
  return password === '' ? null : password;
}
