// systemd-journal-upload on a stream listener: `POST /upload` bodies in journal export format, each entry delivered as a syslog line.
import { HttpRequestReader, type HttpFailure, type RequestHead } from './journal-http.js';
import { JournalExportParser, type JournalEntry } from './journal-export.js';
import type { StreamProtocol } from './stream-protocol.js';

/** What systemd-journal-upload sends, and what systemd-journal-remote insists on. */
export const JOURNAL_CONTENT_TYPE = 'application/vnd.fdo.journal';

/** The fields an entry is turned into a syslog line from. */
const KEPT = new Set([
  'MESSAGE',
  'SYSLOG_IDENTIFIER',
  '_COMM',
  '_PID',
  'SYSLOG_PID',
  '_HOSTNAME',
  '__REALTIME_TIMESTAMP',
  'PRIORITY',
  'SYSLOG_FACILITY',
]);

/** syslog(3)'s default facility (user) and journald's default priority (info). */
const DEFAULT_FACILITY = 1;
const DEFAULT_SEVERITY = 6;

/**
 * Each entry with a MESSAGE becomes an RFC 5424 line handed to the sink like any other
 * transport's, so the parser, the host bindings (a `_HOSTNAME` is written by the sending host,
 * like a syslog HOSTNAME) and the jails see one kind of input. Entries without MESSAGE carry
 * nothing a filter could match and are skipped. Each request is answered once its body is read:
 * 202 as systemd-journal-remote does, or an error status with the reason, and the connection closed.
 */
export function journalStream(): StreamProtocol {
  return (conn, ctx, counters) => {
    const { delivery, limits } = ctx;
    const carrier = conn.carrier;
    let failed = false;
    const answer = (status: number, text: string, close: boolean): void => {
      if (carrier.destroyed) return;
      const body = `${text}\n`;
      carrier.write(
        `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n` +
          'Content-Type: text/plain\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\n` +
          (close ? 'Connection: close\r\n' : '') +
          `\r\n${body}`,
      );
    };
    const fail = (f: HttpFailure): void => {
      if (failed) return;
      failed = true;
      conn.fail(f.reason);
      answer(f.status, f.reason, true);
      // The peer broke the protocol: what it still sends is not read, so do not wait for it long.
      setTimeout(() => carrier.destroy(), limits.closeGraceMs).unref();
      carrier.end();
    };
    let closeAfter = false;
    let parser: JournalExportParser | null = null;
    const newParser = (): JournalExportParser =>
      new JournalExportParser(
        { maxFieldSize: limits.maxStreamFrame, keep: KEPT },
        {
          entry: (entry) => {
            const line = renderEntry(entry);
            if (line === null) return;
            delivery.deliver(
              line,
              0,
              line.length,
              conn.sender,
              counters,
              'journal',
              conn.receivedAt,
            );
          },
          oversized: () => {
            conn.sender.oversized++;
            counters.oversized++;
          },
          failed: (reason) => {
            reader.stop();
            fail({ status: 400, reason });
          },
        },
      );
    const reader = new HttpRequestReader({
      head: (head) => {
        const refused = checkHead(head);
        if (refused !== null) return refused;
        closeAfter = head.headers.get('connection')?.toLowerCase() === 'close';
        if (head.headers.get('expect')?.toLowerCase() === '100-continue') {
          carrier.write('HTTP/1.1 100 Continue\r\n\r\n');
        }
        parser = newParser();
        return null;
      },
      body: (chunk) => {
        parser?.push(chunk);
      },
      done: () => {
        parser?.end();
        if (parser?.failed === true) return;
        parser = null;
        answer(202, 'OK.', closeAfter);
        if (closeAfter) carrier.end();
      },
      failed: fail,
    });
    return {
      push: (chunk) => {
        if (!failed) reader.push(chunk);
      },
      end: () => {
        if (!failed && !reader.idle) conn.fail('connection ended inside a request');
        carrier.end();
      },
      close: () => undefined,
    };
  };
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  202: 'Accepted',
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  411: 'Length Required',
  415: 'Unsupported Media Type',
  431: 'Request Header Fields Too Large',
  501: 'Not Implemented',
};

function checkHead(head: RequestHead): HttpFailure | null {
  if (head.path !== '/upload') return { status: 404, reason: `no such path: ${head.path}` };
  if (head.method !== 'POST') return { status: 405, reason: `${head.method} not allowed` };
  const type = head.headers.get('content-type') ?? '';
  if (type.split(';')[0]?.trim().toLowerCase() !== JOURNAL_CONTENT_TYPE) {
    return { status: 415, reason: `Content-Type must be ${JOURNAL_CONTENT_TYPE}` };
  }
  return null;
}

/**
 * `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID - - MESSAGE`, as bytes so that the MESSAGE's own
 * bytes reach the sink's UTF-8 check untouched. Header fields that RFC 5424 could not carry
 * (spaces, control characters, too long) become `-`: the parser then falls back as for syslog.
 */
export function renderEntry(entry: JournalEntry): Buffer | null {
  const message = entry.get('MESSAGE');
  if (message === undefined) return null;
  const severity = smallInt(entry.get('PRIORITY'), 7) ?? DEFAULT_SEVERITY;
  const facility = smallInt(entry.get('SYSLOG_FACILITY'), 23) ?? DEFAULT_FACILITY;
  const time = timestamp(entry.get('__REALTIME_TIMESTAMP'));
  const host = headerField(entry.get('_HOSTNAME'), 255);
  const app = headerField(entry.get('SYSLOG_IDENTIFIER') ?? entry.get('_COMM'), 48);
  const pid = headerField(entry.get('SYSLOG_PID') ?? entry.get('_PID'), 128);
  const head = `<${facility * 8 + severity}>1 ${time} ${host} ${app} ${pid} - - `;
  return Buffer.concat([Buffer.from(head, 'latin1'), message]);
}

function smallInt(value: Buffer | undefined, max: number): number | null {
  if (value === undefined) return null;
  const text = value.toString('latin1');
  if (!/^[0-9]{1,2}$/.test(text)) return null;
  const n = Number(text);
  return n <= max ? n : null;
}

/** µs since the epoch → RFC 3339 in UTC, ms precision; `-` when absent or absurd. */
function timestamp(value: Buffer | undefined): string {
  if (value === undefined) return '-';
  const text = value.toString('latin1');
  if (!/^[0-9]{1,17}$/.test(text)) return '-';
  const ms = Math.floor(Number(text) / 1000);
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? '-' : date.toISOString();
}

function headerField(value: Buffer | undefined, max: number): string {
  if (value === undefined || value.length === 0 || value.length > max) return '-';
  for (const c of value) if (c < 33 || c > 126) return '-';
  return value.toString('latin1');
}
