// The active-ban snapshot: every active ban at one sequence number, in one file, so a restart reads it in one go.
import { open, rename, rm } from 'node:fs/promises';
import { endianness } from 'node:os';
import { crc32 } from 'node:zlib';
import type { BanColumns } from './active-bans.js';

/**
 * File layout, version 3: the active set's columns (see `BanColumns`) as they lie in memory, so
 * that reading a million bans is copying a few buffers rather than decoding a million records.
 *   8 bytes magic "FBSNAP3\n", f64 lastSeq, u32 count (n), u32 crc32 of everything after the header,
 *   u32 number of texts, then each text (jails, origins, reasons): u32 length + UTF-8;
 *   zero bytes up to a multiple of 8; then the columns, n values each: f64 start, end (NaN:
 *   permanent), seq, banCount, failures;
 *   u32 jail, origin, reason (text numbers), target length, attacker length;
 *   u8 family, attackerIsTarget; then the targets' UTF-8 bytes and the attackers'.
 * Numbers are little-endian (a big-endian machine neither writes nor reads snapshots). Reading
 * puts the columns over the file's own bytes, without copying them (hence the alignment). The
 * LevelDB store stays the truth; the snapshot is derived from it and only ever trusted together
 * with the change feed after `lastSeq` (see LevelBanStore).
 */
const MAGIC = Buffer.from('FBSNAP3\n', 'latin1');
const HEADER = MAGIC.length + 8 + 4 + 4;
/** Bytes per ban in the fixed-width columns: five f64, five u32, two u8. */
const ROW = 5 * 8 + 5 * 4 + 2;
const LITTLE_ENDIAN = endianness() === 'LE';

export interface Snapshot {
  readonly lastSeq: number;
  readonly columns: BanColumns;
}

type Column = Float64Array | Uint32Array | Uint8Array;

/** The columns in file order (after the texts), the text bytes excepted. */
function fixedColumns(c: BanColumns): Column[] {
  return [
    c.start,
    c.end,
    c.seq,
    c.banCount,
    c.failures,
    c.jail,
    c.origin,
    c.reason,
    c.targets.lengths,
    c.attackers.lengths,
    c.family,
    c.attackerIsTarget,
  ];
}

/** Encodes the active set `columns` as it stands at `lastSeq`. */
export function encodeSnapshot(lastSeq: number, columns: BanColumns): Buffer {
  if (!LITTLE_ENDIAN) throw new RangeError('snapshots are written on little-endian machines only');
  const texts = columns.texts.map((t) => Buffer.from(t, 'utf8'));
  const textsEnd = aligned(HEADER + 4 + texts.reduce((sum, t) => sum + 4 + t.length, 0));
  const size =
    textsEnd + ROW * columns.count + columns.targets.bytes.length + columns.attackers.bytes.length;
  const buf = Buffer.allocUnsafe(size);
  MAGIC.copy(buf, 0);
  buf.writeDoubleLE(lastSeq, 8);
  buf.writeUInt32LE(columns.count, 16);
  let pos = buf.writeUInt32LE(texts.length, HEADER);
  for (const t of texts) {
    pos = buf.writeUInt32LE(t.length, pos);
    pos += t.copy(buf, pos);
  }
  buf.fill(0, pos, textsEnd);
  pos = textsEnd;
  for (const column of fixedColumns(columns)) {
    buf.set(new Uint8Array(column.buffer, column.byteOffset, column.byteLength), pos);
    pos += column.byteLength;
  }
  pos += columns.targets.bytes.copy(buf, pos);
  columns.attackers.bytes.copy(buf, pos);
  buf.writeUInt32LE(crc32(buf.subarray(HEADER)), 20);
  return buf;
}

/** Decodes a snapshot, or returns null when the bytes are not a whole, intact snapshot. */
export function decodeSnapshot(buf: Buffer): Snapshot | null {
  if (!LITTLE_ENDIAN) return null;
  if (buf.length < HEADER + 4 || !buf.subarray(0, MAGIC.length).equals(MAGIC)) return null;
  if (crc32(buf.subarray(HEADER)) !== buf.readUInt32LE(20)) return null;
  const lastSeq = buf.readDoubleLE(8);
  const n = buf.readUInt32LE(16);
  const texts: string[] = [];
  let pos = HEADER + 4;
  for (let i = buf.readUInt32LE(HEADER); i > 0; i--) {
    if (pos + 4 > buf.length) return null;
    const end = pos + 4 + buf.readUInt32LE(pos);
    if (end > buf.length) return null;
    texts.push(buf.toString('utf8', pos + 4, end));
    pos = end;
  }
  pos = aligned(pos);
  if (pos + ROW * n > buf.length) return null;
  // A copy only when the file's bytes are not 8-aligned in memory (they are when read from disk).
  const bytes = buf.byteOffset % 8 === 0 ? buf : Buffer.from(buf);
  const read = <T extends Column>(
    make: new (buffer: ArrayBufferLike, offset: number, n: number) => T,
    size: number,
  ): T => {
    const column = new make(bytes.buffer, bytes.byteOffset + pos, n);
    pos += size * n;
    return column;
  };
  const [start, end, seq, banCount, failures] = [0, 1, 2, 3, 4].map(() => read(Float64Array, 8));
  const [jail, origin, reason, targetLengths, attackerLengths] = [0, 1, 2, 3, 4].map(() =>
    read(Uint32Array, 4),
  );
  const family = read(Uint8Array, 1);
  const attackerIsTarget = read(Uint8Array, 1);
  if (!start || !end || !seq || !banCount || !failures) return null;
  if (!jail || !origin || !reason || !targetLengths || !attackerLengths) return null;
  const targetBytes = sum(targetLengths);
  if (pos + targetBytes + sum(attackerLengths) !== buf.length) return null;
  for (let i = 0; i < n; i++) {
    const f = family[i];
    if ((f !== 4 && f !== 6) || (attackerIsTarget[i] ?? 2) > 1) return null;
    if (!((jail[i] ?? Infinity) < texts.length && (origin[i] ?? Infinity) < texts.length))
      return null;
    if (!((reason[i] ?? Infinity) < texts.length)) return null;
  }
  return {
    lastSeq,
    columns: {
      count: n,
      texts,
      family,
      attackerIsTarget,
      jail,
      origin,
      reason,
      start,
      end,
      seq,
      banCount,
      failures,
      targets: { bytes: bytes.subarray(pos, pos + targetBytes), lengths: targetLengths },
      attackers: { bytes: bytes.subarray(pos + targetBytes), lengths: attackerLengths },
    },
  };
}

function aligned(offset: number): number {
  return Math.ceil(offset / 8) * 8;
}

function sum(values: Uint32Array): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

/** Reads the snapshot at `file`; null when it is missing, unreadable or not intact (the caller scans instead). */
export async function readSnapshot(file: string): Promise<Snapshot | null> {
  let bytes: Buffer;
  try {
    const handle = await open(file, 'r');
    try {
      bytes = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch {
    return null;
  }
  return decodeSnapshot(bytes);
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
