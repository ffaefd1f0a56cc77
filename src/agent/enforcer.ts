// Keeps the kernel's fleetban sets equal to the wanted bans: full replace, batched changes, reconcile.
import type { Clock, EpochMs } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import { parseCidr, type Cidr } from '../core/ip.js';
import type { Logger } from '../core/logger.js';
import type { BanEntry } from '../distribute/protocol.js';
import {
  DEFAULT_PLAN_LIMITS,
  planBatch,
  renderPlan,
  type BatchPlan,
  type PlanLimits,
} from '../nft/batch-plan.js';
import { diffKeys, diffSet, isEmptyDiff, type SetDiff } from '../nft/diff.js';
import {
  BAN_SET_SPECS,
  BAN_SETS,
  BanSet,
  banSetOf,
  perSet,
  timeoutSeconds,
  type PerSet,
  type SetElement,
} from '../nft/element.js';
import type { Firewall } from '../nft/firewall.js';
import { renderMigration } from '../nft/migrate.js';
import { normaliseBans, SetSorter, type NormalisedSets } from '../nft/normalise.js';
import type { ListedSet } from '../nft/parse-list.js';
import {
  renderAdd,
  renderRefill,
  renderReplace,
  renderRuleset,
  type RulesetOptions,
} from '../nft/render.js';
import type { Guard } from './guard.js';
import { AgentCounter, AgentGauge, type AgentMetrics } from './metrics.js';
import { WantedSet } from './wanted-set.js';

export interface EnforcerOptions {
  readonly firewall: Firewall;
  readonly ruleset: RulesetOptions;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: AgentMetrics;
  readonly guard: Guard;
  /** Changes within this window share one nft transaction. */
  readonly batchWindowMs: number;
  /** …unless this many are pending: then they go at once. */
  readonly batchMax: number;
  /** Kernel expiry this far from the ban's end is re-asserted. */
  readonly toleranceMs: number;
  /** When a set is rewritten instead of deleted from, and how many adds one transaction takes. */
  readonly planLimits?: PlanLimits;
  /** Told of each batch nft refused for good (after the re-list and retry): the agent's last error. */
  readonly onError?: (message: string) => void;
}

type Known = PerSet<Map<string, SetElement>>;

/** After a failed batch, try again this soon even if no new change arrives. */
const RETRY_MS = 1000;

/** The longest a batch waits for the rest of a mass unban still arriving (see #settle). */
const MAX_SETTLE_MS = 1000;

export interface ReconcileResult {
  readonly added: number;
  readonly removed: number;
  /** The sets were missing or held foreign elements: rebuilt whole. */
  readonly rebuilt: boolean;
}

/**
 * The one writer of the fleetban table on this machine. All nft work runs one job at a time, in
 * order; each job computes from the wanted bans as they are when it starts, so changes that arrive
 * meanwhile are folded into the next job instead of queueing one job each.
 * What the kernel holds is tracked after every applied batch; when a batch is refused, that
 * picture was wrong: the sets are listed again and the diff retried once.
 * Each transaction is bounded (see nft/batch-plan.ts): many removals rewrite an interval set, and
 * adds past the chunk size wait for the next job, behind any change that arrived meanwhile.
 */
export class Enforcer {
  readonly #o: EnforcerOptions;
  readonly #limits: PlanLimits;
  readonly #wanted = new WantedSet();
  /** Bans the guard refused, by target: admitted again when a new guard no longer covers them. */
  readonly #refused = new Map<string, BanEntry>();
  #guard: Guard;
  #ruleset: RulesetOptions;
  /** What the kernel holds, as far as we know; null = unknown, list before diffing. */
  #known: Known | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  #pending = 0;
  /** Unbans since the last batch began, and when the last change of any kind came (monotonic ms). */
  #pendingRemovals = 0;
  #lastChangeAt = 0;
  #flushQueued = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Set by the first snapshot or adopt: until then an empty wanted set means "not known yet". */
  #authoritative = false;

