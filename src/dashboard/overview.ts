// The Overview page's figures: bans per minute from the change feed, failures per minute from the jails' counter, kept in rings.
import type { Clock, EpochMs } from '../core/clock.js';
import type { Change } from '../core/types.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Days of ban counts kept (UTC days): the week charted and today. */
const BAN_DAYS = 8;
/** Minutes of ban counts kept: a day. */
const BAN_MINUTES = 24 * 60;
/** How often the jails' failure counter is sampled, and how many samples an hour holds. */
export const FAILURE_SAMPLE_MS = 5_000;
const FAILURE_SAMPLES = 3600_000 / FAILURE_SAMPLE_MS + 1;

export interface OverviewReport {
  readonly at: EpochMs;
  readonly activeBans: number;
  readonly bansLastHour: number;
  /** Failures counted by the jails over the last minute. */
  readonly failuresPerMinute: number;
  /** Jails by active bans, most first (at most 5). */
  readonly topJails: readonly { readonly jail: string; readonly bans: number }[];
  /** Bans per minute over the last hour, oldest first; `minutes[i]` is its start. */
  readonly bansPerMinute: readonly number[];
  /** Failures per minute over the last hour, oldest first (same minutes). */
  readonly failuresSeries: readonly number[];
  /** Start of the first minute of the series. */
  readonly seriesStart: EpochMs;
  /** Bans per hour over the last 24 hours (this hour last), oldest first, from `hoursStart`. */
  readonly bansPerHour: readonly number[];
  readonly hoursStart: EpochMs;
  /** Bans per UTC day over the last 7 days (today last), oldest first, from `daysStart`. */
  readonly bansPerDay: readonly number[];
  readonly daysStart: EpochMs;
  /** Hosts by active bans reported from them, most first (at most 10). */
  readonly topHosts: readonly { readonly name: string; readonly bans: number }[];
  /** Bans whose hosts are counted in `topHosts` (the ones since start and the newest at start). */
  readonly hostsCounted: number;
  /** Networks (/24, /64) by active bans, most first (at most 10). */
  readonly topNetworks: readonly { readonly name: string; readonly bans: number }[];
  readonly lastSeq: number;
  /**
   * Senders flagged silent (ingest.silentAfter), longest silent first: `name` is the host bound
   * in ingest.senders ('' when none), `lastSeen` their last message, `since` when flagged.
   */
  readonly silentSenders: readonly {
    readonly address: string;
    readonly name: string;
    readonly lastSeen: EpochMs;
    readonly since: EpochMs;
  }[];
}

/**
 * Ban counts per minute (a day's ring) and per UTC day (eight days' ring), seeded at start from the active bans' start times, so
 * bans already lifted before start are missing from it) and the failure counter's samples
 * (an hour's ring). All reads are O(ring), never O(bans).
 */
export class OverviewFigures {
  readonly #clock: Clock;
  readonly #failures: () => number;
  readonly #banMinute = new Float64Array(BAN_MINUTES);
  readonly #banCount = new Uint32Array(BAN_MINUTES);
  readonly #banDay = new Float64Array(BAN_DAYS);
  readonly #banDayCount = new Uint32Array(BAN_DAYS);
  readonly #sampleAt = new Float64Array(FAILURE_SAMPLES);
  readonly #sampleValue = new Float64Array(FAILURE_SAMPLES);
  #samples = 0;
  #lastSeq = 0;

  /** `failures`: the jails' failures counted since start (all jails). */
  constructor(clock: Clock, failures: () => number) {
    this.#clock = clock;
    this.#failures = failures;
  }

