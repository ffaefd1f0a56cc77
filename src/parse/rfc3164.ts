// RFC 3164 and its real-world variants after the PRI: [TIMESTAMP] [HOSTNAME] TAG[pid]: MSG.
import { isIPv6 } from 'node:net';
import type { EpochMs } from '../core/clock.js';
import { SyslogFormat, type ParseError, type SyslogEvent } from '../core/types.js';
import { eventTime, makeEvent, parseErrors, type ParseOptions } from './event.js';
import { parseRfc3339 } from './rfc3339.js';
import { SyslogTimeZone } from './time-zone.js';

const C_SPACE = 32;
const C_0 = 48;
const C_9 = 57;
const C_DOT = 46;
const C_COLON = 58;
const C_F = 70;
const C_OPEN = 91;
const C_CLOSE = 93;

/** Month number (1-12) of a three-letter English abbreviation at `i`, any case; 0 if none. */
function monthAt(text: string, i: number): number {
  const key =
    ((text.charCodeAt(i) | 0x20) << 16) |
    ((text.charCodeAt(i + 1) | 0x20) << 8) |
    (text.charCodeAt(i + 2) | 0x20);
  switch (key) {
    case 0x6a616e:
      return 1; // jan
    case 0x666562:
      return 2; // feb
    case 0x6d6172:
      return 3; // mar
    case 0x617072:
      return 4; // apr
    case 0x6d6179:
      return 5; // may
    case 0x6a756e:
      return 6; // jun
    case 0x6a756c:
      return 7; // jul
    case 0x617567:
      return 8; // aug
    case 0x736570:
      return 9; // sep
    case 0x6f6374:
      return 10; // oct
    case 0x6e6f76:
      return 11; // nov
    case 0x646563:
      return 12; // dec
    default:
      return 0;
  }
}

function isDigit(c: number): boolean {
  return c >= C_0 && c <= C_9;
}

