// Turns ban requests (from jails or admins) into stored bans and lifts them: the only writer of the store.
import type { Clock, EpochMs } from '../core/clock.js';
import { FleetbanError, ErrorCode, describeError, isFleetbanError } from '../core/errors.js';
import { cidrOverlaps, formatCidr, parseCidr, type Cidr } from '../core/ip.js';
import type { Logger } from '../core/logger.js';
import type { AttackerHistory, Ban, BanRequest } from '../core/types.js';
import { BanAction, type BanLog } from '../log/ban-log.js';
import type { BanStore, NewBan } from '../store/store.js';
import type { BanGuard } from './ban-guard.js';

/** Ban length in seconds for a jail given the attacker's past (bantime.increment); null = permanent. */
export type BantimePolicy = (jail: string, history: AttackerHistory | null) => number | null;

export interface ManualBan {
  readonly target: string;
  /** Jail to file the ban under; 'manual' when absent. */
  readonly jail?: string | undefined;
  /** Seconds; null = permanent; undefined = the jail's bantime policy. */
  readonly durationSec?: number | null | undefined;
  readonly reason?: string | undefined;
}

export interface BanManagerStats {
  requests: number;
  alreadyBanned: number;
  bansWritten: number;
  unbansWritten: number;
  expired: number;
  writeErrors: number;
  /** Jail bans waiting for an unreachable store (Redis down); written when it is back. */
  waitingForStore: number;
}

export interface BanManagerDeps {
  readonly store: BanStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly banLog: BanLog;
  readonly bantime: BantimePolicy;
  /** Prefixes no ban may touch: the global ignoreip plus, per jail, its own. */
  readonly ignored: (jail: string) => readonly Cidr[];
  /**
   * Whether a ban (or, with `unban`, its end) gets a mail notice, queued in the ban's own store
   * batch. Absent = no mail.
   */
  readonly notify?: (ban: Pick<Ban, 'jail' | 'origin'>, event: 'ban' | 'unban') => boolean;
  /**
   * Asked before a jail ban is written (the ban brake, src/server/brake.ts): false = the gate
   * took the request (held for review) and nothing is written. Manual bans never pass it.
   */
  readonly gate?: (request: BanRequest, target: string) => boolean;
  /** Keeps bans off ignored and never-ban addresses (narrows jail bans, refuses admin bans). */
  readonly guard?: BanGuard;
}

export const MANUAL_JAIL = 'manual';
/** The unban reason of a ban whose time was up; any other unban was an administrator's. */
export const EXPIRED = 'expired';

/** Most jail bans that wait for an unreachable store at once; more are logged as not stored. */
const MAX_WAITING = 100_000;

/** Most lines kept with a ban (and shown in `fleetban bans` and mail). */
const MAX_LINES = 10;

export class BanManager {
  readonly #deps: BanManagerDeps;
  readonly #pending = new Set<string>();
  readonly #inflight = new Set<Promise<unknown>>();
  readonly stats: BanManagerStats = {
    requests: 0,
    alreadyBanned: 0,
    bansWritten: 0,
    unbansWritten: 0,
    expired: 0,
    writeErrors: 0,
    waitingForStore: 0,
  };
  /** Set at shutdown: bans waiting for the store give up (and are logged as not stored). */
  #stopping = false;
  readonly #wakers = new Set<() => void>();

  constructor(deps: BanManagerDeps) {
    this.#deps = deps;
  }

