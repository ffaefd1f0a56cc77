// systemd-journal-upload on a stream listener: `POST /upload` bodies in journal export format, each entry delivered as the fields of a message.
import { JOURNAL_FIELDS, journalMessage, MESSAGE } from './journal-entry.js';
import { HttpRequestReader, type HttpFailure, type RequestHead } from './journal-http.js';
import { JournalExportParser } from './journal-export.js';
import type { StreamProtocol } from './stream-protocol.js';

/** What systemd-journal-upload sends, and what systemd-journal-remote insists on. */
export const JOURNAL_CONTENT_TYPE = 'application/vnd.fdo.journal';

/**
 * Each entry with a MESSAGE is handed to the sink as a message's fields (journalMessage): the
 * event is built from them directly, with no syslog line written and parsed again, and meets the
 * host bindings (a `_HOSTNAME` is written by the sending host, like a syslog HOSTNAME) and the
 * jails as any other transport's does. Entries without MESSAGE carry nothing a filter could
 * match and are skipped. Each request is answered once its body is read:
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
        { maxFieldSize: limits.maxStreamFrame, keep: JOURNAL_FIELDS },
        {
          entry: (entry) => {
            const message = journalMessage(entry);
            const buf = entry.buffers[MESSAGE];
            if (message === null || buf === undefined) return;
            delivery.deliverFields(
              message,
              buf,
              entry.starts[MESSAGE] ?? 0,
              entry.ends[MESSAGE] ?? 0,
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
