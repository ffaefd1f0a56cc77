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
