// Lines that relays send without a PRI in front: svlogd's UDP copies of socklog output, and metalog's remote lines.
import type { EpochMs } from '../core/clock.js';
import { SyslogFormat, type ParseError, type SyslogEvent } from '../core/types.js';
import { daysInMonth, utcEpoch } from './civil.js';
import { eventTime, isParseError, makeEvent, parseErrors, type ParseOptions } from './event.js';
import { parsePriMessage } from './pri.js';
import { parseRfc3164Body } from './rfc3164.js';

const C_SPACE = 32;
const C_0 = 48;
const C_9 = 57;
const C_a = 97;
const C_f = 102;
const C_z = 122;
const C_MINUS = 45;
const C_DOT = 46;
const C_COLON = 58;
const C_LT = 60;
const C_AT = 64;
const C_OPEN = 91;
const C_CLOSE = 93;
const C_T = 84;
const C_UNDERSCORE = 95;

/** svlogd's stamps (`-t`, `-tt`, `-ttt`) are 25 characters and a space. */
const SVLOGD_STAMP = 25;
/** Longest metalog program name taken; longer `[...]` openings are text. */
const MAX_PROGRAM = 64;

/** Facility and severity names as socklog writes them (glibc and musl `SYSLOG_NAMES`, with aliases). */
const FACILITIES: ReadonlyMap<string, number> = new Map([
  ['kern', 0],
  ['user', 1],
  ['mail', 2],
  ['daemon', 3],
  ['auth', 4],
  ['security', 4],
  ['syslog', 5],
  ['lpr', 6],
  ['news', 7],
  ['uucp', 8],
  ['cron', 9],
  ['authpriv', 10],
  ['ftp', 11],
  ['local0', 16],
  ['local1', 17],
  ['local2', 18],
  ['local3', 19],
  ['local4', 20],
  ['local5', 21],
  ['local6', 22],
  ['local7', 23],
]);
const SEVERITIES: ReadonlyMap<string, number> = new Map([
  ['emerg', 0],
  ['panic', 0],
  ['alert', 1],
  ['crit', 2],
  ['err', 3],
  ['error', 3],
  ['warn', 4],
  ['warning', 4],
  ['notice', 5],
  ['info', 6],
  ['debug', 7],
]);

