// What the syslog parsers share: options, the catalogue of parse-failure reasons, and the event builder.
import type { EpochMs } from '../core/clock.js';
import type { ParseError, SyslogEvent, SyslogFormat } from '../core/types.js';
import type { SyslogTimeZone } from './time-zone.js';

export interface ParseOptions {
  /**
   * How far (ms) a message's own time may be from its receive time and still be believed;
   * beyond that the receive time is used (a sender with a wrong clock must not shift windows).
   */
  readonly maxSkewMs: number;
  /**
   * Zone for RFC 3164 stamps, which carry neither year nor offset. Share one instance per
   * pipeline: it memoises conversions. Absent: the server's local zone, without a memo (slower).
   */
  readonly timeZone?: SyslogTimeZone;
}

/** Why a message was refused. Stable short texts: ingest counts parse errors per reason. */
export const ParseReason = {
  EMPTY: 'empty message',
  BAD_PRI: 'invalid PRI',
  NOT_SYSLOG: 'not syslog text',
  BAD_TIMESTAMP: 'invalid timestamp',
  TRUNCATED: 'truncated header',
  BAD_HEADER: 'invalid header field',
  BAD_STRUCTURED_DATA: 'invalid structured data',
} as const;
export type ParseReason = (typeof ParseReason)[keyof typeof ParseReason];

/** One frozen value per reason: refusing a message allocates nothing. */
export const parseErrors: Readonly<Record<keyof typeof ParseReason, ParseError>> = Object.freeze({
  EMPTY: Object.freeze({ reason: ParseReason.EMPTY }),
  BAD_PRI: Object.freeze({ reason: ParseReason.BAD_PRI }),
  NOT_SYSLOG: Object.freeze({ reason: ParseReason.NOT_SYSLOG }),
  BAD_TIMESTAMP: Object.freeze({ reason: ParseReason.BAD_TIMESTAMP }),
  TRUNCATED: Object.freeze({ reason: ParseReason.TRUNCATED }),
  BAD_HEADER: Object.freeze({ reason: ParseReason.BAD_HEADER }),
  BAD_STRUCTURED_DATA: Object.freeze({ reason: ParseReason.BAD_STRUCTURED_DATA }),
});

export function isParseError(result: SyslogEvent | ParseError): result is ParseError {
  return (result as Partial<ParseError>).reason !== undefined;
}

/** The message's own time when present and within the skew limit, else the receive time. */
export function eventTime(own: EpochMs, receivedAt: EpochMs, maxSkewMs: number): EpochMs {
  return own - receivedAt <= maxSkewMs && receivedAt - own <= maxSkewMs ? own : receivedAt;
}

/** Builds every event with one property order, so the pipeline's code sees a single shape. */
export function makeEvent(
  format: SyslogFormat,
  facility: number,
  severity: number,
  time: EpochMs,
  receivedAt: EpochMs,
  hostname: string,
  peer: string,
  program: string,
  pid: string,
  message: string,
): SyslogEvent {
  return { format, facility, severity, time, receivedAt, hostname, peer, program, pid, message };
}
