// How RFC 3164 wall-clock stamps (no year, no offset) become instants: one zone, inferred year, memoised.
import { zoneOffsetAt } from '../core/zone-offset.js';
import type { EpochMs } from '../core/clock.js';
import { daysInMonth, utcEpoch } from './civil.js';

/** The server's own zone, as Date sees it (the TZ environment variable or /etc/localtime). */
export const LOCAL_ZONE = 'local';

/** A memo entry: the instant chosen for a stamp, valid while the receive time stays in [from, until). */
interface Memo {
  readonly key: number;
  readonly time: EpochMs;
  readonly from: EpochMs;
  readonly until: EpochMs;
}

/** Distinct stamps remembered; a fleet sends a few per second, so this covers over an hour. */
const MEMO_LIMIT = 8192;

/** How far to look for a year in which the date exists (29 February). */
const LEAP_SEARCH_YEARS = 8;

const DAY_MS = 86_400_000;

type WallToEpoch = (y: number, mo: number, d: number, h: number, mi: number, s: number) => EpochMs;

/**
 * One time zone for year-less, offset-less stamps. Create one per ingest pipeline and pass it in
 * every ParseOptions: it memoises each stamp's instant, because a busy fleet sends thousands of
 * messages that share the same second and the zone conversion is the costly part of parsing.
 * Not shared across threads; state is only the memo.
 */
export class SyslogTimeZone {
  /** `local`, `UTC`, or an IANA zone name such as `Europe/Berlin`. */
  readonly name: string;
  readonly #wallToEpoch: WallToEpoch;
  readonly #memo = new Map<number, Memo>();
  #last: Memo | undefined;

  /** Throws a TypeError for a zone name the runtime does not know (config validation uses isValid). */
  constructor(name: string = LOCAL_ZONE) {
    this.name = name;
    if (name === LOCAL_ZONE) this.#wallToEpoch = localWallToEpoch;
    else if (name === 'UTC') this.#wallToEpoch = utcEpoch;
    else {
      if (!SyslogTimeZone.isValid(name)) throw new TypeError(`unknown time zone: ${name}`);
      this.#wallToEpoch = zonedWallToEpoch(name);
    }
  }

  /** Whether `name` is `local`, `UTC` or an IANA zone this runtime knows. */
  static isValid(name: string): boolean {
    if (name === LOCAL_ZONE || name === 'UTC') return true;
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: name });
      return true;
    } catch {
      return false;
    }
  }

  /** The instant of a wall-clock time in a given year (month 1-12); NaN if that date does not exist. */
  toEpoch(
    year: number,
    month: number,
    day: number,
    hour: number,
    min: number,
    sec: number,
  ): EpochMs {
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return NaN;
    return this.#wallToEpoch(year, month, day, hour, min, sec);
  }

  /**
   * The instant of a year-less wall-clock time, in whichever year puts it closest to `near` (the
   * receive time), as rsyslog does: `Dec 31 23:59:59` received on 1 January is last year's.
   * NaN when the date exists in no year nearby (29 February far from a leap year).
   */
  nearest(
    month: number,
    day: number,
    hour: number,
    min: number,
    sec: number,
    near: EpochMs,
  ): EpochMs {
    // Memoised per hour, not per second: zone offsets change on hour boundaries, and a new
    // second every few messages would otherwise cost five Date conversions each.
    const within = (min * 60 + sec) * 1000;
    const key = (month * 32 + day) * 24 + hour;
    const last = this.#last;
    if (last !== undefined && last.key === key && near >= last.from && near < last.until) {
      return last.time + within;
    }
    let memo = this.#memo.get(key);
    if (memo === undefined || near < memo.from || near >= memo.until) {
      memo = this.#resolve(key, month, day, hour, 0, 0, near);
      if (memo === undefined) return NaN;
      if (this.#memo.size >= MEMO_LIMIT) this.#memo.clear();
      this.#memo.set(key, memo);
    }
    this.#last = memo;
    return memo.time + within;
  }

  #resolve(
    key: number,
    month: number,
    day: number,
    hour: number,
    min: number,
    sec: number,
    near: EpochMs,
  ): Memo | undefined {
    const at = (year: number): EpochMs => this.toEpoch(year, month, day, hour, min, sec);
    // The zone's year of `near` differs from the UTC year by at most one, and the closest
    // candidate is never more than half a year away, so the UTC year ± 1 always contains it.
    const base = new Date(near).getUTCFullYear();
    let year = NaN;
    let time = NaN;
    for (let y = base - 1; y <= base + 1; y++) {
      const t = at(y);
      if (!Number.isNaN(t) && (Number.isNaN(time) || Math.abs(t - near) < Math.abs(time - near))) {
        year = y;
        time = t;
      }
    }
    if (Number.isNaN(time)) return undefined;
    // The same stamp in the neighbouring years bounds the receive times for which this choice holds.
    const previous = this.#neighbour(at, year, -1);
    const next = this.#neighbour(at, year, 1);
    return {
      key,
      time,
      from: Number.isNaN(previous) ? -Infinity : (previous + time) / 2,
      until: Number.isNaN(next) ? Infinity : (time + next) / 2,
    };
  }

  #neighbour(at: (year: number) => EpochMs, year: number, step: 1 | -1): EpochMs {
    for (let i = 1; i <= LEAP_SEARCH_YEARS; i++) {
      const t = at(year + step * i);
      if (!Number.isNaN(t)) return t;
    }
    return NaN;
  }
}

function localWallToEpoch(
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
): EpochMs {
  return new Date(y, mo - 1, d, h, mi, s).getTime();
}

/** Wall time in an IANA zone → instant, through Intl (slow, hence the memo in front of it). */
function zonedWallToEpoch(zone: string): WallToEpoch {
  const offsetAt = zoneOffsetAt(zone);
  return (y, mo, d, h, mi, s) => {
    const wall = utcEpoch(y, mo, d, h, mi, s);
    // The offsets a day either side bracket any transition; resolve like Date ("compatible"):
    // an ambiguous time takes the earlier instant, a time inside a DST gap moves forward.
    const before = offsetAt(wall - DAY_MS);
    const after = offsetAt(wall + DAY_MS);
    const early = wall - before;
    if (before === after) return early;
    const late = wall - after;
    const earlyHolds = offsetAt(early) === before;
    const lateHolds = offsetAt(late) === after;
    if (earlyHolds && lateHolds) return Math.min(early, late);
    if (lateHolds) return late;
    return early;
  };
}
