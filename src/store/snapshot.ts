// The active-ban snapshot: every active ban at one sequence number, in one file, so a restart reads it in one go.
import { open, rename, rm } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import type { Ban, BanOrigin } from '../core/types.js';

/**
 * File layout (little-endian), version 2:
 *   8 bytes magic "FBSNAP2\n", f64 lastSeq, u32 count, u32 crc32 of everything after the header,
 *   u32 number of texts, then each text (jails, origins, reasons): u32 length + UTF-8;
 *   then per ban: u8 flags (1 permanent, 2 attacker is the target), u8 family, u32 jail text,
 *   u32 origin text, u32 reason text, f64 start, f64 end, f64 seq, u32 banCount, u32 failures,
 *   u8 target length + target, and unless flag 2, u8 attacker length + attacker (ASCII).
 * Texts that repeat across bans are stored once, and addresses are ASCII: decoding a million bans
 * is a tight loop of fixed reads. The LevelDB store stays the truth; the snapshot is derived from
 * it and only ever trusted together with the change feed after `lastSeq` (see LevelBanStore).
 */
const MAGIC = Buffer.from('FBSNAP2\n', 'latin1');
const HEADER = MAGIC.length + 8 + 4 + 4;
const PERMANENT = 1;
const ATTACKER_IS_TARGET = 2;
const FIXED = 1 + 1 + 4 * 3 + 8 * 3 + 4 * 2;

export interface Snapshot {
  readonly lastSeq: number;
  readonly bans: Ban[];
}

/** Encodes `bans` as they stand at `lastSeq`. */
export function encodeSnapshot(lastSeq: number, bans: readonly Ban[]): Buffer {
  const textIndex = new Map<string, number>();
  const texts: Buffer[] = [];
  const indexOf = (text: string): number => {
    let i = textIndex.get(text);
    if (i === undefined) {
      i = texts.length;
      textIndex.set(text, i);
      texts.push(Buffer.from(text, 'utf8'));
    }
    return i;
  };
  let size = HEADER + 4;
  for (const ban of bans) {
    indexOf(ban.jail);
    indexOf(ban.origin);
    indexOf(ban.reason);
    size += FIXED + 1 + ban.target.length;
    if (ban.attacker !== ban.target) size += 1 + ban.attacker.length;
  }
  for (const t of texts) size += 4 + t.length;
  const buf = Buffer.allocUnsafe(size);
  MAGIC.copy(buf, 0);
  buf.writeDoubleLE(lastSeq, 8);
  buf.writeUInt32LE(bans.length, 16);
  let pos = HEADER;
  pos = buf.writeUInt32LE(texts.length, pos);
  for (const t of texts) {
    pos = buf.writeUInt32LE(t.length, pos);
    pos += t.copy(buf, pos);
  }
  for (const ban of bans) {
    const same = ban.attacker === ban.target;
    pos = buf.writeUInt8((ban.end === null ? PERMANENT : 0) | (same ? ATTACKER_IS_TARGET : 0), pos);
    pos = buf.writeUInt8(ban.family, pos);
    pos = buf.writeUInt32LE(indexOf(ban.jail), pos);
    pos = buf.writeUInt32LE(indexOf(ban.origin), pos);
    pos = buf.writeUInt32LE(indexOf(ban.reason), pos);
    pos = buf.writeDoubleLE(ban.start, pos);
    pos = buf.writeDoubleLE(ban.end ?? 0, pos);
    pos = buf.writeDoubleLE(ban.seq, pos);
    pos = buf.writeUInt32LE(Math.min(Math.max(ban.banCount, 0), 0xffffffff), pos);
    pos = buf.writeUInt32LE(Math.min(Math.max(ban.failures, 0), 0xffffffff), pos);
    pos = writeShortAscii(buf, pos, ban.target);
    if (!same) pos = writeShortAscii(buf, pos, ban.attacker);
  }
  buf.writeUInt32LE(crc32(buf.subarray(HEADER)), 20);
  return buf;
}

const SHORT_ASCII = /^[\x20-\x7e]{1,255}$/;

/** Addresses and prefixes are short ASCII; anything else cannot be snapshotted (the store is scanned). */
function writeShortAscii(buf: Buffer, pos: number, text: string): number {
  if (!SHORT_ASCII.test(text))
    throw new RangeError(`not a short ASCII address: ${text.slice(0, 40)}`);
  buf[pos] = text.length;
  return pos + 1 + buf.write(text, pos + 1, 'latin1');
}

/** Decodes a snapshot, or returns null when the bytes are not a whole, intact snapshot. */
export function decodeSnapshot(buf: Buffer): Snapshot | null {
  if (buf.length < HEADER + 4 || !buf.subarray(0, MAGIC.length).equals(MAGIC)) return null;
  if (crc32(buf.subarray(HEADER)) !== buf.readUInt32LE(20)) return null;
  const lastSeq = buf.readDoubleLE(8);
  const count = buf.readUInt32LE(16);
  const texts: string[] = [];
  let pos = HEADER + 4;
  for (let i = buf.readUInt32LE(HEADER); i > 0; i--) {
    if (pos + 4 > buf.length) return null;
    const end = pos + 4 + buf.readUInt32LE(pos);
    if (end > buf.length) return null;
    texts.push(buf.toString('utf8', pos + 4, end));
    pos = end;
  }
  const bans: Ban[] = new Array<Ban>(count);
  for (let i = 0; i < count; i++) {
    if (pos + FIXED + 1 > buf.length) return null;
    const flags = buf[pos] ?? 0;
    const family = buf[pos + 1];
    const jail = texts[buf.readUInt32LE(pos + 2)];
    const origin = texts[buf.readUInt32LE(pos + 6)];
    const reason = texts[buf.readUInt32LE(pos + 10)];
    if ((family !== 4 && family !== 6) || jail === undefined || origin === undefined) return null;
    if (reason === undefined) return null;
    const targetEnd = pos + FIXED + 1 + (buf[pos + FIXED] ?? 0);
    if (targetEnd > buf.length) return null;
    const target = buf.toString('latin1', pos + FIXED + 1, targetEnd);
    let attacker = target;
    let next = targetEnd;
    if ((flags & ATTACKER_IS_TARGET) === 0) {
      next = targetEnd + 1 + (buf[targetEnd] ?? 0);
      if (next > buf.length) return null;
      attacker = buf.toString('latin1', targetEnd + 1, next);
    }
    bans[i] = {
      target,
      family,
      jail,
      origin: origin as BanOrigin,
      attacker,
      start: buf.readDoubleLE(pos + 14),
      end: (flags & PERMANENT) !== 0 ? null : buf.readDoubleLE(pos + 22),
      banCount: buf.readUInt32LE(pos + 38),
      failures: buf.readUInt32LE(pos + 42),
      reason,
      seq: buf.readDoubleLE(pos + 30),
    };
    pos = next;
  }
  return pos === buf.length ? { lastSeq, bans } : null;
}

/** Reads the snapshot at `file`; null when it is missing or not intact (the caller scans instead). */
export async function readSnapshot(file: string): Promise<Snapshot | null> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return null;
  }
  try {
    return decodeSnapshot(await handle.readFile());
  } finally {
    await handle.close();
  }
}

/** Writes the snapshot next to its final name, syncs it, then renames it into place. */
export async function writeSnapshot(file: string, buf: Buffer): Promise<void> {
  const temporary = `${file}.tmp`;
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(buf);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, file);
}

/** Removes a snapshot (used when the store it describes changes without the feed). */
export async function removeSnapshot(file: string): Promise<void> {
  await rm(file, { force: true });
}
