// The active-ban snapshot: every active ban at one sequence number, in one file, so a restart reads it in one go.
import { open, rename, rm } from 'node:fs/promises';
import { endianness } from 'node:os';
import { crc32 } from 'node:zlib';
import type { BanColumns } from './ban-columns.js';

/**
 * File layout, version 3: the active set's arrays (see `BanColumns`) as they lie in memory, so
 * that reading a million bans takes over a few buffers instead of decoding a million records.
 *   8 bytes magic "FBSNAP3\n", f64 lastSeq, u32 crc32 of everything after it;
 *   u32 slots (s), u32 index cells (c), u32 heap entries (h), u32 number of texts, then each
 *   text (jails, origins, reasons): u32 length + UTF-8; zero bytes up to a multiple of 8;
 *   f64 × s: start, end (NaN: permanent), seq; f64 × h: heap ends; u32 × s: banCount,
 *   failures, jail, origin, reason (text numbers), target length, attacker length;
 *   i32 × c: index cells; i32 × h: heap slots;
 *   u8 × s: used, family, attackerIsTarget; then the targets' UTF-8 bytes and the attackers'.
 * Wider numbers first, so each array lies aligned for its type and reading puts typed arrays
 * over the file's own bytes without copying them. Numbers are little-endian (a big-endian
 * machine neither writes nor reads snapshots). The target index places targets by their
 * `TextColumn.hash`: changing that hash needs a new version. Older versions (FBSNAP2) are not
 * read: the store scans once and writes this version at close. The LevelDB store stays the
 * truth; the snapshot is derived from it and only ever trusted together with the change feed
 * after `lastSeq` (see LevelBanStore).
 */
const MAGIC = Buffer.from('FBSNAP3\n', 'latin1');
const HEADER = MAGIC.length + 8 + 4;
const LITTLE_ENDIAN = endianness() === 'LE';

export interface Snapshot {
  readonly lastSeq: number;
  /** Active bans in it (used slots). */
  readonly count: number;
  readonly columns: BanColumns;
}

type Column = Float64Array | Uint32Array | Int32Array | Uint8Array;

/** The arrays in file order after the texts (`decodeSnapshot` reads them in this order). */
function arrays(c: BanColumns): Column[] {
  return [
    ...[c.start, c.end, c.seq, c.heap.ends],
    ...[c.banCount, c.failures, c.jail, c.origin, c.reason, c.targets.lengths, c.attackers.lengths],
    ...[c.index, c.heap.slots],
    ...[c.used, c.family, c.attackerIsTarget],
  ];
}

/** Encodes the active set's `columns` as they stand at `lastSeq`. */
export function encodeSnapshot(lastSeq: number, columns: BanColumns): Buffer {
  if (!LITTLE_ENDIAN) throw new RangeError('snapshots are written on little-endian machines only');
  const texts = columns.texts.map((t) => Buffer.from(t, 'utf8'));
  const columnArrays = arrays(columns);
  const textsEnd = aligned(HEADER + 16 + texts.reduce((sum, t) => sum + 4 + t.length, 0));
  const size =
    textsEnd +
    columnArrays.reduce((sum, array) => sum + array.byteLength, 0) +
    columns.targets.bytes.length +
    columns.attackers.bytes.length;
  const buf = Buffer.allocUnsafe(size);
  MAGIC.copy(buf, 0);
  buf.writeDoubleLE(lastSeq, 8);
  let pos = buf.writeUInt32LE(columns.used.length, HEADER);
  pos = buf.writeUInt32LE(columns.index.length, pos);
  pos = buf.writeUInt32LE(columns.heap.slots.length, pos);
  pos = buf.writeUInt32LE(texts.length, pos);
  for (const t of texts) {
    pos = buf.writeUInt32LE(t.length, pos);
    pos += t.copy(buf, pos);
  }
  buf.fill(0, pos, textsEnd);
  pos = textsEnd;
  for (const array of columnArrays) {
    buf.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), pos);
    pos += array.byteLength;
  }
  pos += columns.targets.bytes.copy(buf, pos);
  columns.attackers.bytes.copy(buf, pos);
  buf.writeUInt32LE(crc32(buf.subarray(HEADER)), 16);
  return buf;
}

/**
 * Decodes a snapshot, or returns null when the bytes are not a whole, intact snapshot. The
 * columns lie over `buf`'s memory (over a copy when it is not 8-aligned): `buf` must not change.
 */
export function decodeSnapshot(buf: Buffer): Snapshot | null {
  if (!LITTLE_ENDIAN) return null;
  if (buf.length < HEADER + 16 || !buf.subarray(0, MAGIC.length).equals(MAGIC)) return null;
  if (crc32(buf.subarray(HEADER)) !== buf.readUInt32LE(16)) return null;
  const lastSeq = buf.readDoubleLE(8);
  const slots = buf.readUInt32LE(HEADER);
  const cells = buf.readUInt32LE(HEADER + 4);
  const heap = buf.readUInt32LE(HEADER + 8);
  const texts: string[] = [];
  let pos = HEADER + 16;
  for (let i = buf.readUInt32LE(HEADER + 12); i > 0; i--) {
    if (pos + 4 > buf.length) return null;
    const end = pos + 4 + buf.readUInt32LE(pos);
    if (end > buf.length) return null;
    texts.push(buf.toString('utf8', pos + 4, end));
    pos = end;
  }
  pos = aligned(pos);
  if (pos + slots * (3 * 8 + 7 * 4 + 3) + cells * 4 + heap * 12 > buf.length) return null;
  const bytes = buf.byteOffset % 8 === 0 ? buf : Buffer.from(buf);
  const next = <T extends Column>(
    type: new (b: ArrayBufferLike, o: number, n: number) => T,
    n: number,
  ): T => {
    const array = new type(bytes.buffer, bytes.byteOffset + pos, n);
    pos += array.byteLength;
    return array;
  };
  const f64 = (n: number) => next(Float64Array, n);
  const u32 = (n: number) => next(Uint32Array, n);
  const i32 = (n: number) => next(Int32Array, n);
  const u8 = (n: number) => next(Uint8Array, n);
  const [start, end, seq, heapEnds] = [f64(slots), f64(slots), f64(slots), f64(heap)];
  const [banCount, failures, jail, origin, reason, targetLengths, attackerLengths] = [
    u32(slots),
    u32(slots),
    u32(slots),
    u32(slots),
    u32(slots),
    u32(slots),
    u32(slots),
  ];
  const [indexCells, heapSlots] = [i32(cells), i32(heap)];
  const [used, family, attackerIsTarget] = [u8(slots), u8(slots), u8(slots)];
  const targetBytes = sum(targetLengths);
  if (pos + targetBytes + sum(attackerLengths) !== buf.length) return null;
  return {
    lastSeq,
    count: sum(used),
    columns: {
      texts,
      used,
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
      index: indexCells,
      heap: { slots: heapSlots, ends: heapEnds },
    },
  };
}

function aligned(offset: number): number {
  return Math.ceil(offset / 8) * 8;
}

function sum(values: Uint32Array | Uint8Array): number {
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
