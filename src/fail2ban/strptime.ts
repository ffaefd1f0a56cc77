// fail2ban's strptime: `%` date directives as regex text, and matched fields turned into an instant (year and zone rules).
import { zoneOffsetAt } from '../core/zone-offset.js';

const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];
const DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];

const alternatives = (names: readonly string[]): string =>
  [...names].sort((a, b) => b.length - a.length).join('|');

/** Directive → Python regex text (fail2ban's timeRE, with its overrides of Python's). */
export const TIME_RE: Readonly<Record<string, string>> = {
  a: `(?P<a>${alternatives(DAYS.map((d) => d.slice(0, 3)))})`,
  A: `(?P<A>${alternatives(DAYS)})`,
  b: `(?P<b>${alternatives(MONTHS.map((m) => m.slice(0, 3)))})`,
  B: `(?P<B>${alternatives(MONTHS)})`,
  d: String.raw`(?P<d>[1-2]\d|[0 ]?[1-9]|3[0-1])`,
  f: String.raw`(?P<f>[0-9]{1,6})`,
  H: String.raw`(?P<H>[0-1]?\d|2[0-3])`,
  I: String.raw`(?P<I>1[0-2]|0[1-9]|[1-9])`,
  j: String.raw`(?P<j>36[0-6]|3[0-5]\d|[12]\d\d|0[1-9]\d|00[1-9]|[1-9]\d|0[1-9]|[1-9])`,
  k: String.raw` ?(?P<H>[0-2]?\d)`,
  l: String.raw` ?(?P<I>1?\d)`,
  m: String.raw`(?P<m>0?[1-9]|1[0-2])`,
  M: String.raw`(?P<M>[0-5]?\d)`,
  p: '(?P<p>am|pm)',
  S: String.raw`(?P<S>[0-5]?\d|6[0-1])`,
  U: String.raw`(?P<U>5[0-3]|[0-4]\d|\d)`,
  w: '(?P<w>[0-6])',
  W: String.raw`(?P<W>5[0-3]|[0-4]\d|\d)`,
  y: String.raw`(?P<y>\d\d)`,
  Y: String.raw`(?P<Y>\d{4})`,
  z: String.raw`(?P<z>Z|UTC|GMT|[+-][01]\d(?::?\d{2})?)`,
  Z: '(?P<Z>Z|[A-Z]{3,5})',
  ExZ: '(?P<Z>[A-Z](?:[A-Z]{2,4})?)',
  Exz: String.raw`(?P<z>(?:[A-Z](?:[A-Z]{2,4})?)?[+-][01]\d(?::?\d{2})?|[A-Z](?:[A-Z]{2,4})?)`,
  Exd: String.raw`(?P<d>[1-2]\d|0[1-9]|3[0-1])`,
  Exm: '(?P<m>0[1-9]|1[0-2])',
  ExH: String.raw`(?P<H>[0-1]\d|2[0-3])`,
  Exk: String.raw` ?(?P<H>[0-1]?\d|2[0-3])`,
  Exl: String.raw` ?(?P<I>1[0-2]|\d)`,
  ExM: String.raw`(?P<M>[0-5]\d)`,
  ExS: String.raw`(?P<S>[0-5]\d|6[0-1])`,
  // fail2ban builds this from the current and a few recent centuries' decades: years 2000-2039.
  ExY: String.raw`(?P<Y>20[0-3]\d)`,
  Exy: String.raw`(?P<y>\d{2})`,
  '%': '%',
};

const DIRECTIVE = /%(%|Ex[a-zA-Z]|[a-zA-Z])/g;

/** Replaces `%X` directives with regex text; throws TypeError naming an unknown directive. */
export function expandDirectives(pattern: string): string {
  return pattern.replace(DIRECTIVE, (all, key: string) => {
    const re = Object.hasOwn(TIME_RE, key) ? TIME_RE[key] : undefined;
    if (re === undefined) throw new TypeError(`unknown date directive ${all}`);
    return re;
  });
}

/** Whether the pattern uses names (months, days, am/pm): fail2ban then matches case-insensitively. */
export function hasAlphaDirective(pattern: string): boolean {
  return /(?<!%)%[aAbBpc]/.test(pattern);
}

/** Converts a wall-clock time in the local zone to epoch milliseconds. Months are 1-12. */
export type WallToEpoch = (
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
) => number;
/** The wall-clock fields of an instant in the local zone. */
export type EpochToWall = (ms: number) => readonly [number, number, number, number, number, number];

export interface LocalZone {
  readonly toEpoch: WallToEpoch;
  readonly toWall: EpochToWall;
}

const HOUR_MS = 3_600_000;
/** Hours whose offset a zone remembers (a log spans few; a flood of odd dates just clears it). */
const OFFSET_CACHE = 4096;

/** A zone by IANA name (or `UTC`), through Intl: what `mktime` does under TZ=name. */
export function ianaZone(name: string): LocalZone {
  const exactOffset = zoneOffsetAt(name);
  // Intl is slow (several µs a call, three calls a dated line): the offset is remembered per
  // hour, and an hour whose two ends disagree (a transition inside it) is asked exactly.
  const hours = new Map<number, number | null>();
  const offsetAt = (ms: number): number => {
    const hour = Math.floor(ms / HOUR_MS);
    let known = hours.get(hour);
    if (known === undefined) {
      const start = exactOffset(hour * HOUR_MS);
      known = start === exactOffset(hour * HOUR_MS + HOUR_MS - 1000) ? start : null;
      if (hours.size >= OFFSET_CACHE) hours.clear();
      hours.set(hour, known);
    }
    return known ?? exactOffset(ms);
  };
  const toWall: EpochToWall = (ms) => {
    const w = new Date(Math.floor(ms / 1000) * 1000 + offsetAt(ms));
    return [
      w.getUTCFullYear(),
      w.getUTCMonth() + 1,
      w.getUTCDate(),
      w.getUTCHours(),
      w.getUTCMinutes(),
      w.getUTCSeconds(),
    ];
  };
  const toEpoch: WallToEpoch = (y, mo, d, h, mi, s) => {
    const naive = Date.UTC(y, mo - 1, d, h, mi, s);
    let t = naive - offsetAt(naive);
    t = naive - offsetAt(t);
    return t;
  };
  return { toEpoch, toWall };
}

