// Splits a set change into an nft transaction of bounded cost: a set rewrite instead of many deletes, adds in chunks.
import type { EpochMs } from '../core/clock.js';
import { isSingleAddress, type IpFamily } from '../core/ip.js';
import type { SetDiff } from './diff.js';
import {
  NFT_FAMILY,
  NFT_TABLE,
  SET_OF_FAMILY,
  type SetContents,
  type SetElement,
} from './element.js';
import { renderAdd, renderDelete, type NftCommand } from './render.js';

/**
 * Measured on nft 1.0.6 with `interval` sets (2 shared cores): deleting k elements from a set of
 * n costs about k × n × 4 µs (100 deletes from 50,000: 20 s; 5,000: over an hour), while flushing
 * the set and adding back the n wanted ones costs about n × 28 µs (50,000: 1.4 s), and so does any
 * add (the whole set is read back first). Past a handful of deletes the rewrite is cheaper.
 */
const REWRITE_AFTER_REMOVES = 8;

/**
 * Adds per set in one transaction. A larger add is applied in chunks, one transaction each, so
 * bans that arrive meanwhile go into the next transaction instead of waiting for all of it.
 */
const MAX_ADDS_PER_BATCH = 10_000;

export interface PlanLimits {
  readonly rewriteAfterRemoves: number;
  readonly maxAdds: number;
}

export const DEFAULT_PLAN_LIMITS: PlanLimits = {
  rewriteAfterRemoves: REWRITE_AFTER_REMOVES,
  maxAdds: MAX_ADDS_PER_BATCH,
};

/** What one transaction does to one set. */
export type SetStep =
  /** Flush the set and add these (every wanted element): atomic, so no ban lapses meanwhile. */
  | { readonly kind: 'rewrite'; readonly elements: readonly SetElement[] }
  | {
      readonly kind: 'change';
      readonly remove: readonly SetElement[];
      readonly add: readonly SetElement[];
    };

export interface BatchPlan {
  readonly steps: Readonly<Record<IpFamily, SetStep>>;
  /** Adds left for a later transaction (past `maxAdds`): still wanted, not yet applied. */
  readonly deferred: Readonly<Record<IpFamily, readonly SetElement[]>>;
}

/**
 * Plans one transaction from the diffs. `wantedOf` gives a family's whole wanted set; it is only
 * called for a set that is rewritten. Adds beyond `maxAdds` are deferred: prefixes first (a
 * prefix may replace addresses deleted in this same transaction), then the keys in `first`
 * (the newest changes), then the rest in diff order.
 */
export function planBatch(
  diffs: Readonly<Record<IpFamily, SetDiff>>,
  wantedOf: (family: IpFamily) => SetContents,
  limits: PlanLimits = DEFAULT_PLAN_LIMITS,
  first: ReadonlySet<string> = new Set(),
): BatchPlan {
  const plan = (family: IpFamily): { step: SetStep; deferred: readonly SetElement[] } => {
    const diff = diffs[family];
    if (diff.remove.length > limits.rewriteAfterRemoves) {
      return { step: { kind: 'rewrite', elements: [...wantedOf(family).values()] }, deferred: [] };
    }
    if (diff.add.length <= limits.maxAdds) {
      return { step: { kind: 'change', remove: diff.remove, add: diff.add }, deferred: [] };
    }
    const ordered = prioritised(diff.add, first);
    return {
      step: { kind: 'change', remove: diff.remove, add: ordered.slice(0, limits.maxAdds) },
      deferred: ordered.slice(limits.maxAdds),
    };
  };
  const v4 = plan(4);
  const v6 = plan(6);
  return { steps: { 4: v4.step, 6: v6.step }, deferred: { 4: v4.deferred, 6: v6.deferred } };
}

function prioritised(add: readonly SetElement[], first: ReadonlySet<string>): SetElement[] {
  const prefixes: SetElement[] = [];
  const fresh: SetElement[] = [];
  const rest: SetElement[] = [];
  for (const e of add) {
    if (!isSingleAddress(e.cidr)) prefixes.push(e);
    else if (first.has(e.key)) fresh.push(e);
    else rest.push(e);
  }
  return [...prefixes, ...fresh, ...rest];
}

/** The transaction: flushes and deletes first (so a prefix can replace the addresses it covers), then adds. */
export function renderPlan(plan: BatchPlan, now: EpochMs): NftCommand[] {
  const clear: NftCommand[] = [];
  const add: NftCommand[] = [];
  for (const family of [4, 6] as const) {
    const step = plan.steps[family];
    if (step.kind === 'rewrite') {
      clear.push({
        flush: { set: { family: NFT_FAMILY, table: NFT_TABLE, name: SET_OF_FAMILY[family] } },
      });
      add.push(...renderAdd(family, step.elements, now));
    } else {
      clear.push(...renderDelete(family, step.remove));
      add.push(...renderAdd(family, step.add, now));
    }
  }
  return [...clear, ...add];
}
