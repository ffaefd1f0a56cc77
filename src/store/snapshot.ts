// The active-ban snapshot: every active ban at one sequence number, in one file, so a restart reads it in one go.
import { open, rename, rm } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import type { Ban } from '../core/types.js';
import { decodeBan, encodeBanInto, encodedBanSize, makeInterner } from './codec.js';

/**
 * File layout (little-endian):
 *   8 bytes magic "FBSNAP1\n", f64 lastSeq, u32 count, u32 crc32 of everything after the header,
 *   then per ban: u16 target length, target (UTF-8), u16 record length, the record of codec.ts.
 * The LevelDB store stays the truth; the snapshot is derived from it and only ever trusted
 * together with the change feed after `lastSeq` (see LevelBanStore's load).
 */
const MAGIC = Buffer.from('FBSNAP1\n', 'latin1');
const HEADER = MAGIC.length + 8 + 4 + 4;

export interface Snapshot {
  readonly lastSeq: number;
  readonly bans: Ban[];
}

/** Encodes `bans` as they stand at `lastSeq`. */
export function encodeSnapshot(lastSeq: number, bans: readonly Ban[]): Buffer {
  let size = HEADER;
  const targets: Buffer[] = new Array<Buffer>(bans.length);
  for (let i = 0; i < bans.length; i++) {
    const ban = bans[i] as Ban;
    const target = Buffer.from(ban.target, 'latin1');
    targets[i] = target;
    size += 4 + target.length + encodedBanSize(ban);
  }
  const buf = Buffer.allocUnsafe(size);
  MAGIC.copy(buf, 0);
  buf.writeDoubleLE(lastSeq, 8);
  buf.writeUInt32LE(bans.length, 16);
  let pos = HEADER;
  for (let i = 0; i < bans.length; i++) {
    const target = targets[i] as Buffer;
    buf.writeUInt16LE(target.length, pos);
    target.copy(buf, pos + 2);
    pos += 2 + target.length;
    const length = encodeBanInto(bans[i] as Ban, buf, pos + 2);
    buf.writeUInt16LE(length, pos);
    pos += 2 + length;
  }
  buf.writeUInt32LE(crc32(buf.subarray(HEADER)), 20);
  return buf;
}

/** Decodes a snapshot, or returns null when the bytes are not a whole, intact snapshot. */
export function decodeSnapshot(buf: Buffer): Snapshot | null {
  if (buf.length < HEADER || !buf.subarray(0, MAGIC.length).equals(MAGIC)) return null;
  if (crc32(buf.subarray(HEADER)) !== buf.readUInt32LE(20)) return null;
  const lastSeq = buf.readDoubleLE(8);
  const count = buf.readUInt32LE(16);
  const intern = makeInterner();
  const bans: Ban[] = [];
  let pos = HEADER;
  for (let i = 0; i < count; i++) {
    if (pos + 2 > buf.length) return null;
    const targetEnd = pos + 2 + buf.readUInt16LE(pos);
    if (targetEnd + 2 > buf.length) return null;
    const target = buf.toString('latin1', pos + 2, targetEnd);
    const recordEnd = targetEnd + 2 + buf.readUInt16LE(targetEnd);
    if (recordEnd > buf.length) return null;
    const ban = decodeBan(target, buf.subarray(targetEnd + 2, recordEnd), intern);
    if (ban === null) return null;
    bans.push(ban);
    pos = recordEnd;
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
