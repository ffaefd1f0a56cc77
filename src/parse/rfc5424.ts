// RFC 5424 after `<PRI>1 `: TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG].
import type { EpochMs } from '../core/clock.js';
import { SyslogFormat, type ParseError, type SyslogEvent } from '../core/types.js';
import { eventTime, makeEvent, parseErrors, type ParseOptions } from './event.js';
import { parseRfc3339 } from './rfc3339.js';

const C_SPACE = 32;
const C_QUOTE = 34;
const C_DASH = 45;
const C_BACKSLASH = 92;
const C_OPEN = 91;
const C_CLOSE = 93;
const C_BOM = 0xfeff;

/** Whether text[from, to) is the NILVALUE `-`. */
function isNil(text: string, from: number, to: number): boolean {
  return to === from + 1 && text.charCodeAt(from) === C_DASH;
}

/** Header fields are printable US-ASCII (RFC 5424 §6): anything else means a corrupt frame. */
function isPrintable(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 33 || c > 126) return false;
  }
  return true;
}

/**
 * Index just past STRUCTURED-DATA that starts at `i` with `[`, or -1 when an element is not
 * closed. Inside a quoted PARAM-VALUE, `\` escapes the next character (`\]`, `\"`, `\\`), so
 * a `]` there does not end the element.
 */
function skipStructuredData(text: string, i: number, end: number): number {
  while (i < end && text.charCodeAt(i) === C_OPEN) {
    let quoted = false;
    i++;
    for (;;) {
      if (i >= end) return -1;
      const c = text.charCodeAt(i);
      if (quoted) {
        if (c === C_BACKSLASH) i++;
        else if (c === C_QUOTE) quoted = false;
      } else if (c === C_QUOTE) {
        quoted = true;
      } else if (c === C_CLOSE) {
        i++;
        break;
      }
      i++;
    }
  }
  return i;
}

/** Parses text[start, end), where `start` is just past the version and its space. */
export function parseRfc5424Body(
  text: string,
  start: number,
  end: number,
  facility: number,
  severity: number,
  peer: string,
  receivedAt: EpochMs,
  options: ParseOptions,
): SyslogEvent | ParseError {
  const tsEnd = text.indexOf(' ', start);
  if (tsEnd < 0 || tsEnd >= end) return parseErrors.TRUNCATED;
  let own = NaN;
  if (!isNil(text, start, tsEnd)) {
    own = parseRfc3339(text, start, tsEnd);
    if (Number.isNaN(own)) return parseErrors.BAD_TIMESTAMP;
  }

  const hostStart = tsEnd + 1;
  const hostEnd = text.indexOf(' ', hostStart);
  if (hostEnd < 0 || hostEnd >= end) return parseErrors.TRUNCATED;
  const appStart = hostEnd + 1;
  const appEnd = text.indexOf(' ', appStart);
  if (appEnd < 0 || appEnd >= end) return parseErrors.TRUNCATED;
  const pidStart = appEnd + 1;
  const pidEnd = text.indexOf(' ', pidStart);
  if (pidEnd < 0 || pidEnd >= end) return parseErrors.TRUNCATED;
  const msgIdStart = pidEnd + 1;
  const msgIdEnd = text.indexOf(' ', msgIdStart);
  if (msgIdEnd < 0 || msgIdEnd >= end) return parseErrors.TRUNCATED;
  if (
    !isPrintable(text, hostStart, hostEnd) ||
    !isPrintable(text, appStart, appEnd) ||
    !isPrintable(text, pidStart, pidEnd) ||
    !isPrintable(text, msgIdStart, msgIdEnd) ||
    hostEnd === hostStart ||
    appEnd === appStart ||
    pidEnd === pidStart ||
    msgIdEnd === msgIdStart
  ) {
    return parseErrors.BAD_HEADER;
  }

  const sdStart = msgIdEnd + 1;
  let sdEnd: number;
  const first = text.charCodeAt(sdStart);
  if (first === C_DASH) sdEnd = sdStart + 1;
  else if (first === C_OPEN) sdEnd = skipStructuredData(text, sdStart, end);
  else return sdStart >= end ? parseErrors.TRUNCATED : parseErrors.BAD_STRUCTURED_DATA;
  if (sdEnd < 0) return parseErrors.BAD_STRUCTURED_DATA;

  let message = '';
  if (sdEnd < end) {
    if (text.charCodeAt(sdEnd) !== C_SPACE) return parseErrors.BAD_STRUCTURED_DATA;
    let msgStart = sdEnd + 1;
    if (text.charCodeAt(msgStart) === C_BOM) msgStart++;
    // rsyslog's RSYSLOG_SyslogProtocol23Format keeps the space that followed the 3164 TAG, so
    // its MSG starts with one (rsyslog issue #160); jail patterns should not have to allow it.
    else if (text.charCodeAt(msgStart) === C_SPACE) msgStart++;
    message = text.slice(msgStart, end);
  }

  return makeEvent(
    SyslogFormat.RFC5424,
    facility,
    severity,
    eventTime(own, receivedAt, options.maxSkewMs),
    receivedAt,
    isNil(text, hostStart, hostEnd) ? peer : text.slice(hostStart, hostEnd),
    peer,
    isNil(text, appStart, appEnd) ? '' : text.slice(appStart, appEnd),
    isNil(text, pidStart, pidEnd) ? '' : text.slice(pidStart, pidEnd),
    message,
  );
}
