// A message that arrived as separate fields (a journal entry) → a SyslogEvent, with no header text to parse.
import type { EpochMs } from '../core/clock.js';
import { SyslogFormat, type FieldMessage, type SyslogEvent } from '../core/types.js';
import { eventTime, makeEvent, type ParseOptions } from './event.js';

const C_NUL = 0;
const C_LF = 10;
const C_CR = 13;
const C_SPACE = 32;
const C_BOM = 0xfeff;

/**
 * The event the RFC 5424 parser makes of `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID - - MSG`
 * with these parts (format `rfc5424`), built without writing that line: the message loses its
 * trailing LF, CR and NUL and one leading BOM or space as an RFC 5424 MSG does, the own time is
 * believed within `maxSkewMs`, and an absent host name is the peer's address.
 */
export function fieldEvent(
  m: FieldMessage,
  peer: string,
  receivedAt: EpochMs,
  options: ParseOptions,
): SyslogEvent {
  const text = m.message;
  let end = text.length;
  while (end > 0) {
    const c = text.charCodeAt(end - 1);
    if (c !== C_LF && c !== C_CR && c !== C_NUL) break;
    end--;
  }
  const first = text.charCodeAt(0);
  const start = end > 0 && (first === C_BOM || first === C_SPACE) ? 1 : 0;
  return makeEvent(
    SyslogFormat.RFC5424,
    m.facility,
    m.severity,
    eventTime(m.ownTime, receivedAt, options.maxSkewMs),
    receivedAt,
    m.hostname === '' ? peer : m.hostname,
    peer,
    m.program,
    m.pid,
    start === 0 && end === text.length ? text : text.slice(start, end),
  );
}