  /**
   * Called synchronously from the jails' hot path: never throws, never blocks. A target already
   * banned, or with a write under way, is skipped; store errors are logged and counted.
   * `gated` false skips the gate: an admin released the ban.
   */
  request(asked: BanRequest, gated = true): void {
    this.stats.requests++;
    const req = this.#deps.guard === undefined ? asked : this.#deps.guard.jail(asked);
    if (req === null) return;
    const target = formatCidr(req.target);
    if ((req.replace !== true && this.#isActive(target)) || this.#pending.has(target)) {
      this.stats.alreadyBanned++;
      return;
    }
    if (gated && this.#deps.gate?.(req, target) === false) return;
    this.#pending.add(target);
    const work = this.#banWhenStored(req, target)
      .catch((e: unknown) => {
        this.stats.writeErrors++;
        this.#deps.logger.error(
          { err: e, target, jail: req.jail },
          `cannot store the ban of ${target}: ${describeError(e)}`,
        );
      })
      .finally(() => {
        this.#pending.delete(target);
        this.#inflight.delete(work);
      });
    this.#inflight.add(work);
  }

  /** An admin's ban. Throws BAN_TARGET_INVALID, BAN_IGNORED or BAN_PROTECTED. */
  async ban(manual: ManualBan): Promise<Ban> {
    const cidr = parseCidr(manual.target);
    if (cidr === null) {
      throw new FleetbanError(
        ErrorCode.BAN_TARGET_INVALID,
        `"${manual.target}" is not an IP address or CIDR prefix`,
      );
    }
    const jail = manual.jail ?? MANUAL_JAIL;
    const target = formatCidr(cidr);
    const clash = this.#deps.ignored(jail).find((c) => cidrOverlaps(c, cidr));
    if (clash !== undefined) {
      throw new FleetbanError(
        ErrorCode.BAN_IGNORED,
        `${target} overlaps ${formatCidr(clash)}, which is on the ignore list (ignoreip)`,
      );
    }
    this.#deps.guard?.manual(cidr);
    const attacker = cidr.prefix === (cidr.family === 4 ? 32 : 128) ? cidr.address : '';
    const history = attacker === '' ? null : await this.#deps.store.history(attacker);
    const seconds =
      manual.durationSec === undefined ? this.#deps.bantime(jail, history) : manual.durationSec;
    const now = this.#deps.clock.now();
    const [ban] = await this.#write({
      target,
      family: cidr.family,
      jail,
      origin: 'manual',
      attacker,
      start: now,
      end: seconds === null ? null : now + seconds * 1000,
      banCount: (history?.bans ?? 0) + 1,
      failures: 0,
      hosts: {},
      lines: [],
      reason: manual.reason ?? 'banned by an administrator',
    });
    if (ban === undefined)
      throw new FleetbanError(ErrorCode.INTERNAL, `the store did not return the ban of ${target}`);
    return ban;
  }

  /** Lifts one ban (BAN_NOT_FOUND if it is not active) or, with `all`, every ban. */
  async unban(which: { target: string } | { all: true }, reason = 'manual'): Promise<Ban[]> {
    const now = this.#deps.clock.now();
    let targets: string[];
    if ('all' in which) {
      targets = [...this.#deps.store.activeTargets()];
    } else {
      const cidr = parseCidr(which.target);
      if (cidr === null) {
        throw new FleetbanError(
          ErrorCode.BAN_TARGET_INVALID,
          `"${which.target}" is not an IP address or CIDR prefix`,
        );
      }
      const target = formatCidr(cidr);
      if (this.#deps.store.get(target) === undefined) {
        throw new FleetbanError(ErrorCode.BAN_NOT_FOUND, `${target} is not banned`);
      }
      targets = [target];
    }
    return this.#lift(targets.map((target) => ({ target, at: now, reason })));
  }

  /** Lifts every ban whose time is up. Returns how many. */
  async expireDue(now: EpochMs = this.#deps.clock.now()): Promise<number> {
    const due = this.#deps.store.due(now);
    if (due.length === 0) return 0;
    const lifted = await this.#lift(
      due.map((b) => ({ target: b.target, at: now, reason: EXPIRED })),
    );
    this.stats.expired += lifted.length;
    return lifted.length;
  }

  /**
   * Whether a jail's ban of `target` would be skipped: it is banned, or its ban is being written.
   * The jails ask it before counting a failure, so that an attacker who keeps failing while its
   * ban is on the way to the store is not windowed and asked for again at every maxretry.
   */
  isBanned(target: string): boolean {
    return this.#pending.has(target) || this.#isActive(target);
  }

  /** Resolves when every ban write under way has finished (for shutdown and tests). */
  async drain(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  #isActive(target: string): boolean {
    const end = this.#deps.store.endOf(target);
    return end !== undefined && (end === null || end > this.#deps.clock.now());
  }

  /** Whether the active ban of `target`, if any, ends before `end` (null = never). */
  #endsBefore(target: string, end: EpochMs | null): boolean {
    const active = this.#isActive(target) ? this.#deps.store.get(target) : undefined;
    if (active === undefined) return true;
    return active.end !== null && (end === null || active.end < end);
  }

  /**
   * Stops bans waiting for an unreachable store: they fail (logged, counted) instead of holding
   * `drain()` for ever. Call at shutdown, before `drain()`.
   */
  stopWaiting(): void {
    this.#stopping = true;
    for (const wake of this.#wakers) wake();
  }

  /**
   * A jail ban, written once the store takes it: while the store is unreachable (Redis down) the
   * decision waits, up to MAX_WAITING of them, and is retried with backoff, so detection goes on
   * and what it decided is written when the store is back. Other errors are not retried.
   */
  async #banWhenStored(req: BanRequest, target: string): Promise<void> {
    let waiting = false;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await this.#banFromJail(req, target);
          if (waiting)
            this.#deps.logger.info(
              { target, jail: req.jail, waiting: this.stats.waitingForStore - 1 },
              `the ban store took the ban of ${target} that waited for it`,
            );
          return;
        } catch (e) {
          const unavailable = isFleetbanError(e) && e.code === ErrorCode.STORE_UNAVAILABLE;
          if (!unavailable || this.#stopping) throw e;
          if (!waiting) {
            if (this.stats.waitingForStore >= MAX_WAITING) throw e;
            waiting = true;
            this.stats.waitingForStore++;
            if (this.stats.waitingForStore === 1)
              this.#deps.logger.warn(
                { target, jail: req.jail, err: e },
                `the ban of ${target} waits for the ban store (${describeError(e)}); jail bans are kept, up to ${MAX_WAITING}, and written when it is back`,
              );
          }
          await this.#pause(Math.min(250 * 2 ** Math.min(attempt, 4), 5_000));
        }
      }
    } finally {
      if (waiting) this.stats.waitingForStore--;
    }
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#wakers.add(wake);
    });
  }

  async #banFromJail(req: BanRequest, target: string): Promise<void> {
    const history = await this.#deps.store.history(req.attacker);
    const seconds = this.#deps.bantime(req.jail, history);
    const start = this.#deps.clock.now();
    const end = seconds === null ? null : start + seconds * 1000;
    if (req.replace === true && !this.#endsBefore(target, end)) {
      this.stats.alreadyBanned++;
      return;
    }
    await this.#write({
      target,
      family: req.target.family,
      jail: req.jail,
      origin: 'jail',
      attacker: req.attacker,
      start,
      end,
      banCount: (history?.bans ?? 0) + 1,
      failures: req.failures,
      hosts: req.hosts,
      lines: req.lines.slice(-MAX_LINES),
      reason: `${req.failures} failures`,
      notify: this.#deps.notify?.({ jail: req.jail, origin: 'jail' }, 'ban') ?? false,
    });
  }

  async #write(ban: NewBan): Promise<Ban[]> {
    const stored = await this.#deps.store.ban([ban]);
    for (const b of stored) {
      this.stats.bansWritten++;
      this.#deps.banLog.write(BanAction.BAN, b.jail, b.target, {
        attacker: b.attacker,
        failures: b.failures,
        hosts: b.hosts,
        end: b.end === null ? 'permanent' : new Date(b.end).toISOString(),
        banCount: b.banCount,
        seq: b.seq,
      });
    }
    return stored;
  }

  async #lift(
    requests: readonly { target: string; at: EpochMs; reason: string }[],
  ): Promise<Ban[]> {
    const notify = this.#deps.notify;
    const lifted = await this.#deps.store.unban(
      notify === undefined
        ? requests
        : requests.map((r) => {
            const ban = this.#deps.store.get(r.target);
            return { ...r, notify: ban !== undefined && notify(ban, 'unban') };
          }),
    );
    const reasons = new Map(requests.map((r) => [r.target, r.reason]));
    for (const b of lifted) {
      this.stats.unbansWritten++;
      this.#deps.banLog.write(BanAction.UNBAN, b.jail, b.target, { reason: reasons.get(b.target) });
    }
    return lifted;
  }
}
