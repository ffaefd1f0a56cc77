// The journal export parser byte by byte, the HTTP request reader, and how an entry becomes a syslog line.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  JournalExportError,
  JournalExportParser,
  type JournalEntry,
} from '../../src/ingest/journal-export.js';
import { HttpRequestReader, type HttpFailure } from '../../src/ingest/journal-http.js';
import { renderEntry } from '../../src/ingest/journal.js';
import { isParseError } from '../../src/parse/event.js';
import { parseSyslog } from '../../src/parse/syslog.js';
import { SyslogTimeZone } from '../../src/parse/time-zone.js';

const KEEP = new Set(['MESSAGE', '_HOSTNAME', 'SYSLOG_IDENTIFIER', '_PID']);

function binaryField(name: string, value: Buffer, length = value.length): Buffer {
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(length));
  return Buffer.concat([Buffer.from(`${name}\n`), len, value, Buffer.from('\n')]);
}

interface Parsed {
  readonly entries: Record<string, string>[];
  readonly oversized: string[];
  readonly failed: string[];
}

function parse(chunks: readonly Buffer[], maxFieldSize = 64): Parsed {
  const out: Parsed = { entries: [], oversized: [], failed: [] };
  const p = new JournalExportParser(
    { maxFieldSize, keep: KEEP },
    {
      entry: (e: JournalEntry) =>
        out.entries.push(Object.fromEntries([...e].map(([k, v]) => [k, v.toString('latin1')]))),
      oversized: (field) => out.oversized.push(field),
      failed: (reason) => out.failed.push(reason),
    },
  );
  for (const c of chunks) p.push(c);
  p.end();
  return out;
}

/** Every way of cutting `bytes` in two, and one byte at a time. */
function splits(bytes: Buffer): Buffer[][] {
  const all: Buffer[][] = [[bytes], [...bytes].map((b) => Buffer.from([b]))];
  for (let k = 1; k < bytes.length; k++) all.push([bytes.subarray(0, k), bytes.subarray(k)]);
  return all;
}

const TWO = Buffer.concat([
  Buffer.from('__CURSOR=s=1\n_HOSTNAME=web-a\nSYSLOG_IDENTIFIER=sshd\n_PID=42\n'),
  binaryField('MESSAGE', Buffer.from('Failed password\nfor root')),
  Buffer.from('\n'),
  Buffer.from('MESSAGE=second\n_HOSTNAME=web-b\n\n'),
]);

describe('journal export parser', () => {
  it('reads text and binary fields, keeping only the fields asked for, at every split', () => {
    for (const chunks of splits(TWO)) {
      const r = parse(chunks);
      assert.deepEqual(r.failed, []);
      assert.deepEqual(r.entries, [
        {
          _HOSTNAME: 'web-a',
          SYSLOG_IDENTIFIER: 'sshd',
          _PID: '42',
          MESSAGE: 'Failed password\nfor root',
        },
        { MESSAGE: 'second', _HOSTNAME: 'web-b' },
      ]);
    }
  });

  it('delivers a last entry that ends on a field without the empty line', () => {
    assert.deepEqual(parse([Buffer.from('MESSAGE=x\n')]).entries, [{ MESSAGE: 'x' }]);
  });

  it('ignores repeated empty lines between entries', () => {
    assert.deepEqual(parse([Buffer.from('\n\nMESSAGE=x\n\n\n')]).entries, [{ MESSAGE: 'x' }]);
  });

  it('skips an entry with an oversized text or binary field and goes on, at every split', () => {
    const big = 'A'.repeat(65);
    const input = Buffer.concat([
      Buffer.from(`MESSAGE=${big}\n_PID=1\n\n`),
      binaryField('OTHER', Buffer.alloc(100, 1)),
      Buffer.from('MESSAGE=kept-not\n\nMESSAGE=after\n\n'),
    ]);
    for (const chunks of splits(input)) {
      const r = parse(chunks);
      assert.deepEqual(r.failed, []);
      assert.deepEqual(r.oversized, ['MESSAGE', 'OTHER']);
      assert.deepEqual(r.entries, [{ MESSAGE: 'after' }]);
    }
  });

  it('fails on a binary length beyond any field, naming it', () => {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(2n ** 63n);
    const r = parse([Buffer.concat([Buffer.from('MESSAGE\n'), len, Buffer.from('x\n')])]);
    assert.deepEqual(r.failed, [JournalExportError.BAD_LENGTH]);
    assert.deepEqual(r.entries, []);
  });

  it('fails when a binary value is longer than its length says', () => {
    const bad = binaryField('MESSAGE', Buffer.from('abcdef'), 3);
    for (const chunks of splits(bad)) {
      assert.deepEqual(parse(chunks).failed, [JournalExportError.MISSING_NEWLINE]);
    }
  });

  it('fails on a field name that is not one, or too long', () => {
    assert.deepEqual(parse([Buffer.from('message=x\n\n')]).failed, [
      JournalExportError.BAD_FIELD_NAME,
    ]);
    assert.deepEqual(parse([Buffer.from('1ABC=x\n\n')]).failed, [
      JournalExportError.BAD_FIELD_NAME,
    ]);
    assert.deepEqual(parse([Buffer.from(`${'A'.repeat(65)}=x\n`)]).failed, [
      JournalExportError.BAD_FIELD_NAME,
    ]);
    // A name that never ends is refused before it is held whole.
    assert.deepEqual(parse([Buffer.alloc(10_000, 65)]).failed, [JournalExportError.BAD_FIELD_NAME]);
  });

  it('fails a stream that ends inside a field', () => {
    assert.deepEqual(parse([Buffer.from('MESSAGE=x')]).failed, [JournalExportError.TRUNCATED]);
    assert.deepEqual(parse([Buffer.from('MESSAGE\n\u0005\u0000')]).failed, [
      JournalExportError.TRUNCATED,
    ]);
  });
});

