// Entry point of the parse stage: one received syslog text → a SyslogEvent, or a ParseError value.
import type { EpochMs } from '../core/clock.js';
import { SyslogFormat, type ParseError, type SyslogEvent } from '../core/types.js';
import { makeEvent, parseErrors, type ParseOptions } from './event.js';
import { parsePriMessage } from './pri.js';
import { parseRelayed } from './relayed.js';
import { parseRfc3164Body } from './rfc3164.js';

export { isParseError, ParseReason, type ParseOptions } from './event.js';
export { SyslogTimeZone } from './time-zone.js';

const C_NUL = 0;
const C_LF = 10;
const C_CR = 13;
const C_SPACE = 32;
const C_LT = 60;

/**
 * Parses one message as ingest received it (one datagram or one framed TCP message, decoded as
 * UTF-8). Never throws: whatever the bytes, the result is an event or a ParseError.
 *
 * - `<PRI>1 ` selects RFC 5424; any other `<PRI>` selects RFC 3164 and its variants
 *   (RSYSLOG_ForwardFormat, syslog-ng, `logger`, busybox syslogd, FreeBSD syslogd), see
 *   parseRfc3164Body.
 * - Without a PRI, a line that opens with a timestamp is RFC 3164 with facility and severity -1;
 *   a line a relay wrote (svlogd stamp, socklog prefixes, metalog `[program]`) is read by
 *   parseRelayed; other printable text is `bare`: the whole text is the message. Text with
 *   control characters or undecodable bytes is refused.
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

  if (text.charCodeAt(0) === C_LT) return parsePriMessage(text, 0, end, peer, receivedAt, options);
  return (
    parseRfc3164Body(text, 0, end, -1, -1, false, peer, receivedAt, options) ??
    parseRelayed(text, end, peer, receivedAt, options) ??
    parseBare(text, end, peer, receivedAt)
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
