// A message that opens with `<PRI>`: reads the PRI and hands the rest to the RFC 5424 or RFC 3164 parser.
import type { EpochMs } from '../core/clock.js';
import type { ParseError, SyslogEvent } from '../core/types.js';
import { parseErrors, type ParseOptions } from './event.js';
import { parseRfc3164Body } from './rfc3164.js';
import { parseRfc5424Body } from './rfc5424.js';

const C_SPACE = 32;
const C_0 = 48;
const C_1 = 49;
const C_GT = 62;

/** Highest valid PRI: facility 23 (local7), severity 7 (debug). */
const MAX_PRI = 191;

/**
 * Parses text[start, end), where text[start] is `<`. `<PRI>1 ` selects RFC 5424; any other
 * `<PRI>` selects RFC 3164 and its variants (see parseRfc3164Body).
 */
export function parsePriMessage(
  text: string,
  start: number,
  end: number,
  peer: string,
  receivedAt: EpochMs,
  options: ParseOptions,
): SyslogEvent | ParseError {
  let pri = 0;
  let i = start + 1;
  for (; i < start + 4 && i < end; i++) {
    const d = text.charCodeAt(i) - C_0;
    if (d < 0 || d > 9) break;
    pri = pri * 10 + d;
  }
  if (i === start + 1 || text.charCodeAt(i) !== C_GT || pri > MAX_PRI) return parseErrors.BAD_PRI;
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