function digits(text: string, i: number, n: number): number {
  let v = 0;
  for (let k = i; k < i + n; k++) {
    const d = text.charCodeAt(k) - C_0;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

function hex(text: string, i: number, n: number): number {
  let v = 0;
  for (let k = i; k < i + n; k++) {
    const c = text.charCodeAt(k);
    const d = c >= C_0 && c <= C_9 ? c - C_0 : c >= C_a && c <= C_f ? c - C_a + 10 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/**
 * The instant of an svlogd stamp at the start of the text, or NaN. runit's fmt_ptime.c writes
 * `@` and 24 hex digits (TAI64N, `-t`), or `YYYY-MM-DD_HH:MM:SS.fffff` (`-tt`, `T` for `-ttt`)
 * in UTC; svlogd.c puts it, a space, then the line, in each UDP datagram as in its files.
 */
function svlogdStamp(text: string): EpochMs {
  const first = text.charCodeAt(0);
  if (first === C_AT) {
    // libtai labels second s since 1970 (UTC) as 2^62 + 10 + s; the high word stays 2^30 until 2106.
    if (hex(text, 1, 8) !== 0x4000_0000) return NaN;
    const low = hex(text, 9, 8);
    const nano = hex(text, 17, 8);
    if (low < 10 || nano < 0 || nano > 999_999_999) return NaN;
    return (low - 10) * 1000 + Math.floor(nano / 1_000_000);
  }
  const sep = text.charCodeAt(10);
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const min = digits(text, 14, 2);
  const sec = digits(text, 17, 2);
  const frac = digits(text, 20, 5);
  if (
    (sep !== C_UNDERSCORE && sep !== C_T) ||
    text.charCodeAt(4) !== C_MINUS ||
    text.charCodeAt(7) !== C_MINUS ||
    text.charCodeAt(13) !== C_COLON ||
    text.charCodeAt(16) !== C_COLON ||
    text.charCodeAt(19) !== C_DOT ||
    year < 0 ||
    frac < 0 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysInMonth(year, month) ||
    hour < 0 ||
    hour > 23 ||
    min < 0 ||
    min > 59 ||
    sec < 0 ||
    sec > 59
  ) {
    return NaN;
  }
  return utcEpoch(year, month, day, hour, min, sec) + Math.floor(frac / 100);
}

/** Index just past `a.b.c.d: ` at `p` (socklog inet's sender prefix), or -1. */
function senderPrefixEnd(text: string, p: number, end: number): number {
  let i = p;
  for (let octet = 0; octet < 4; octet++) {
    if (octet > 0) {
      if (text.charCodeAt(i) !== C_DOT) return -1;
      i++;
    }
    const from = i;
    let v = 0;
    while (i < end && i - from < 3) {
      const d = text.charCodeAt(i) - C_0;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
      i++;
    }
    if (i === from || v > 255 || (i - from > 1 && text.charCodeAt(from) === C_0)) return -1;
  }
  return text.charCodeAt(i) === C_COLON && text.charCodeAt(i + 1) === C_SPACE ? i + 2 : -1;
}

/** Longest facility or severity name socklog writes (`authpriv`, `security`). */
const MAX_NAME = 8;

/** Index of the first `stop` within MAX_NAME + 1 characters from `from`, or -1. */
function nameEnd(text: string, from: number, end: number, stop: number): number {
  const limit = Math.min(end, from + MAX_NAME + 1);
  for (let i = from; i < limit; i++) if (text.charCodeAt(i) === stop) return i;
  return -1;
}

/** `facility.severity: ` at `p` as socklog converts a PRI; its PRI value and the index past it, or null. */
function namedPriority(text: string, p: number, end: number): { pri: number; next: number } | null {
  const dot = nameEnd(text, p, end, C_DOT);
  if (dot < 0) return null;
  const colon = nameEnd(text, dot + 1, end, C_COLON);
  if (colon < 0 || text.charCodeAt(colon + 1) !== C_SPACE || colon + 2 > end) return null;
  const facility = FACILITIES.get(text.slice(p, dot));
  const severity = SEVERITIES.get(text.slice(dot + 1, colon));
  if (facility === undefined || severity === undefined) return null;
  return { pri: facility * 8 + severity, next: colon + 2 };
}

/**
 * metalog's `[program] message` (metalog.c sendRemote): no PRI, time, host or pid; null if not
 * that. Reported as rfc3164: the program comes from the sender's TAG.
 */
function parseMetalog(
  text: string,
  end: number,
  peer: string,
  receivedAt: EpochMs,
): SyslogEvent | null {
  const c = text.charCodeAt(1) | 0x20;
  if (text.charCodeAt(0) !== C_OPEN || c < C_a || c > C_z) return null;
  let close = 2;
  for (; close < end && close <= MAX_PROGRAM; close++) {
    const k = text.charCodeAt(close);
    if (k === C_CLOSE) break;
    if (k <= C_SPACE || k >= 0x7f || k === C_OPEN || k === C_COLON) return null;
  }
  if (text.charCodeAt(close) !== C_CLOSE) return null;
  if (close + 1 < end && text.charCodeAt(close + 1) !== C_SPACE) return null;
  return makeEvent(
    SyslogFormat.RFC3164,
    -1,
    -1,
    receivedAt,
    receivedAt,
    peer,
    peer,
    text.slice(1, close),
    '',
    close + 2 <= end ? text.slice(close + 2, end) : '',
  );
}

/**
 * Parses a line without a PRI that a relay wrote (null if it is none of these): an svlogd stamp,
 * then socklog's `a.b.c.d: ` sender prefix (inet mode), then either the raw message
 * (`socklog -R`: `<PRI>…`) or socklog's `facility.severity: ` in place of the PRI; or metalog's
 * `[program] message`. The svlogd stamp (UTC, with year) is the event time; the socklog sender
 * stands for HOSTNAME when the message names none.
 */
export function parseRelayed(
  text: string,
  end: number,
  peer: string,
  receivedAt: EpochMs,
  options: ParseOptions,
): SyslogEvent | ParseError | null {
  let p = 0;
  let stamp = NaN;
  if (end > SVLOGD_STAMP + 1 && text.charCodeAt(SVLOGD_STAMP) === C_SPACE) {
    stamp = svlogdStamp(text);
    if (!Number.isNaN(stamp)) p = SVLOGD_STAMP + 1;
  }
  let sender = '';
  const senderEnd = senderPrefixEnd(text, p, end);
  if (senderEnd > 0) {
    sender = text.slice(p, senderEnd - 2);
    p = senderEnd;
  }

  let result: SyslogEvent | ParseError;
  if (text.charCodeAt(p) === C_LT) {
    result = parsePriMessage(text, p, end, peer, receivedAt, options);
  } else {
    const named = namedPriority(text, p, end);
    if (named !== null) {
      result =
        parseRfc3164Body(
          text,
          named.next,
          end,
          named.pri >> 3,
          named.pri & 7,
          true,
          peer,
          receivedAt,
          options,
        ) ?? parseErrors.NOT_SYSLOG;
    } else if (p === 0) {
      return parseMetalog(text, end, peer, receivedAt);
    } else {
      return null;
    }
  }
  if (isParseError(result) || (Number.isNaN(stamp) && sender === '')) return result;
  return makeEvent(
    result.format,
    result.facility,
    result.severity,
    Number.isNaN(stamp) ? result.time : eventTime(stamp, receivedAt, options.maxSkewMs),
    receivedAt,
    sender !== '' && result.hostname === peer ? sender : result.hostname,
    peer,
    result.program,
    result.pid,
    result.message,
  );
}
