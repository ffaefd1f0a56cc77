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

/** The token of an `Authorization: Bearer …` header, or null. */
export function bearerOf(header: string | undefined): string | null {
  if (header === undefined) return null;
  const m = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m?.[1] ?? null;
}