  /** A ban already active at start, or a new one from the feed. */
  countBan(start: EpochMs): void {
    const day = Math.floor(start / DAY);
    if (day > Math.floor(this.#clock.now() / DAY) - BAN_DAYS) {
      const daySlot = day % BAN_DAYS;
      if (this.#banDay[daySlot] !== day) {
        this.#banDay[daySlot] = day;
        this.#banDayCount[daySlot] = 0;
      }
      this.#banDayCount[daySlot] = (this.#banDayCount[daySlot] ?? 0) + 1;
    }
    const minute = Math.floor(start / MINUTE);
    if (minute <= Math.floor(this.#clock.now() / MINUTE) - BAN_MINUTES) return;
    const slot = minute % BAN_MINUTES;
    if (this.#banMinute[slot] !== minute) {
      this.#banMinute[slot] = minute;
      this.#banCount[slot] = 0;
    }
    this.#banCount[slot] = (this.#banCount[slot] ?? 0) + 1;
  }

  apply(changes: readonly Change[]): void {
    for (const c of changes) {
      if (c.kind === 'ban') this.countBan(c.ban.start);
      this.#lastSeq = c.seq;
    }
  }

  set lastSeq(seq: number) {
    this.#lastSeq = seq;
  }

  /** Called every FAILURE_SAMPLE_MS. */
  sample(): void {
    const slot = this.#samples % FAILURE_SAMPLES;
    this.#sampleAt[slot] = this.#clock.now();
    this.#sampleValue[slot] = this.#failures();
    this.#samples++;
  }

  report(
    activeBans: number,
    topJails: OverviewReport['topJails'],
  ): Omit<OverviewReport, 'silentSenders' | 'topHosts' | 'hostsCounted' | 'topNetworks'> {
    const now = this.#clock.now();
    const thisMinute = Math.floor(now / MINUTE);
    const bansPerMinute: number[] = [];
    for (let m = thisMinute - 59; m <= thisMinute; m++) bansPerMinute.push(this.#bansIn(m));
    const failuresNow = this.#failures();
    const failuresSeries: number[] = [];
    for (let m = thisMinute - 59; m <= thisMinute; m++) {
      const end = Math.min(now, (m + 1) * MINUTE);
      const a = this.#failuresAt(m * MINUTE, failuresNow);
      const b = this.#failuresAt(end, failuresNow);
      failuresSeries.push(a === null || b === null ? 0 : Math.max(0, b - a));
    }
    const minuteAgo = this.#failuresAt(now - MINUTE, failuresNow);
    // Hours end at this minute's end: 24 × 60 minutes, all still in the minute ring.
    const thisHour = Math.floor(now / HOUR);
    const bansPerHour: number[] = [];
    for (let h = thisHour - 23; h <= thisHour; h++) {
      let n = 0;
      for (let m = h * 60; m < (h + 1) * 60 && m <= thisMinute; m++) n += this.#bansIn(m);
      bansPerHour.push(n);
    }
    const today = Math.floor(now / DAY);
    const bansPerDay: number[] = [];
    for (let d = today - 6; d <= today; d++) {
      const slot = d % BAN_DAYS;
      bansPerDay.push(this.#banDay[slot] === d ? (this.#banDayCount[slot] ?? 0) : 0);
    }
    return {
      at: now,
      activeBans,
      bansLastHour: bansPerMinute.reduce((a, b) => a + b, 0),
      failuresPerMinute: Math.max(0, failuresNow - (minuteAgo ?? 0)),
      topJails,
      bansPerMinute,
      failuresSeries,
      seriesStart: (thisMinute - 59) * MINUTE,
      bansPerHour,
      hoursStart: (thisHour - 23) * HOUR,
      bansPerDay,
      daysStart: (today - 6) * DAY,
      lastSeq: this.#lastSeq,
    };
  }

  #bansIn(minute: number): number {
    const slot = minute % BAN_MINUTES;
    return this.#banMinute[slot] === minute ? (this.#banCount[slot] ?? 0) : 0;
  }

  /**
   * The counter's value at `t`: the latest sample at or before it; `now` when `t` is later
   * than every sample; 0 before the first sample (the counter starts at 0 with the server).
   */
  #failuresAt(t: EpochMs, failuresNow: number): number | null {
    if (t >= this.#clock.now()) return failuresNow;
    let best: number | null = null;
    let bestAt = -Infinity;
    const n = Math.min(this.#samples, FAILURE_SAMPLES);
    for (let i = 0; i < n; i++) {
      const at = this.#sampleAt[i] ?? 0;
      if (at <= t && at > bestAt) {
        bestAt = at;
        best = this.#sampleValue[i] ?? 0;
      }
    }
    return best ?? 0;
  }
}
