// The ban-rate brake: jail bans per sender and fleet-wide per minute; bans past a budget wait for an admin's review.
import type { Clock, EpochMs } from '../core/clock.js';
import { describeError, ErrorCode, FleetbanError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { BanRequest, HeldBan } from '../core/types.js';
import type { HeldSelection } from '../control/brake.js';
import type { BrakeReport, BrakeTripReport } from '../control/plane.js';
import type { BrakeTrip } from '../notify/brake-alert.js';
import type { BanStore } from '../store/store.js';
import { TokenBucket } from './bucket.js';

export interface BrakeOptions {
  readonly enabled: boolean;
  readonly perSenderPerMinute: number;
  readonly fleetPerMinute: number;
  readonly maxHeld: number;
}

export interface BrakeDeps {
  readonly store: Pick<BanStore, 'hold' | 'held' | 'heldSize' | 'dropHeld'>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Writes a released ban past the brake (the ban manager's ungated request). */
  readonly ban: (request: BanRequest) => void;
  /** Resolves once the bans handed to `ban` are written. */
  readonly drain: () => Promise<void>;
  /** Told once per trip, when a budget first holds a ban (the server mails the admins). */
  readonly onTrip?: (trip: BrakeTrip) => void;
}

/** Sender buckets remembered before full (idle) ones are swept. */
const BUCKET_SWEEP_AT = 4096;
const FLEET = 'fleet';

interface Trip {
  readonly scope: 'sender' | 'fleet';
  readonly sender: string;
  readonly since: EpochMs;
  held: number;
}

/**
 * One compromised host (or a forger on its path) can make up failures for any address. The brake
 * charges each jail ban to the senders whose failures led to it, and to the fleet: a ban is
 * written while the fleet and at least one of its senders are within budget; otherwise it is held
 * in the store for `fleetban release` / `fleetban discard`. An honest sender's bans therefore keep
 * flowing while a forging one is held, until the fleet-wide budget runs out too.
 * `check` runs on the jails' hot path: synchronous, no I/O; held bans are written in batches.
 */
export class BanBrake {
  readonly #d: BrakeDeps;
  #o: BrakeOptions;
  #fleet: TokenBucket;
  readonly #buckets = new Map<string, TokenBucket>();
  /** Targets held or being written: a target waits once, however often it is asked for. */
  readonly #heldTargets = new Set<string>();
  /** Running trips by 'fleet' or sender address. */
  readonly #trips = new Map<string, Trip>();
  #queue: HeldBan[] = [];
  #scheduled = false;
  /** Every store write of held bans, in order: `hold` and `dropHeld` never overtake each other. */
  #chain: Promise<unknown> = Promise.resolve();
  readonly #counts = {
    trips: 0,
    heldTotal: 0,
    released: 0,
    discarded: 0,
    overflow: 0,
    duplicates: 0,
    writeErrors: 0,
  };

  constructor(deps: BrakeDeps, options: BrakeOptions) {
    this.#d = deps;
    this.#o = options;
    this.#fleet = new TokenBucket(options.fleetPerMinute, deps.clock.now());
  }

  /** Picks up the bans held before a restart (call once the store is open). */
  start(): void {
    for (const h of this.#d.store.held()) this.#heldTargets.add(h.target);
    const n = this.#heldTargets.size;
    if (n > 0)
      this.#d.logger.warn(
        { held: n },
        `ban brake: ${n} held bans wait for review (fleetban held; fleetban release or discard)`,
      );
  }

  /** New budgets (reload); running buckets keep their tokens, capped at the new budget. */
  configure(options: BrakeOptions): void {
    if (options.fleetPerMinute !== this.#o.fleetPerMinute)
      this.#fleet = new TokenBucket(options.fleetPerMinute, this.#d.clock.now());
    this.#o = options;
  }

  /**
   * Whether a jail ban of `target` may be written now. false: the brake took it (held, or
   * already waiting); the caller writes nothing. Never throws.
   */
  check(request: BanRequest, target: string): boolean {
    const o = this.#o;
    if (!o.enabled) return true;
    const now = this.#d.clock.now();
    if (this.#trips.size > 0) this.#endTrips(now);
    if (!this.#fleet.has(now, o.fleetPerMinute)) {
      this.#hold(request, target, now, 'fleet');
      return false;
    }
    const senders = Object.keys(request.senders);
    const within: TokenBucket[] = [];
    for (const s of senders) {
      const bucket = this.#bucket(s, now);
      if (bucket.has(now, o.perSenderPerMinute)) within.push(bucket);
    }
    if (senders.length > 0 && within.length === 0) {
      this.#hold(request, target, now, 'sender');
      return false;
    }
    this.#fleet.take();
    for (const b of within) b.take();
    return true;
  }

  /** Bans the selected held entries now (past the brake) and removes them from the queue. */
  release(which: HeldSelection): Promise<HeldBan[]> {
    return this.#serial(async () => {
      const entries = this.#select(which);
      for (const e of entries) this.#d.ban(e.request);
      await this.#d.drain();
      const done = await this.#drop(entries);
      this.#counts.released += done.length;
      if (done.length > 0)
        this.#d.logger.info(
          { released: done.length },
          `ban brake: ${done.length} held bans released`,
        );
      return done;
    });
  }

  /** Removes the selected held entries without banning. */
  discard(which: HeldSelection): Promise<HeldBan[]> {
    return this.#serial(async () => {
      const done = await this.#drop(this.#select(which));
      this.#counts.discarded += done.length;
      if (done.length > 0)
        this.#d.logger.info(
          { discarded: done.length },
          `ban brake: ${done.length} held bans discarded`,
        );
      return done;
    });
  }

  /** The held bans, oldest first, once every hold under way is written. */
  held(): Promise<HeldBan[]> {
    return this.#serial(() => Promise.resolve(this.#d.store.held()));
  }

  /** Resolves once every held ban handed over so far is written (shutdown, tests). */
  async flush(): Promise<void> {
    await this.#serial(() => Promise.resolve());
  }

  report(): BrakeReport {
    const now = this.#d.clock.now();
    if (this.#trips.size > 0) this.#endTrips(now);
    const tripped: BrakeTripReport[] = [...this.#trips.values()].map((t) => ({
      scope: t.scope,
      sender: t.sender,
      since: t.since,
      held: t.held,
    }));
    return {
      enabled: this.#o.enabled,
      perSenderPerMinute: this.#o.perSenderPerMinute,
      fleetPerMinute: this.#o.fleetPerMinute,
      maxHeld: this.#o.maxHeld,
      held: this.#heldTargets.size,
      tripped,
      trips: this.#counts.trips,
      heldTotal: this.#counts.heldTotal,
      released: this.#counts.released,
      discarded: this.#counts.discarded,
      overflow: this.#counts.overflow,
    };
  }

  #hold(request: BanRequest, target: string, now: EpochMs, reason: HeldBan['reason']): void {
    if (this.#heldTargets.has(target)) {
      this.#counts.duplicates++;
      return;
    }
    const keys = reason === 'fleet' ? [FLEET] : Object.keys(request.senders);
    if (this.#heldTargets.size >= this.#o.maxHeld) {
      if (this.#counts.overflow++ === 0)
        this.#d.logger.warn(
          { maxHeld: this.#o.maxHeld },
          `ban brake: ${this.#o.maxHeld} bans already wait for review (brake.maxHeld); further ones are discarded`,
        );
      return;
    }
    this.#heldTargets.add(target);
    this.#counts.heldTotal++;
    for (const key of keys) this.#tripOf(key, reason, now, request, target).held++;
    this.#queue.push({ target, request, heldAt: now, reason });
    if (!this.#scheduled) {
      this.#scheduled = true;
      void this.#serial(() => this.#writeQueue());
    }
  }

  #tripOf(
    key: string,
    scope: 'sender' | 'fleet',
    now: EpochMs,
    request: BanRequest,
    target: string,
  ): Trip {
    const running = this.#trips.get(key);
    if (running !== undefined) return running;
    const trip: Trip = { scope, sender: scope === 'fleet' ? '' : key, since: now, held: 0 };
    this.#trips.set(key, trip);
    this.#counts.trips++;
    const perMinute = scope === 'fleet' ? this.#o.fleetPerMinute : this.#o.perSenderPerMinute;
    this.#d.logger.warn(
      { brake: scope, sender: trip.sender, perMinute, jail: request.jail, target },
      scope === 'fleet'
        ? `ban brake tripped: the fleet caused more than ${perMinute} bans in a minute; new bans are held for review (fleetban held)`
        : `ban brake tripped: sender ${key} caused more than ${perMinute} bans in a minute; its new bans are held for review (fleetban held)`,
    );
    try {
      this.#d.onTrip?.({
        scope,
        sender: trip.sender,
        at: now,
        perMinute,
        jail: request.jail,
        target,
      });
    } catch (e) {
      this.#d.logger.error({ err: e }, `cannot report the brake trip: ${describeError(e)}`);
    }
    return trip;
  }

  /** Trips whose budget has a token again are over: one summary line each. */
  #endTrips(now: EpochMs): void {
    for (const [key, trip] of this.#trips) {
      const back =
        trip.scope === 'fleet'
          ? this.#fleet.has(now, this.#o.fleetPerMinute)
          : this.#bucket(key, now).has(now, this.#o.perSenderPerMinute);
      if (!back) continue;
      this.#trips.delete(key);
      const who = trip.scope === 'fleet' ? 'the fleet' : `sender ${key}`;
      this.#d.logger.warn(
        { brake: trip.scope, sender: trip.sender, held: trip.held, since: trip.since },
        `ban brake: ${who} is within its budget again; ${trip.held} bans were held during the trip`,
      );
    }
  }

  #bucket(sender: string, now: EpochMs): TokenBucket {
    let b = this.#buckets.get(sender);
    if (b === undefined) {
      if (this.#buckets.size >= BUCKET_SWEEP_AT) this.#sweep(now);
      b = new TokenBucket(this.#o.perSenderPerMinute, now);
      this.#buckets.set(sender, b);
    }
    return b;
  }

  /** A full bucket is the same as none: forget those of senders that went quiet. */
  #sweep(now: EpochMs): void {
    for (const [sender, b] of this.#buckets)
      if (!this.#trips.has(sender) && b.full(now, this.#o.perSenderPerMinute))
        this.#buckets.delete(sender);
  }

  async #writeQueue(): Promise<void> {
    this.#scheduled = false;
    const batch = this.#queue;
    this.#queue = [];
    try {
      await this.#d.store.hold(batch);
    } catch (e) {
      this.#counts.writeErrors++;
      for (const h of batch) this.#heldTargets.delete(h.target);
      this.#d.logger.error(
        { err: e, lost: batch.length },
        `ban brake: cannot store ${batch.length} held bans: ${describeError(e)}`,
      );
    }
  }

  #select(which: HeldSelection): HeldBan[] {
    const held = this.#d.store.held();
    if ('all' in which) return held;
    const byTarget = new Map(held.map((h) => [h.target, h]));
    const missing = which.targets.filter((t) => !byTarget.has(t));
    if (missing.length > 0) {
      throw new FleetbanError(
        ErrorCode.BAN_NOT_FOUND,
        `not held: ${missing.join(', ')} (see fleetban held)`,
      );
    }
    return [...new Set(which.targets)].map((t) => byTarget.get(t) as HeldBan);
  }

  async #drop(entries: readonly HeldBan[]): Promise<HeldBan[]> {
    const dropped = await this.#d.store.dropHeld(entries.map((e) => e.target));
    for (const h of dropped) this.#heldTargets.delete(h.target);
    return dropped;
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(work);
    this.#chain = next.catch(() => undefined);
    return next;
  }
}
