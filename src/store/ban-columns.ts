// The active-ban set as plain arrays (what the snapshot holds), and the checks it must pass to be taken over.

/**
 * The active set's own arrays, slot by slot (slots 0 to `used.length` - 1, free ones included),
 * with its target index and expiry heap, as the snapshot stores them: `used` marks the slots
 * holding a ban, `end` is NaN for a permanent ban, `jail`/`origin`/`reason` number a text of
 * `texts`, and `attackerIsTarget` marks bans whose attacker is their target (no attacker text).
 * Slot versions are not part of it: a restored set starts them all at 0, heap entries too.
 */
export interface BanColumns {
  readonly texts: readonly string[];
  readonly used: Uint8Array;
  readonly family: Uint8Array;
  readonly attackerIsTarget: Uint8Array;
  readonly jail: Uint32Array;
  readonly origin: Uint32Array;
  readonly reason: Uint32Array;
  readonly start: Float64Array;
  readonly end: Float64Array;
  readonly seq: Float64Array;
  readonly banCount: Uint32Array;
  readonly failures: Uint32Array;
  readonly targets: PackedTexts;
  readonly attackers: PackedTexts;
  /** The target index's hash table (see TargetIndex). */
  readonly index: Int32Array;
  /** The expiry heap's entries, in heap order, every one live. */
  readonly heap: { readonly slots: Int32Array; readonly ends: Float64Array };
}

/** Texts one after another in `bytes` (UTF-8), text i being `lengths[i]` bytes long. */
export interface PackedTexts {
  readonly bytes: Buffer;
  readonly lengths: Uint32Array;
}

/**
 * Counts the used slots and lists the free ones (highest first, so the lowest is reused first),
 * or null when the arrays do not hold together: lengths that differ, a slot marked other than 0
 * or 1, a family other than 4 or 6, a text number out of range, or a heap that does not hold each
 * ban that ends exactly once with its end. (The index and heap check their own shape.)
 */
export function checkColumns(c: BanColumns): { used: number; free: number[] } | null {
  const n = c.used.length;
  const perSlot = [c.family, c.attackerIsTarget, c.jail, c.origin, c.reason, c.banCount];
  const numbers = [c.start, c.end, c.seq, c.failures, c.targets.lengths, c.attackers.lengths];
  if (![...perSlot, ...numbers].every((a) => a.length === n)) return null;
  const texts = c.texts.length;
  const free: number[] = [];
  let used = 0;
  for (let slot = n - 1; slot >= 0; slot--) {
    const mark = c.used[slot];
    if (mark === 0) {
      free.push(slot);
      continue;
    }
    const family = c.family[slot];
    if (mark !== 1 || (family !== 4 && family !== 6) || (c.attackerIsTarget[slot] ?? 2) > 1)
      return null;
    if (!((c.jail[slot] ?? texts) < texts && (c.origin[slot] ?? texts) < texts)) return null;
    if (!((c.reason[slot] ?? texts) < texts)) return null;
    used++;
  }
  return holdsEachExpiringBanOnce(c) ? { used, free } : null;
}

/** Whether the heap has exactly one entry per used slot that ends, with that slot's end. */
function holdsEachExpiringBanOnce(c: BanColumns): boolean {
  const seen = new Uint8Array(c.used.length);
  let entries = 0;
  for (let i = 0; i < c.heap.slots.length; i++) {
    const slot = c.heap.slots[i] ?? 0;
    if (c.used[slot] !== 1 || seen[slot] === 1 || c.heap.ends[i] !== c.end[slot]) return false;
    seen[slot] = 1;
    entries++;
  }
  let expiring = 0;
  for (let slot = 0; slot < c.used.length; slot++)
    if (c.used[slot] === 1 && !Number.isNaN(c.end[slot] ?? NaN)) expiring++;
  return entries === expiring;
}
