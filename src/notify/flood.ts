// Flood control for ban mail (CrowdSec's group_wait/group_threshold, Wazuh's maxperhour): pure, clock injected.
import type { Clock, EpochMs } from '../core/clock.js';
import type { Notice } from '../core/types.js';

export interface FloodOptions {
  /** How long notices are gathered into one digest once mail is no longer quiet. */
  readonly groupWaitMs: number;
  /** A digest goes out at once when this many notices wait. */
  readonly groupThreshold: number;
  /** Most mails in any rolling hour, the suppressed summary included. */
  readonly maxPerHour: number;
}

/** What flood control needs of a notice: when it happened (mail notices, webhook events). */
export interface Timed {
  readonly at: EpochMs;
}

export type PlannedMail<N extends Timed = Notice> =
  | { readonly kind: 'single'; readonly notices: readonly N[] }
  | { readonly kind: 'digest'; readonly notices: readonly N[] }
  /** The hour's cap was reached: one mail counting everything held back meanwhile. */
  | { readonly kind: 'summary'; readonly notices: readonly N[] };

export interface FloodPlan<N extends Timed = Notice> {
  /** What to send now, covering every pending notice; null = nothing yet. */
  readonly mail: PlannedMail<N> | null;
  /** When to ask again if nothing new arrives; null = only when something arrives. */
  readonly wakeAt: EpochMs | null;
}

const HOUR_MS = 3600_000;

/**
 * The mails one recipient list got in the last hour: shared by every planner that mails that
 * list (ban notices, silent-sender alerts), so together they stay within `maxPerHour` and one
 * planner's mail ends the other's quiet period.
 */
export class SendLog {
  readonly #clock: Clock;
  /** Send times within the last hour, oldest first. */
  #sent: EpochMs[];
  #lastMailAt: EpochMs | null;

  /** `sentBefore`: send times from before a restart, so the cap holds across it. */
  constructor(clock: Clock, sentBefore: readonly EpochMs[] = []) {
    this.#clock = clock;
    this.#sent = [...sentBefore].sort((a, b) => a - b);
    this.#lastMailAt = this.#sent[this.#sent.length - 1] ?? null;
  }

  get lastMailAt(): EpochMs | null {
    return this.#lastMailAt;
  }

  /** Send times within the hour before now, oldest first. */
  lastHour(): readonly EpochMs[] {
    const now = this.#clock.now();
    let drop = 0;
    while (drop < this.#sent.length && (this.#sent[drop] ?? 0) <= now - HOUR_MS) drop++;
    if (drop > 0) this.#sent = this.#sent.slice(drop);
    return this.#sent;
  }

  record(): void {
    const now = this.#clock.now();
    this.#sent.push(now);
    this.#lastMailAt = now;
  }
}

/**
 * Decides when pending notices of one set of recipients (or of one webhook) are sent and how:
 * - quiet (no mail for `groupWait`) and one notice waiting: it goes out alone, at once;
 * - otherwise notices gather into a digest, sent `groupWait` after the oldest one arrived, or at
 *   once when `groupThreshold` wait;
 * - once `maxPerHour` mails went out in the last hour, nothing more is sent until the oldest of
 *   them leaves the hour; then one summary counts everything held back ("N more suppressed").
 * The planner never drops a notice: each plan covers all pending ones, and the caller removes
 * them from the outbox only after the mail is sent (then calls `recordSent`).
 */
export class FloodControl<N extends Timed = Notice> {
  readonly #o: FloodOptions;
  readonly #clock: Clock;
  readonly #log: SendLog;
  #capped = false;

  /**
   * `sent`: the route's send log, shared with the other planners of the same recipients; or the
   * send times of its mails from before a restart, so the cap holds across it.
   */
  constructor(options: FloodOptions, clock: Clock, sent: SendLog | readonly EpochMs[] = []) {
    this.#o = {
      groupWaitMs: Math.max(0, options.groupWaitMs),
      groupThreshold: Math.max(1, Math.trunc(options.groupThreshold)),
      maxPerHour: Math.max(1, Math.trunc(options.maxPerHour)),
    };
    this.#clock = clock;
    this.#log = sent instanceof SendLog ? sent : new SendLog(clock, sent);
  }

  plan(pending: readonly N[]): FloodPlan<N> {
    const now = this.#clock.now();
    const sent = this.#log.lastHour();
    if (pending.length === 0) {
      this.#capped = false;
      return { mail: null, wakeAt: null };
    }
    const oldestSent = sent[0];
    if (sent.length >= this.#o.maxPerHour && oldestSent !== undefined) {
      this.#capped = true;
      return { mail: null, wakeAt: oldestSent + HOUR_MS };
    }
    if (this.#capped) return { mail: { kind: 'summary', notices: pending }, wakeAt: null };

    const last = this.#log.lastMailAt;
    const quiet = last === null || now - last >= this.#o.groupWaitMs;
    const due = Math.min(...pending.map((n) => n.at)) + this.#o.groupWaitMs;
    const kind = pending.length === 1 ? 'single' : 'digest';
    if ((pending.length === 1 && quiet) || pending.length >= this.#o.groupThreshold || now >= due)
      return { mail: { kind, notices: pending }, wakeAt: null };
    return { mail: null, wakeAt: due };
  }

  /** Counts a mail the caller has sent (towards the hourly cap and the quiet period). */
  recordSent(mail: PlannedMail<N>): void {
    this.#log.record();
    if (mail.kind === 'summary') this.#capped = false;
  }

  /** Mails sent in the last hour (by every planner sharing the send log). */
  sentLastHour(): number {
    return this.#log.lastHour().length;
  }
}
