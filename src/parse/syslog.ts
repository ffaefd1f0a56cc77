// Entry point of the parse stage: one received syslog text → a SyslogEvent, or a ParseError value.
import type { EpochMs } from '../core/clock.js';
import { SyslogFormat, type ParseError, type SyslogEvent } from '../core/types.js';
import { makeEvent, parseErrors, type ParseOptions } from './event.js';
import { parseRfc3164Body } from './rfc3164.js';
import { parseRfc5424Body } from './rfc5424.js';

export { isParseError, ParseReason, type ParseOptions } from './event.js';
export { SyslogTimeZone } from './time-zone.js';

const C_NUL = 0;
const C_LF = 10;
const C_CR = 13;
const C_SPACE = 32;
const C_0 = 48;
const C_1 = 49;
const C_LT = 60;
const C_GT = 62;

/** Highest valid PRI: facility 23 (local7), severity 7 (debug). */
const MAX_PRI = 191;

/**
 * Parses one message as ingest received it (one datagram or one framed TCP message, decoded as
 * UTF-8). Never throws: whatever the bytes, the result is an event or a ParseError.
 *
 * - `<PRI>1 ` selects RFC 5424; any other `<PRI>` selects RFC 3164 and its variants
 *   (RSYSLOG_ForwardFormat, syslog-ng, `logger`), see parseRfc3164Body.
 * - Without a PRI, a line that opens with a timestamp is RFC 3164 with facility and severity -1;
 *   other printable text is `bare`: the whole text is the message. Text with control characters
 *   or undecodable bytes is refused.
 * - Trailing LF, CR LF and NUL (octet-counted frames, C senders) are not part of the message.
 * - `hostname` falls back to `peer` when the message carries none.
 */
export function parseSyslog(
  text: string,
  peer: string,
  receivedAt: EpochMs,
  options: ParseOptions,
): SyslogEvent | ParseError {
  let end = text.length;
  while (end > 0) {
    const c = text.charCodeAt(end - 1);
    if (c !== C_LF && c !== C_CR && c !== C_NUL) break;
    end--;
  }
  if (end === 0) return parseErrors.EMPTY;

  if (text.charCodeAt(0) !== C_LT) {
    return (
      parseRfc3164Body(text, 0, end, -1, -1, false, peer, receivedAt, options) ??
      parseBare(text, end, peer, receivedAt)
    );
  }

  let pri = 0;
  let i = 1;
  for (; i < 4 && i < end; i++) {
    const d = text.charCodeAt(i) - C_0;
    if (d < 0 || d > 9) break;
    pri = pri * 10 + d;
  }
  if (i === 1 || text.charCodeAt(i) !== C_GT || pri > MAX_PRI) return parseErrors.BAD_PRI;
  const body = i + 1;
  if (body >= end) return parseErrors.EMPTY;
  const facility = pri >> 3;
  const severity = pri & 7;

  if (text.charCodeAt(body) === C_1 && text.charCodeAt(body + 1) === C_SPACE) {
    return parseRfc5424Body(text, body + 2, end, facility, severity, peer, receivedAt, options);
  }
  return (
    parseRfc3164Body(text, body, end, facility, severity, true, peer, receivedAt, options) ??
    parseErrors.NOT_SYSLOG
  );
}

/** Text without any syslog header: accepted only if it reads as text, so line noise is refused. */
function parseBare(
  text: string,
  end: number,
  peer: string,
  receivedAt: EpochMs,
): SyslogEvent | ParseError {
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if ((c < C_SPACE && c !== 9) || (c >= 0x7f && c <= 0x9f) || c === 0xfffd) {
      return parseErrors.NOT_SYSLOG;
    }
  }
  return makeEvent(
    SyslogFormat.BARE,
    -1,
    -1,
    receivedAt,
    receivedAt,
    peer,
    peer,
    '',
    '',
    text.slice(0, end),
  );
}
