// Splits a set change into an nft transaction of bounded cost: a set rewrite instead of many deletes, adds in chunks.
import type { EpochMs } from '../core/clock.js';
import type { SetDiff } from './diff.js';
import {
  BAN_SET_SPECS,
  BAN_SETS,
  NFT_FAMILY,
  NFT_TABLE,
  perSet,
  type BanSet,
  type PerSet,
  type SetContents,
  type SetElement,
} from './element.js';
import { renderAdd, renderDelete, type NftCommand } from './render.js';

/**
 * Measured on nft 1.0.6 with `interval` sets (2 shared cores): deleting k elements from a set of
 * n costs about k × n × 4 µs (100 deletes from 50,000: 20 s; 5,000: over an hour), while flushing
 * the set and adding back the n wanted ones costs about n × 28 µs (50,000: 1.4 s). Past a handful
 * of deletes the rewrite is cheaper. Hash sets delete at the cost of an add: never rewritten.
 */
const REWRITE_AFTER_REMOVES = 8;

/**
 * Adds per hash set in one transaction. A larger add is applied in chunks, one transaction each,
 * so bans that arrive meanwhile go into the next transaction instead of waiting for all of it.
 * Interval sets are never chunked: a prefix added may replace the prefixes it covers, deleted in
 * the same transaction, and they are small.
 */
const MAX_ADDS_PER_BATCH = 10_000;

/**
 * A snapshot into an empty namespace goes in transactions of this many elements, each rendered
 * while nft applies the one before (agent/enforcer.ts #fill); a smaller one is one transaction.
 */
const FILL_CHUNK = 100_000;

export interface PlanLimits {
  readonly rewriteAfterRemoves: number;
  readonly maxAdds: number;
  readonly fillChunk: number;
}

export const DEFAULT_PLAN_LIMITS: PlanLimits = {
  rewriteAfterRemoves: REWRITE_AFTER_REMOVES,
  maxAdds: MAX_ADDS_PER_BATCH,
  fillChunk: FILL_CHUNK,
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
  readonly steps: Readonly<PerSet<SetStep>>;
  /** Adds left for a later transaction (past `maxAdds`): still wanted, not yet applied. */
  readonly deferred: Readonly<PerSet<readonly SetElement[]>>;
}

/**
 * Plans one transaction from the diffs. `wantedOf` gives a set's whole wanted contents; it is only
 * called for a set that is rewritten. Adds to a hash set beyond `maxAdds` are deferred: the keys
 * in `first` (the newest changes) go now, then the rest in diff order.
 */
export function planBatch(
  diffs: Readonly<PerSet<SetDiff>>,
  wantedOf: (set: BanSet) => SetContents,
  limits: PlanLimits = DEFAULT_PLAN_LIMITS,
  first: ReadonlySet<string> = new Set(),
): BatchPlan {
  const plans = perSet((set): { step: SetStep; deferred: readonly SetElement[] } => {
    const diff = diffs[set];
    const interval = BAN_SET_SPECS[set].interval;
    if (interval && diff.remove.length > limits.rewriteAfterRemoves) {
      return { step: { kind: 'rewrite', elements: [...wantedOf(set).values()] }, deferred: [] };
    }
    if (interval || diff.add.length <= limits.maxAdds) {
      return { step: { kind: 'change', remove: diff.remove, add: diff.add }, deferred: [] };
    }
    const ordered = prioritised(diff.add, first);
    return {
      step: { kind: 'change', remove: diff.remove, add: ordered.slice(0, limits.maxAdds) },
      deferred: ordered.slice(limits.maxAdds),
    };
  });
  return {
    steps: perSet((set) => plans[set].step),
    deferred: perSet((set) => plans[set].deferred),
  };
}

function prioritised(add: readonly SetElement[], first: ReadonlySet<string>): SetElement[] {
  const fresh: SetElement[] = [];
  const rest: SetElement[] = [];
  for (const e of add) (first.has(e.key) ? fresh : rest).push(e);
  return [...fresh, ...rest];
}

/** The transaction: flushes and deletes first (so a prefix can replace the prefixes it covers), then adds. */
export function renderPlan(plan: BatchPlan, now: EpochMs): NftCommand[] {
  const clear: NftCommand[] = [];
  const add: NftCommand[] = [];
  for (const set of BAN_SETS) {
    const step = plan.steps[set];
    if (step.kind === 'rewrite') {
      clear.push({ flush: { set: { family: NFT_FAMILY, table: NFT_TABLE, name: set } } });
      add.push(...renderAdd(set, step.elements, now));
    } else {
      clear.push(...renderDelete(set, step.remove));
      add.push(...renderAdd(set, step.add, now));
    }
  }
  return [...clear, ...add];
}
