// Compact on-disk forms for the ban store: a binary active-ban record and order-preserving keys.
import type { Ban, BanOrigin } from '../core/types.js';

/**
 * Active-ban value, version 1 (little-endian):
 *   u8 version, u8 family, u8 flags (1 = permanent, 2 = attacker is the target), u8 0,
 *   f64 start, f64 end, f64 seq, u32 banCount, u32 failures,
 *   then u16-length-prefixed UTF-8: jail, origin, [attacker unless flag 2], reason.
 * Binary rather than JSON because a restart decodes every active ban (1M in a few seconds).
 */
const VERSION = 1;
const PERMANENT = 1;
const ATTACKER_IS_TARGET = 2;
const FIXED = 36;
const MAX_STRING = 0xffff;

export function encodeBan(ban: Ban): Buffer {
  const sameAttacker = ban.attacker === ban.target;
  const strings = sameAttacker
    ? [ban.jail, ban.origin, ban.reason]
    : [ban.jail, ban.origin, ban.attacker, ban.reason];
  const bytes = strings.map((s) => Buffer.from(s, 'utf8').subarray(0, MAX_STRING));
  const buf = Buffer.allocUnsafe(FIXED + bytes.reduce((n, b) => n + 2 + b.length, 0));
  buf[0] = VERSION;
  buf[1] = ban.family;
  buf[2] = (ban.end === null ? PERMANENT : 0) | (sameAttacker ? ATTACKER_IS_TARGET : 0);
  buf[3] = 0;
  buf.writeDoubleLE(ban.start, 4);
  buf.writeDoubleLE(ban.end ?? 0, 12);
  buf.writeDoubleLE(ban.seq, 20);
  buf.writeUInt32LE(Math.min(Math.max(ban.banCount, 0), 0xffffffff), 28);
  buf.writeUInt32LE(Math.min(Math.max(ban.failures, 0), 0xffffffff), 32);
  let pos = FIXED;
  for (const b of bytes) {
    buf.writeUInt16LE(b.length, pos);
    b.copy(buf, pos + 2);
    pos += 2 + b.length;
  }
  return buf;
}

/**
 * Decodes one record; `intern` lets repeated texts (jail, origin, reason) share one string.
 * Returns null for a record this version cannot read, so the caller can count and skip it.
 */
export function decodeBan(
  target: string,
  buf: Uint8Array,
  intern: (s: string) => string,
): Ban | null {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < FIXED || b[0] !== VERSION) return null;
  const family = b[1];
  if (family !== 4 && family !== 6) return null;
  const flags = b[2] ?? 0;
  const sameAttacker = (flags & ATTACKER_IS_TARGET) !== 0;
  const count = sameAttacker ? 3 : 4;
  const texts: string[] = [];
  let pos = FIXED;
  for (let i = 0; i < count; i++) {
    if (pos + 2 > b.length) return null;
    const end = pos + 2 + b.readUInt16LE(pos);
    if (end > b.length) return null;
    texts.push(b.toString('utf8', pos + 2, end));
    pos = end;
  }
  const [jail = '', origin = '', third = '', fourth = ''] = texts;
  return {
    target,
    family,
    jail: intern(jail),
    origin: intern(origin) as BanOrigin,
    attacker: sameAttacker ? target : third,
    start: b.readDoubleLE(4),
    end: (flags & PERMANENT) !== 0 ? null : b.readDoubleLE(12),
    banCount: b.readUInt32LE(28),
    failures: b.readUInt32LE(32),
    reason: intern(sameAttacker ? third : fourth),
    seq: b.readDoubleLE(20),
  };
}

/** Shares repeated strings; stops growing at `max` distinct values (unique reasons, say). */
export function makeInterner(max = 4096): (s: string) => string {
  const seen = new Map<string, string>();
  return (s) => {
    const hit = seen.get(s);
    if (hit !== undefined) return hit;
    if (seen.size < max) seen.set(s, s);
    return s;
  };
}

/** Feed key: fixed-width decimal, so key order is sequence order. */
export function seqKey(seq: number): string {
  return String(seq).padStart(16, '0');
}

/** Expiry-index key: fixed-width end time, then the target, so key order is expiry order. */
export function expiryKey(end: number, target: string): string {
  return `${String(Math.max(0, Math.trunc(end))).padStart(15, '0')} ${target}`;
}
