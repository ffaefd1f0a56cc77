// Bearer-token check for the admin API over TCP, in constant time whatever the presented length.
import { createHash, timingSafeEqual } from 'node:crypto';

/** Holds only a digest of the token; comparing digests keeps the compare length-independent. */
export class BearerToken {
  readonly #digest: Buffer;

  constructor(token: string) {
    if (token === '') throw new TypeError('an empty bearer token would admit anyone');
    this.#digest = digest(token);
  }

  /** Whether an `Authorization` header carries this token (`Bearer <token>`, scheme case-insensitive). */
  accepts(header: string | undefined): boolean {
    const presented = bearerOf(header);
    if (presented === undefined) return false;
    return timingSafeEqual(digest(presented), this.#digest);
  }
}

/** The token of a `Bearer <token>` header, or undefined. */
export function bearerOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header)?.[1];
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
