// A journal entry's fields → the parts of a syslog message, each header part checked as an RFC 5424 header field would be.
import type { FieldMessage } from '../core/types.js';
import type { JournalEntry } from './journal-export.js';

/** The fields an entry is read from, in the order of their index in a JournalEntry. */
export const JOURNAL_FIELDS: readonly string[] = [
  'MESSAGE',
  'PRIORITY',
  'SYSLOG_FACILITY',
  '__REALTIME_TIMESTAMP',
  '_HOSTNAME',
  'SYSLOG_IDENTIFIER',
  '_COMM',
  'SYSLOG_PID',
  '_PID',
];
export const MESSAGE = 0;
const PRIORITY = 1;
const SYSLOG_FACILITY = 2;
const REALTIME = 3;
const HOSTNAME = 4;
const SYSLOG_IDENTIFIER = 5;
const COMM = 6;
const SYSLOG_PID = 7;
const PID = 8;

/** syslog(3)'s default facility (user) and journald's default priority (info). */
const DEFAULT_FACILITY = 1;
const DEFAULT_SEVERITY = 6;
/** RFC 5424's limits for HOSTNAME, APP-NAME and PROCID. */
const MAX_HOSTNAME = 255;
const MAX_APP_NAME = 48;
const MAX_PROCID = 128;

const C_0 = 48;
const C_DASH = 45;

/**
 * The message an entry carries, or null when it has no MESSAGE (nothing a filter could match).
 * `SYSLOG_IDENTIFIER` (else `_COMM`) is the program, `SYSLOG_PID` (else `_PID`) the pid,
 * `__REALTIME_TIMESTAMP` the time, `PRIORITY` and `SYSLOG_FACILITY` severity and facility,
 * `_HOSTNAME` the host. `_HOSTNAME`, `SYSLOG_IDENTIFIER` and `SYSLOG_PID` are free text that any
 * process on the sending host writes: a value an RFC 5424 header could not carry (spaces,
 * control characters, over the field's length) is not trusted and becomes '', as `-` would; so
 * is `-` itself. The MESSAGE is decoded as UTF-8, invalid bytes as U+FFFD.
 */
export function journalMessage(entry: JournalEntry): FieldMessage | null {
  const { buffers, starts, ends } = entry;
  const message = buffers[MESSAGE];
  if (message === undefined) return null;
  const app = buffers[SYSLOG_IDENTIFIER] === undefined ? COMM : SYSLOG_IDENTIFIER;
  const pid = buffers[SYSLOG_PID] === undefined ? PID : SYSLOG_PID;
  return {
    facility: smallInt(entry, SYSLOG_FACILITY, 23) ?? DEFAULT_FACILITY,
    severity: smallInt(entry, PRIORITY, 7) ?? DEFAULT_SEVERITY,
    ownTime: realtime(entry),
    hostname: headerField(entry, HOSTNAME, MAX_HOSTNAME),
    program: headerField(entry, app, MAX_APP_NAME),
    pid: headerField(entry, pid, MAX_PROCID),
    message: message.toString('utf8', starts[MESSAGE], ends[MESSAGE]),
  };
}

/** One or two decimal digits, at most `max`; else null. */
function smallInt(entry: JournalEntry, k: number, max: number): number | null {
  const buf = entry.buffers[k];
  if (buf === undefined) return null;
  const start = entry.starts[k] ?? 0;
  const length = (entry.ends[k] ?? 0) - start;
  if (length < 1 || length > 2) return null;
  let n = 0;
  for (let i = start; i < start + length; i++) {
    const d = (buf[i] ?? 0) - C_0;
    if (d < 0 || d > 9) return null;
    n = n * 10 + d;
  }
  return n <= max ? n : null;
}

/**
 * `__REALTIME_TIMESTAMP`, µs since the epoch in 1-17 digits (up to the year 5138), → ms,
 * truncated; NaN when absent or not such a number.
 */
function realtime(entry: JournalEntry): number {
  const buf = entry.buffers[REALTIME];
  if (buf === undefined) return NaN;
  const start = entry.starts[REALTIME] ?? 0;
  const end = entry.ends[REALTIME] ?? 0;
  if (end - start < 1 || end - start > 17) return NaN;
  let ms = 0;
  for (let i = start; i < end; i++) {
    const d = (buf[i] ?? 0) - C_0;
    if (d < 0 || d > 9) return NaN;
    // The last three digits are the µs within the ms: dropped, so that ms stays an exact integer.
    if (i < end - 3) ms = ms * 10 + d;
  }
  return ms;
}

/** Printable US-ASCII without spaces, 1 to `max` bytes, and not `-`; else ''. */
function headerField(entry: JournalEntry, k: number, max: number): string {
  const buf = entry.buffers[k];
  if (buf === undefined) return '';
  const start = entry.starts[k] ?? 0;
  const end = entry.ends[k] ?? 0;
  if (end === start || end - start > max) return '';
  if (end - start === 1 && buf[start] === C_DASH) return '';
  for (let i = start; i < end; i++) {
    const c = buf[i] ?? 0;
    if (c < 33 || c > 126) return '';
  }
  return buf.toString('latin1', start, end);
}