  constructor(options: EnforcerOptions) {
    this.#o = options;
    this.#limits = options.planLimits ?? DEFAULT_PLAN_LIMITS;
    this.#guard = options.guard;
    this.#ruleset = options.ruleset;
  }

  /** The bans being enforced. */
  wantedBans(): BanEntry[] {
    return [...this.#wanted.values()].map((w) => w.ban);
  }

  get wantedCount(): number {
    return this.#wanted.size;
  }

  /** Elements the kernel holds as far as the enforcer knows. */
  get knownSize(): number {
    const known = this.#known;
    return known === null ? 0 : BAN_SETS.reduce((n, set) => n + known[set].size, 0);
  }

  /** Replaces the wanted bans and the kernel sets in one transaction (a snapshot). */
  replaceAll(bans: readonly BanEntry[]): Promise<void> {
    this.#cancelTimer();
    this.#pending = 0;
    this.#pendingRemovals = 0;
    this.#wanted.clear();
    this.#refused.clear();
    for (const ban of bans) this.#accept(ban);
    this.#authoritative = true;
    return this.#enqueue(() => this.#replace());
  }

  /**
   * Takes over bans remembered from before a restart: the kernel sets are listed (they kept
   * working while the agent was down), the chains rebuilt, and only the difference applied.
   * A table of the older layout (interval sets `banned_v4` / `banned_v6` holding everything) is
   * first migrated with its elements, switching over in one transaction, so no banned packet passes.
   */
  adopt(bans: readonly BanEntry[]): Promise<void> {
    this.#wanted.clear();
    this.#refused.clear();
    for (const ban of bans) this.#accept(ban);
    this.#authoritative = true;
    return this.#enqueue(async () => {
      const { known, migrated } = await this.#takeOver();
      this.#known = known;
      // The chains follow this agent's mode and ports (the migration built them already).
      if (known !== null && !migrated) {
        await this.#apply(renderRuleset(this.#ruleset, false));
      }
      await this.#sync(true);
    });
  }

  /** A ban (new, or a new end for the same target); applied with the next batch. */
  ban(entry: BanEntry): void {
    if (this.#accept(entry)) this.#changed();
  }

  /** A lifted ban; applied with the next batch. */
  unban(target: string): void {
    this.#refused.delete(target);
    const cidr = this.#wanted.get(target)?.cidr;
    if (cidr === undefined || !this.#wanted.delete(target)) return;
    if (BAN_SET_SPECS[banSetOf(cidr)].interval) this.#pendingRemovals++;
    this.#changed();
  }

  /** Applies pending changes now. Resolves when they are in the kernel (or failed and logged). */
  flush(): Promise<void> {
    this.#cancelTimer();
    if (this.#flushQueued) return this.#queue.then(() => undefined);
    this.#flushQueued = true;
    return this.#enqueue(async () => {
      await this.#settle();
      this.#flushQueued = false;
      this.#pending = 0;
      this.#pendingRemovals = 0;
      if (!this.#authoritative) return;
      try {
        await this.#sync(false);
      } catch (e) {
        // The bans stay wanted: the retry (or the next change, or reconcile) applies them.
        this.#o.logger.error(
          { err: describeError(e) },
          `cannot update the nft sets: ${describeError(e)}`,
        );
        this.#o.onError?.(`cannot update the nft sets: ${describeError(e)}`);
        if (!this.#closed && this.#timer === undefined) {
          this.#timer = setTimeout(() => {
            this.#timer = undefined;
            void this.flush();
          }, RETRY_MS);
        }
      }
    });
  }

  /**
   * Compares the kernel with the wanted bans and repairs it: lost elements re-added, drifted
   * timeouts re-asserted, stray elements removed; a missing table or foreign content is rebuilt.
   * `guard` replaces the protection list (own addresses change).
   */
  reconcile(guard?: Guard): Promise<ReconcileResult> {
    if (guard !== undefined) this.setGuard(guard);
    return this.#enqueue(async () => {
      // Before the first snapshot the wanted set is not the truth yet: the kernel's bans stay.
      if (!this.#authoritative) return { added: 0, removed: 0, rebuilt: false };
      this.#o.metrics.inc(AgentCounter.RECONCILES);
      this.#known = (await this.#takeOver()).known;
      const rebuilt = this.#known === null;
      const { added, removed } = await this.#sync(true);
      this.#o.metrics.inc(AgentCounter.RECONCILE_REPAIRS, added + removed);
      return { added, removed, rebuilt };
    });
  }

  /**
   * Replaces the protection list (own addresses change, the allow list is reloaded): drops wanted
   * bans it now covers, and takes back refused bans it no longer covers. The next job applies both.
   */
  setGuard(guard: Guard): void {
    this.#guard = guard;
    for (const w of this.#wanted.entries()) {
      if (!this.#allowed(w.ban, w.cidr)) {
        this.#wanted.delete(w.target);
        this.#refused.set(w.target, w.ban);
      }
    }
    const now = this.#o.clock.now();
    for (const [target, ban] of this.#refused) {
      const cidr = parseCidr(target);
      if (cidr === null || (ban.end !== null && ban.end <= now)) {
        this.#refused.delete(target);
      } else if (guard.protectsCidr(cidr) === null) {
        this.#refused.delete(target);
        this.#wanted.set({ ban, target, end: ban.end, cidr });
        this.#o.logger.info({ target, jail: ban.jail }, `banning ${target}: no longer protected`);
      }
    }
  }

  /**
   * A reload: the new chains (hooks, ports, verdict, interface) replace the old ones in one
   * transaction over the kept sets, so no banned packet passes meanwhile (nft/render.ts), and the
   * new guard (allow list) is applied by the batch that follows.
   */
  reconfigure(ruleset: RulesetOptions, guard: Guard): Promise<void> {
    this.#ruleset = ruleset;
    this.setGuard(guard);
    return this.#enqueue(async () => {
      // After a refused batch the picture is unknown: look first, or the chains would wait for
      // the next snapshot. With no table of ours, the sync (or the first snapshot) builds one.
      const listed = this.#known === null;
      if (listed) this.#known = (await this.#takeOver()).known;
      if (this.#known !== null) await this.#apply(renderRuleset(ruleset, false));
      if (this.#authoritative) await this.#sync(listed);
    });
  }

  /** Resolves when every queued job has run. */
  async idle(): Promise<void> {
    for (;;) {
      const q = this.#queue;
      await q.catch(() => undefined);
      if (q === this.#queue) return;
    }
  }

  /** Stops batching; queued work still finishes (await idle()). The kernel sets stay as they are. */
  close(): void {
    this.#closed = true;
    this.#cancelTimer();
  }

  #accept(ban: BanEntry): boolean {
    const cidr = parseCidr(ban.target);
    this.#refused.delete(ban.target);
    if (cidr === null || !this.#allowed(ban, cidr)) {
      if (cidr !== null) this.#refused.set(ban.target, ban);
      if (cidr === null) {
        this.#o.metrics.inc(AgentCounter.BAD_LINES);
        this.#o.logger.warn(
          { target: ban.target },
          'skipped a ban whose target is not an address or prefix',
        );
      }
      return this.#wanted.delete(ban.target);
    }
    this.#wanted.set({ ban, target: ban.target, end: ban.end, cidr });
    return true;
  }

  #allowed(ban: BanEntry, cidr: Cidr): boolean {
    const why = this.#guard.protectsCidr(cidr);
    if (why === null) return true;
    this.#o.metrics.inc(AgentCounter.PROTECTED_SKIPPED);
    this.#o.logger.warn(
      { target: ban.target, jail: ban.jail, why },
      `not banning ${ban.target}: ${why}`,
    );
    return false;
  }

  /**
   * A mass unban arrives as one line per ban, read off the stream in waves. Many removals from an
   * interval set mean a rewrite (flush and re-add what stays); while the removals keep coming, waiting for them
   * (up to MAX_SETTLE_MS) makes one cheap rewrite of what is left instead of one re-add of
   * nearly everything per wave, and the bans that arrive meanwhile ride along with it.
   */
  async #settle(): Promise<void> {
    const window = this.#o.batchWindowMs;
    const started = performance.now();
    const rewriteAfter = this.#limits.rewriteAfterRemoves;
    while (!this.#closed && this.#pendingRemovals > rewriteAfter) {
      const now = performance.now();
      const quietFor = now - this.#lastChangeAt;
      const left = MAX_SETTLE_MS - (now - started);
      if (quietFor >= window || left <= 0) return;
      await new Promise((resolve) => setTimeout(resolve, Math.min(window - quietFor, left)));
    }
  }

  #changed(): void {
    this.#lastChangeAt = performance.now();
    this.#o.metrics.set(AgentGauge.WANTED, this.#wanted.size);
    if (this.#closed) return;
    this.#pending++;
    if (this.#pending >= this.#o.batchMax) {
      if (!this.#flushQueued) void this.flush();
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        void this.flush();
      }, this.#o.batchWindowMs);
    }
  }

  #cancelTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #enqueue<T>(job: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(job, job);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #normalised(now: EpochMs): NormalisedSets {
    return normaliseBans(this.#wanted.values(), now);
  }

  /**
   * A snapshot: every set refilled in one transaction. The table itself is only created afresh
   * when there is none of ours to keep: measured on Linux 6.18, the elements of an interval set
   * created in the transaction that deletes the old table miss a packet or so around the commit
   * (a banned prefix got 3-4 packets through 8 such replaces under traffic), while flushing and
   * refilling a kept set let none through.
   */
  async #replace(): Promise<void> {
    const trusted = this.#known !== null;
    let absent = false;
    if (this.#known === null) ({ known: this.#known, absent } = await this.#takeOver());
    try {
      await this.#rebuild(this.#known === null, absent);
    } catch (e) {
      // The table changed behind our back (an older layout put back by hand): look, then again.
      if (!trusted) throw e;
      this.#o.logger.warn(
        { err: describeError(e) },
        'nft refused the snapshot; listing the sets and retrying',
      );
      this.#known = (await this.#takeOver()).known;
      await this.#rebuild(this.#known === null);
    }
  }

  /**
   * Refills every set in one transaction; `fresh` replaces the whole table instead. Where there
   * is no table of ours (`absent`: nothing is enforced yet, so nothing can lapse), a large
   * snapshot goes in as a series of transactions instead (#fill).
   * What the kernel holds afterwards is taken to be the wanted elements themselves: the kernel
   * rounds each timeout up to whole seconds, so it keeps an element a little longer than known,
   * never shorter, and a copy of a million elements for that difference cost a second.
   */
  async #rebuild(fresh: boolean, absent = false): Promise<void> {
    const applied = this.#wanted.startFull();
    const now = this.#o.clock.now();
    if (fresh && absent && this.#wanted.size > this.#limits.fillChunk) {
      this.#known = await this.#fill(now);
    } else {
      const { sets } = this.#normalised(now);
      const render = fresh ? renderReplace : renderRefill;
      await this.#apply(render(this.#ruleset, sets, now).nftables);
      this.#known = sets;
    }
    applied();
    this.#o.metrics.set(AgentGauge.ELEMENTS, this.knownSize);
    this.#o.metrics.set(AgentGauge.WANTED, this.#wanted.size);
  }

  /**
   * A first fill of a large snapshot: the table with the first `fillChunk` elements, then the
   * rest in transactions of that size, each sorted and rendered while nft applies the one before
   * (nft runs on the other core), so a million bans do not wait for one sort, one render and one
   * nft run after another. The interval sets go last, once every prefix is known.
   */
  async #fill(now: EpochMs): Promise<Known> {
    const sorter = new SetSorter(now);
    let batch = perSet(() => new Map<string, SetElement>());
    let size = 0;
    let first = true;
    let inFlight: Promise<void> = Promise.resolve();
    const send = async (): Promise<void> => {
      const commands = [
        ...(first ? renderRuleset(this.#ruleset, true) : []),
        ...BAN_SETS.flatMap((set) => renderAdd(set, [...batch[set].values()], now)),
      ];
      first = false;
      batch = perSet(() => new Map<string, SetElement>());
      size = 0;
      await inFlight;
      inFlight = this.#apply(commands);
      // Awaited before the next send or at the end; until then its failure must not go unheard.
      inFlight.catch(() => undefined);
    };
    for (const w of this.#wanted.values()) {
      const e = sorter.add(w);
      if (e === null) continue;
      const set = banSetOf(e.cidr);
      if (BAN_SET_SPECS[set].interval) continue;
      batch[set].set(e.key, e);
      if (++size >= this.#limits.fillChunk) await send();
    }
    const { sets } = sorter.finish();
    for (const set of BAN_SETS) if (BAN_SET_SPECS[set].interval) batch[set] = sets[set];
    await send();
    await inFlight;
    return sets;
  }

  /**
   * Diff and apply; on refusal re-list and retry once; a second refusal leaves `known` unknown.
   * Unless `full`, and while the kernel picture is trusted and no prefix covers another, only
   * the targets changed since the last job are diffed: at 100,000 bans, normalising and diffing
   * everything costs ~70 ms of CPU per batch, the changed keys a few microseconds each.
   */
  async #sync(full: boolean): Promise<{ added: number; removed: number }> {
    for (let attempt = 0; ; attempt++) {
      const listed = this.#known === null;
      if (listed) this.#known = (await this.#takeOver()).known;
      if (this.#known === null) {
        // No table (deleted by hand) or foreign elements: rebuild it whole.
        await this.#rebuild(true);
        return { added: this.knownSize, removed: 0 };
      }
      const now = this.#o.clock.now();
      const tolerance = this.#o.toleranceMs;
      let applied: (() => void) | undefined;
      let diffs: PerSet<SetDiff>;
      let sets: NormalisedSets | undefined;
      let newest: ReadonlySet<string> | undefined;
      if (!full && !listed && attempt === 0 && this.#wanted.incremental) {
        const { wanted, keys } = this.#wanted.takeChanges(now);
        const known = this.#known;
        diffs = perSet((set) => diffKeys(wanted[set], known[set], keys[set], now, tolerance));
      } else {
        newest = this.#wanted.changedKeys();
        applied = this.#wanted.startFull();
        const all = this.#normalised(now);
        const known = this.#known;
        sets = all;
        diffs = perSet((set) => diffSet(all.sets[set], known[set], now, tolerance));
      }
      if (BAN_SETS.every((set) => isEmptyDiff(diffs[set]))) {
        applied?.();
        return { added: 0, removed: 0 };
      }
      // Computed in the same tick as the diffs, so a rewrite holds exactly what they were taken from.
      const plan = planBatch(
        diffs,
        (set) => (sets ??= this.#normalised(now)).sets[set],
        this.#limits,
        newest,
      );
      try {
        await this.#apply(renderPlan(plan, now));
        applied?.();
      } catch (e) {
        this.#known = null;
        if (attempt >= 1) throw e;
        this.#o.logger.warn(
          { err: describeError(e) },
          'nft refused a batch; listing the sets and retrying',
        );
        continue;
      }
      const added = this.#record(this.#known, plan, diffs, now);
      this.#o.metrics.set(AgentGauge.ELEMENTS, this.knownSize);
      const removed = BAN_SETS.reduce((n, set) => n + diffs[set].remove.length, 0);
      this.#o.logger.debug({ added, removed }, 'nft sets updated');
      return { added, removed };
    }
  }

  /**
   * Brings `known` up to what an applied plan left in the kernel; returns the adds applied.
   * Deferred adds are marked changed again and a follow-up batch is queued: bans that arrived
   * meanwhile were marked before them, so they go first.
   */
  #record(known: Known, plan: BatchPlan, diffs: Readonly<PerSet<SetDiff>>, now: EpochMs): number {
    let added = 0;
    for (const set of BAN_SETS) {
      const step = plan.steps[set];
      if (step.kind === 'rewrite') {
        this.#o.metrics.inc(AgentCounter.NFT_REWRITES);
        known[set] = new Map(step.elements.map((e) => [e.key, kernelElement(e, now)]));
        added += diffs[set].add.length;
        continue;
      }
      for (const e of step.remove) known[set].delete(e.key);
      for (const e of step.add) known[set].set(e.key, kernelElement(e, now));
      added += step.add.length;
    }
    const deferred = BAN_SETS.flatMap((set) => plan.deferred[set]);
    if (deferred.length > 0) {
      for (const e of deferred) this.#wanted.markChanged(e.key, e.cidr);
      this.#o.logger.debug({ deferred: deferred.length }, 'large change: rest in the next batch');
      if (!this.#closed) void this.flush();
    }
    return added;
  }

  async #apply(commands: readonly Readonly<Record<string, unknown>>[]): Promise<void> {
    try {
      await this.#o.firewall.apply({ nftables: commands });
      this.#o.metrics.inc(AgentCounter.NFT_BATCHES);
    } catch (e) {
      this.#o.metrics.inc(AgentCounter.NFT_FAILURES);
      throw e;
    }
  }

  /**
   * Lists the kernel's sets: `known` is what they hold, null when there is no table of ours to
   * build on (a table or set missing, other flags, elements fleetban did not write). A table of
   * the older layout is migrated first, and `known` is what the migration left.
   */
  async #takeOver(): Promise<{ known: Known | null; migrated: boolean; absent: boolean }> {
    const listed = perSet((): ListedSet | null => null);
    // No banned_v4 (a first start, mostly): nothing of ours to keep; spare the other listings.
    listed[BanSet.V4] = await this.#o.firewall.list(BanSet.V4);
    if (listed[BanSet.V4] === null) return { known: null, migrated: false, absent: true };
    for (const set of BAN_SETS.filter((s) => s !== BanSet.V4)) {
      listed[set] = await this.#o.firewall.list(set);
    }
    if (listed[BanSet.V4]?.interval === true || listed[BanSet.V6]?.interval === true) {
      // Sorted into the new sets; any new set already present (a migration cut short) too.
      const older = perSet(() => new Map<string, SetElement>());
      for (const l of Object.values(listed)) {
        for (const e of l?.elements.values() ?? []) older[banSetOf(e.cidr)].set(e.key, e);
      }
      await this.#migrate(older);
      const now = this.#o.clock.now();
      return {
        known: perSet((set) => kernelView(older[set], now)),
        migrated: true,
        absent: false,
      };
    }
    const known = perSet(() => new Map<string, SetElement>());
    for (const set of BAN_SETS) {
      const l = listed[set];
      if (l === null || l.foreign > 0 || l.interval !== BAN_SET_SPECS[set].interval) {
        return { known: null, migrated: false, absent: false };
      }
      known[set] = l.elements;
    }
    return { known, migrated: false, absent: false };
  }

  /**
   * Moves the older table's elements into this layout (nft/migrate.ts): the new sets are filled
   * beside the old ones, then one transaction switches over, so no banned packet passes.
   */
  async #migrate(older: Known): Promise<void> {
    const now = this.#o.clock.now();
    for (const commands of renderMigration(this.#ruleset, older, now)) await this.#apply(commands);
    const count = BAN_SETS.reduce((n, set) => n + older[set].size, 0);
    this.#o.logger.info(
      { elements: count },
      `moved ${count} elements of the older nft layout (interval sets) into the hash-set layout`,
    );
  }
}

/** What the kernel holds after adding `e` now: the timeout was rounded up to whole seconds. */
function kernelElement(e: SetElement, now: EpochMs): SetElement {
  const timeout = timeoutSeconds(e.end, now);
  return timeout === null ? e : { ...e, end: now + timeout * 1000 };
}

function kernelView(set: ReadonlyMap<string, SetElement>, now: EpochMs): Map<string, SetElement> {
  const out = new Map<string, SetElement>();
  for (const [key, e] of set) out.set(key, kernelElement(e, now));
  return out;
}
