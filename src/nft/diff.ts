// The operations that take a set from what the kernel holds to what is wanted, valid for nft 1.0.6.
import type { EpochMs } from '../core/clock.js';
import type { SetContents, SetElement } from './element.js';

export interface SetDiff {
  /** Elements present (and not yet expired) in the kernel that are not wanted. */
  readonly remove: readonly SetElement[];
  /** Wanted elements missing from the kernel, or whose kernel expiry is off by more than the tolerance. */
  readonly add: readonly SetElement[];
}

export function isEmptyDiff(d: SetDiff): boolean {
  return d.remove.length === 0 && d.add.length === 0;
}

/**
 * Diffs wanted against kernel contents. Kernel elements whose `end` has passed count as gone (the
 * kernel already dropped them, and deleting an absent element fails the whole batch). Re-adding a
 * present element replaces its timeout (measured on nft 1.0.6), so a re-timed element is just an add.
 * Both inputs must be normalised (no element inside another), so removes-then-adds never overlap.
 */
export function diffSet(
  wanted: SetContents,
  kernel: SetContents,
  now: EpochMs,
  toleranceMs: number,
): SetDiff {
  const remove: SetElement[] = [];
  const add: SetElement[] = [];
  for (const [key, present] of kernel) {
    if (isGone(present, now)) continue;
    if (!wanted.has(key)) remove.push(present);
  }
  for (const [key, element] of wanted) {
    const present = kernel.get(key);
    if (
      present === undefined ||
      isGone(present, now) ||
      drifted(element.end, present.end, toleranceMs)
    ) {
      add.push(element);
    }
  }
  return { remove, add };
}

function isGone(element: SetElement, now: EpochMs): boolean {
  return element.end !== null && element.end <= now;
}

function drifted(want: EpochMs | null, have: EpochMs | null, toleranceMs: number): boolean {
  if (want === null || have === null) return want !== have;
  return Math.abs(want - have) > toleranceMs;
}

/**
 * diffSet for the given keys only, without walking either set. Valid when nothing but these keys
 * can have changed since the kernel last matched the wanted set (no key covered by another):
 * what the agent knows between full syncs. `wanted` holds the keys' wanted elements; a key absent
 * from it is no longer wanted. One verdict differs from diffSet, on purpose: a key whose ban now
 * ends later than its kernel element is re-added even within the tolerance, because a changed
 * key is not looked at again before the next reconcile, and the ban must not lapse early.
 */
export function diffKeys(
  wanted: SetContents,
  kernel: SetContents,
  keys: Iterable<string>,
  now: EpochMs,
  toleranceMs: number,
): SetDiff {
  const remove: SetElement[] = [];
  const add: SetElement[] = [];
  for (const key of keys) {
    const element = wanted.get(key);
    const present = kernel.get(key);
    if (element === undefined) {
      if (present !== undefined && !isGone(present, now)) remove.push(present);
    } else if (
      present === undefined ||
      isGone(present, now) ||
      drifted(element.end, present.end, toleranceMs) ||
      endsLater(element.end, present.end)
    ) {
      add.push(element);
    }
  }
  return { remove, add };
}

function endsLater(want: EpochMs | null, have: EpochMs | null): boolean {
  return want !== null && have !== null && want > have;
}