/** Zone abbreviations fail2ban knows, in minutes east of UTC (its TZ_ABBR_OFFS, abridged to the common ones). */
const ZONE_ABBR: Readonly<Record<string, number>> = {
  Z: 0,
  UTC: 0,
  GMT: 0,
  WET: 0,
  UT: 0,
  CET: 60,
  WEST: 60,
  BST: 60,
  CEST: 120,
  EET: 120,
  SAST: 120,
  EEST: 180,
  MSK: 180,
  IST: 330,
  HKT: 480,
  SGT: 480,
  AWST: 480,
  JST: 540,
  KST: 540,
  AEST: 600,
  AEDT: 660,
  NZST: 720,
  NZDT: 780,
  AST: -240,
  ADT: -180,
  EST: -300,
  EDT: -240,
  CST: -360,
  CDT: -300,
  MST: -420,
  MDT: -360,
  PST: -480,
  PDT: -420,
  AKST: -540,
  AKDT: -480,
  HST: -600,
};

/** Minutes east of UTC for `+0200`, `-05:00`, `CEST`, `CET+1`; undefined when unknown. */
export function zoneOffset(text: string): number | undefined {
  const m = /^([A-Z](?:[A-Z]{2,4})?)?([+-][01]\d(?::?\d{2})?)?$/.exec(text);
  if (m === null) return undefined;
  const abbr = m[1] ?? '';
  const base = abbr === '' ? 0 : ZONE_ABBR[abbr];
  if (base === undefined) return undefined;
  const off = m[2];
  if (off === undefined) return base;
  const sign = off.startsWith('-') ? -1 : 1;
  const digits = off.slice(1).replace(':', '');
  if (digits.length <= 2) return base + Number(off) * 60;
  return base + sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4)));
}

const DAY_MS = 86_400_000;

/**
 * fail2ban's reGroupDictStrptime: the instant (epoch ms) of the matched date fields. A missing
 * year is the current one, or the previous one when that would be more than a day ahead of
 * `now`; a missing date is today (yesterday when the time is still ahead). Returns undefined
 * for fields that name no real date.
 */
export function fieldsToEpoch(
  fields: Readonly<Record<string, string | undefined>>,
  now: number,
  zone: LocalZone,
): number | undefined {
  const nowWall = zone.toWall(now);
  let year: number | undefined;
  let month: number | undefined;
  let day: number | undefined;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let tz: number | undefined;
  for (const [key, val] of Object.entries(fields)) {
    if (val === undefined) continue;
    switch (key) {
      case 'y':
        year = Number(val);
        if (year <= 2000) year += 2000;
        break;
      case 'Y':
        year = Number(val);
        break;
      case 'm':
        month = Number(val);
        break;
      case 'B':
        month = MONTHS.indexOf(val.toLowerCase()) + 1;
        break;
      case 'b':
        month = MONTHS.findIndex((m) => m.startsWith(val.toLowerCase())) + 1;
        break;
      case 'd':
        day = Number(val);
        break;
      case 'H':
        hour = Number(val);
        break;
      case 'I': {
        hour = Number(val);
        const ampm = (fields['p'] ?? '').toLowerCase();
        if (ampm === '' || ampm === 'am') {
          if (hour === 12) hour = 0;
        } else if (ampm === 'pm' && hour !== 12) hour += 12;
        break;
      }
      case 'M':
        minute = Number(val);
        break;
      case 'S':
        second = Number(val);
        break;
      case 'z':
      case 'Z':
        tz = val === 'Z' || val === 'UTC' || val === 'GMT' ? 0 : zoneOffset(val);
        if (tz === undefined) return undefined;
        break;
      default:
    }
  }
  const assumeYear = year === undefined;
  const assumeToday = month === undefined && day === undefined;
  year ??= nowWall[0];
  if (assumeToday) [month, day] = [nowWall[1], nowWall[2]];
  if (month === undefined || day === undefined || month < 1 || month > 12 || day < 1 || day > 31)
    return undefined;
  // Python compares naive datetimes: the stamp (shifted to UTC when it had an offset) against local "now".
  const nowNaive = Date.UTC(
    nowWall[0],
    nowWall[1] - 1,
    nowWall[2],
    nowWall[3],
    nowWall[4],
    nowWall[5],
  );
  let naive = Date.UTC(year, month - 1, day, hour, minute, second);
  if (new Date(naive).getUTCDate() !== day) return undefined;
  if (tz !== undefined) naive -= tz * 60_000;
  if (assumeToday && naive > nowNaive) naive -= DAY_MS;
  if (assumeYear && naive > nowNaive + DAY_MS) {
    const back = new Date(naive);
    back.setUTCFullYear(year - 1);
    naive = back.getTime();
  }
  if (tz !== undefined) return naive;
  const w = new Date(naive);
  return zone.toEpoch(
    w.getUTCFullYear(),
    w.getUTCMonth() + 1,
    w.getUTCDate(),
    w.getUTCHours(),
    w.getUTCMinutes(),
    w.getUTCSeconds(),
  );
}