/** Value of the two decimal digits at `i`, or -1. */
function two(text: string, i: number): number {
  const a = text.charCodeAt(i) - C_0;
  const b = text.charCodeAt(i + 1) - C_0;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** Characters that never belong in a header token: C0/C1 controls, DEL, U+FFFD from bad UTF-8. */
function isJunk(c: number): boolean {
  return c < 32 || (c >= 0x7f && c <= 0x9f) || c === 0xfffd;
}

/** What FreeBSD syslogd writes after the stamp of a message it relays from another host. */
const FORWARDED = 'Forwarded from ';

/**
 * Index just past `Forwarded from HOST:` at `p`, or -1. FreeBSD syslogd (fprintlog_rfc3164, F_FORW)
 * forwards its own messages as `<PRI>TIMESTAMP TAG: MSG`, without a HOSTNAME, and those it
 * received from HOST as `<PRI>TIMESTAMP Forwarded from HOST: TAG: MSG`.
 */
function forwardedHostEnd(text: string, p: number, end: number): number {
  if (text.charCodeAt(p) !== C_F || !text.startsWith(FORWARDED, p)) return -1;
  const hostStart = p + FORWARDED.length;
  let q = hostStart;
  for (; q < end; q++) {
    const c = text.charCodeAt(q);
    if (c === C_SPACE) break;
    if (isJunk(c)) return -1;
  }
  return q > hostStart + 1 && text.charCodeAt(q - 1) === C_COLON ? q : -1;
}

/**
 * Parses text[start, end). Returns null when `hasPri` is false and no timestamp opens the text:
 * the caller then treats the line as bare text. A stamp that has the right shape but impossible
 * values (hour 25) is an error; a date that exists in no nearby year (Nov 31) leaves the
 * receive time in place, as a missing stamp does.
 *
 * Host detection follows rsyslog: after a timestamp, the first word is the HOSTNAME unless it
 * looks like a TAG (contains `[`, or `:` without being an IPv6 address), as in what busybox
 * syslogd, socklog and FreeBSD syslogd forward: the libc line `<PRI>TIMESTAMP TAG: MSG`, which
 * names no host. FreeBSD's `Forwarded from HOST:` names the HOSTNAME. Without a timestamp
 * (`logger -d`, local sockets) there is no HOSTNAME, and a first word that does not look like a
 * TAG is taken as message text, not as a program name.
 */
export function parseRfc3164Body(
  text: string,
  start: number,
  end: number,
  facility: number,
  severity: number,
  hasPri: boolean,
  peer: string,
  receivedAt: EpochMs,
  options: ParseOptions,
): SyslogEvent | ParseError | null {
  let p = start;
  let own = NaN;
  let stamped = false;
  const first = text.charCodeAt(p);

  if (isDigit(first)) {
    // RSYSLOG_ForwardFormat: an RFC 3339 stamp in the traditional layout.
    let sp = text.indexOf(' ', p);
    if (sp < 0 || sp > end) sp = end;
    const t = parseRfc3339(text, p, sp);
    if (!Number.isNaN(t)) {
      own = t;
      stamped = true;
      p = sp;
    }
  } else {
    const month = monthAt(text, p);
    if (month > 0 && text.charCodeAt(p + 3) === C_SPACE) {
      // `Nov  5` (RFC 3164), `Nov 05`, and `Nov 5` (some appliances).
      let q = p + 4;
      const d1 = text.charCodeAt(q);
      const d2 = text.charCodeAt(q + 1);
      let day = -1;
      if (d1 === C_SPACE && isDigit(d2)) {
        day = d2 - C_0;
        q += 2;
      } else if (isDigit(d1) && isDigit(d2)) {
        day = (d1 - C_0) * 10 + d2 - C_0;
        q += 2;
      } else if (isDigit(d1) && d2 === C_SPACE) {
        day = d1 - C_0;
        q += 1;
      }
      if (day >= 0 && text.charCodeAt(q) === C_SPACE && q + 9 <= end) {
        const hour = two(text, q + 1);
        const min = two(text, q + 4);
        const sec = two(text, q + 7);
        if (
          hour >= 0 &&
          min >= 0 &&
          sec >= 0 &&
          text.charCodeAt(q + 3) === C_COLON &&
          text.charCodeAt(q + 6) === C_COLON
        ) {
          if (day < 1 || day > 31 || hour > 23 || min > 59 || sec > 59) {
            return parseErrors.BAD_TIMESTAMP;
          }
          q += 9;
          // syslog-ng with frac-digits() appends a fraction.
          let ms = 0;
          if (text.charCodeAt(q) === C_DOT && isDigit(text.charCodeAt(q + 1))) {
            let scale = 100;
            for (q++; q < end && isDigit(text.charCodeAt(q)); q++) {
              ms += (text.charCodeAt(q) - C_0) * scale;
              scale /= 10;
            }
            ms = Math.floor(ms);
          }
          if (q === end || text.charCodeAt(q) === C_SPACE) {
            const zone = options.timeZone ?? new SyslogTimeZone();
            own = zone.nearest(month, day, hour, min, sec, receivedAt) + ms;
            stamped = true;
            p = q;
          }
        }
      }
    }
  }

  if (!stamped && !hasPri) return null;
  while (p < end && text.charCodeAt(p) === C_SPACE) p++;

  let hostname = peer;
  const relayedFrom = stamped ? forwardedHostEnd(text, p, end) : -1;
  if (relayedFrom > 0) {
    hostname = text.slice(p + FORWARDED.length, relayedFrom - 1);
    p = relayedFrom;
    while (p < end && text.charCodeAt(p) === C_SPACE) p++;
  } else {
    // The first word: a HOSTNAME or a TAG.
    let hasBracket = false;
    let colons = 0;
    let wordEnd = p;
    for (; wordEnd < end; wordEnd++) {
      const c = text.charCodeAt(wordEnd);
      if (c === C_SPACE) break;
      if (c === C_OPEN) hasBracket = true;
      else if (c === C_COLON) colons++;
      else if (isJunk(c)) return parseErrors.BAD_HEADER;
    }
    const bracketedHost =
      hasBracket && text.charCodeAt(p) === C_OPEN && text.charCodeAt(wordEnd - 1) === C_CLOSE;
    const looksLikeTag =
      !bracketedHost &&
      (hasBracket || (colons > 0 && (colons === 1 || !isIPv6(text.slice(p, wordEnd)))));

    if (stamped && !looksLikeTag) {
      if (wordEnd > p) {
        hostname = bracketedHost ? text.slice(p + 1, wordEnd - 1) : text.slice(p, wordEnd);
      }
      p = wordEnd;
      while (p < end && text.charCodeAt(p) === C_SPACE) p++;
    } else if (!looksLikeTag) {
      return makeEvent(
        SyslogFormat.RFC3164,
        facility,
        severity,
        receivedAt,
        receivedAt,
        peer,
        peer,
        '',
        '',
        text.slice(p, end),
      );
    }
  }

  // TAG: program, optional [pid], optional colon; rsyslog ends it at ':' or space.
  let programEnd = end;
  let pid = '';
  let k = end;
  for (let i = p; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === C_COLON) {
      programEnd = i;
      k = i + 1;
      break;
    }
    if (c === C_SPACE) {
      programEnd = i;
      k = i;
      break;
    }
    if (c === C_OPEN) {
      programEnd = i;
      let j = i + 1;
      while (j < end && text.charCodeAt(j) !== C_CLOSE && text.charCodeAt(j) !== C_SPACE) j++;
      if (j < end && text.charCodeAt(j) === C_CLOSE) {
        pid = text.slice(i + 1, j);
        k = j + 1;
        if (k < end && text.charCodeAt(k) === C_COLON) k++;
      } else {
        // `prog[` with no closing bracket: keep the whole word as the program.
        programEnd = j;
        k = j;
      }
      break;
    }
    if (isJunk(c)) return parseErrors.BAD_HEADER;
  }
  if (k < end && text.charCodeAt(k) === C_SPACE) k++;

  return makeEvent(
    SyslogFormat.RFC3164,
    facility,
    severity,
    eventTime(own, receivedAt, options.maxSkewMs),
    receivedAt,
    hostname,
    peer,
    text.slice(p, programEnd),
    pid,
    k < end ? text.slice(k, end) : '',
  );
}