interface Served {
  readonly heads: string[];
  readonly bodies: string[];
  readonly failures: HttpFailure[];
}

function serve(chunks: readonly Buffer[]): Served {
  const out: Served = { heads: [], bodies: [], failures: [] };
  let body = '';
  const r = new HttpRequestReader({
    head: (h) => {
      out.heads.push(`${h.method} ${h.path} ${h.headers.get('content-type') ?? ''}`);
      return null;
    },
    body: (c) => (body += c.toString('latin1')),
    done: () => {
      out.bodies.push(body);
      body = '';
    },
    failed: (f) => out.failures.push(f),
  });
  for (const c of chunks) r.push(c);
  return out;
}

describe('HTTP request reader', () => {
  const chunked = Buffer.from(
    'POST /upload?x=1 HTTP/1.1\r\nContent-Type: application/vnd.fdo.journal\r\n' +
      'Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n' +
      '5\r\nMESSA\r\n4;ext=1\r\nGE=x\r\n0\r\n\r\n' +
      'POST /upload HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc',
  );

  it('reads chunked and sized bodies, one request after another, at every split', () => {
    for (const chunks of splits(chunked)) {
      const r = serve(chunks);
      assert.deepEqual(r.failures, []);
      assert.deepEqual(r.heads, ['POST /upload application/vnd.fdo.journal', 'POST /upload ']);
      assert.deepEqual(r.bodies, ['MESSAGE=x', 'abc']);
    }
  });

  it('answers framing errors with a status and a reason', () => {
    const bad = (text: string) => serve([Buffer.from(text)]).failures[0];
    assert.equal(bad('GARBAGE\r\n\r\n')?.status, 400);
    assert.equal(bad('POST /upload HTTP/1.1\r\n\r\n')?.status, 411);
    assert.equal(bad('POST /upload HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n')?.status, 501);
    assert.deepEqual(bad('POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'), {
      status: 400,
      reason: 'invalid chunk size',
    });
    assert.deepEqual(bad('POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc'), {
      status: 400,
      reason: 'chunk not followed by CRLF',
    });
    assert.equal(serve([Buffer.alloc(20_000, 65)]).failures[0]?.status, 431);
  });
});

describe('journal entry as a syslog line', () => {
  const entry = (fields: Record<string, string | Buffer>): JournalEntry =>
    new Map(Object.entries(fields).map(([k, v]) => [k, Buffer.isBuffer(v) ? v : Buffer.from(v)]));

  it('carries time, host, program, pid, facility and severity', () => {
    const line = renderEntry(
      entry({
        MESSAGE: 'Failed password for root from 192.0.2.1 port 22 ssh2',
        __REALTIME_TIMESTAMP: '1796232918123456',
        _HOSTNAME: 'web-a',
        SYSLOG_IDENTIFIER: 'sshd',
        _COMM: 'sshd-session',
        _PID: '42',
        PRIORITY: '5',
        SYSLOG_FACILITY: '10',
      }),
    );
    assert.equal(
      line?.toString(),
      '<85>1 2026-12-02T17:35:18.123Z web-a sshd 42 - - Failed password for root from 192.0.2.1 port 22 ssh2',
    );
  });

  it('header fields a host writes cannot carry a fake header or choose the address: they become `-`', () => {
    // SYSLOG_IDENTIFIER and _HOSTNAME are free text to any process on the sending host.
    const fake = 'sshd 1 - - Failed password for root from 203.0.113.99 port 22 ssh2';
    const line = renderEntry(
      entry({
        MESSAGE: 'Failed password for root from 198.51.100.7 port 22 ssh2',
        __REALTIME_TIMESTAMP: '1796232918123456',
        _HOSTNAME: `web-a ${fake}`,
        SYSLOG_IDENTIFIER: fake,
        SYSLOG_PID: '1 - - [x] from 203.0.113.99',
      }),
    );
    const event = parseSyslog(line?.toString() ?? '', '10.0.0.5', 1796232918123, {
      maxSkewMs: 86_400_000,
      timeZone: new SyslogTimeZone('UTC'),
    });
    assert.ok(!isParseError(event), JSON.stringify(event));
    assert.equal(event.message, 'Failed password for root from 198.51.100.7 port 22 ssh2');
    assert.equal(event.program, '');
    assert.equal(event.hostname, '10.0.0.5', 'no host name: the peer stands for it');
    assert.doesNotMatch(JSON.stringify(event), /203\.0\.113\.99/);
  });

  it('falls back to _COMM, defaults and `-` for what RFC 5424 cannot carry', () => {
    const line = renderEntry(
      entry({ MESSAGE: Buffer.from([0xff, 0x41]), _COMM: 'cron', _HOSTNAME: 'bad host' }),
    );
    assert.deepEqual(
      line,
      Buffer.concat([Buffer.from('<14>1 - - cron - - - '), Buffer.from([0xff, 0x41])]),
    );
    assert.equal(renderEntry(entry({ _HOSTNAME: 'web-a' })), null, 'no MESSAGE, no line');
  });
});
