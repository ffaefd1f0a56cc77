// Malformed journal uploads over real sockets: each is answered with its status and reason, counted, and the listener keeps serving.
import assert from 'node:assert/strict';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CidrSet, parseCidr } from '../../src/core/ip.js';
import {
  closed,
  connectTcp,
  options,
  portOf,
  startIngest,
  write,
  type Running,
} from './ingest-helpers.js';

const HEAD =
  'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/vnd.fdo.journal\r\n' +
  'Transfer-Encoding: chunked\r\n\r\n';

function chunk(body: Buffer | string): Buffer {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body);
  return Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n')]);
}

const LAST = '0\r\n\r\n';

/** Everything the server writes until it closes the connection, or until `until` is heard. */
function answers(socket: net.Socket, until?: string): Promise<string> {
  let text = '';
  socket.setEncoding('utf8');
  return new Promise((resolve) => {
    socket.on('data', (c: string) => {
      text += c;
      if (until !== undefined && text.includes(until)) resolve(text);
    });
    void closed(socket).then(() => {
      resolve(text);
    });
  });
}

describe('journal upload listener against malformed input', () => {
  let r: Running;
  let port: number;

  before(async () => {
    r = await startIngest(
      options({
        journal: { enabled: true, address: '127.0.0.1', port: 0 },
        maxMessageSize: 1024,
        closeGraceMs: 200,
      }),
    );
    port = portOf(r.at.journal);
  });
  after(() => r.ingest.close());

  async function exchange(input: Buffer | string, until?: string): Promise<string> {
    const socket = await connectTcp('127.0.0.1', port);
    const heard = answers(socket, until);
    await write(socket, input);
    const text = await heard;
    socket.destroy();
    return text;
  }

  it('accepts an upload with 202, delivers the entries and counts invalid UTF-8', async () => {
    const before = r.ingest.stats.journal.messages;
    const text = await exchange(
      Buffer.concat([
        Buffer.from(HEAD),
        chunk('_HOSTNAME=web-a\nSYSLOG_IDENTIFIER=sshd\n_PID=7\nMESSAGE=one\n\n'),
        chunk('MESSAGE=bad '),
        chunk(Buffer.from([0xff, 0x0a, 0x0a])),
        Buffer.from(LAST),
      ]),
      'OK.\n',
    );
    assert.match(text, /^HTTP\/1\.1 202 Accepted\r\n/);
    await r.sink.waitFor(2);
    assert.equal(r.ingest.stats.journal.messages, before + 2);
    assert.equal(r.ingest.stats.journal.invalidUtf8, 1);
    const common = { facility: 1, severity: 6, ownTime: NaN, pid: '' };
    assert.deepEqual(
      r.sink.messages.slice(-2).map((m) => m.fields),
      [
        { ...common, hostname: 'web-a', program: 'sshd', pid: '7', message: 'one' },
        { ...common, hostname: '', program: '', message: 'bad \uFFFD' },
      ],
    );
  });

  const cases: [string, string, RegExp][] = [
    [
      'another path',
      'POST /other HTTP/1.1\r\nContent-Length: 0\r\n\r\n',
      /^HTTP\/1\.1 404 .*no such path/s,
    ],
    ['another method', 'GET /upload HTTP/1.1\r\n\r\n', /^HTTP\/1\.1 405 /],
    [
      'another content type',
      'POST /upload HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 1\r\n\r\nx',
      /^HTTP\/1\.1 415 .*application\/vnd\.fdo\.journal/s,
    ],
    [
      'a bad field name',
      `${HEAD}${chunk('message=x\n\n').toString()}${LAST}`,
      /^HTTP\/1\.1 400 .*invalid field name/s,
    ],
    ['a bad chunk size', `${HEAD}zz\r\n`, /^HTTP\/1\.1 400 .*invalid chunk size/s],
  ];
  for (const [name, input, expected] of cases) {
    it(`answers ${name} with its status and reason, then closes`, async () => {
      const errors = r.ingest.stats.journal.framingErrors;
      assert.match(await exchange(input), expected);
      assert.equal(r.ingest.stats.journal.framingErrors, errors + 1);
    });
  }

  it('skips and counts an oversized entry, and the upload goes on', async () => {
    const oversized = r.ingest.stats.journal.oversized;
    const n = r.sink.messages.length;
    const text = await exchange(
      `${HEAD}${chunk(`MESSAGE=${'A'.repeat(2000)}\n\nMESSAGE=after\n\n`).toString()}${LAST}`,
      'OK.\n',
    );
    assert.match(text, /^HTTP\/1\.1 202 /);
    await r.sink.waitFor(n + 1);
    assert.equal(r.ingest.stats.journal.oversized, oversized + 1);
    assert.equal(r.sink.messages.at(-1)?.fields?.message, 'after');
  });
});

describe('journal upload listener with allowedSenders', () => {
  it('closes connections from senders outside the list, counted', async () => {
    const cidr = parseCidr('192.0.2.0/24');
    assert.ok(cidr !== null);
    const r = await startIngest(
      options({
        journal: { enabled: true, address: '127.0.0.1', port: 0 },
        allowedSenders: new CidrSet([cidr]),
      }),
    );
    try {
      const socket = await connectTcp('127.0.0.1', portOf(r.at.journal));
      socket.write(`${HEAD}${chunk('MESSAGE=x\n\n').toString()}${LAST}`);
      await closed(socket);
      assert.equal(r.ingest.stats.journal.droppedNotAllowed, 1);
      assert.equal(r.ingest.stats.journal.messages, 0);
    } finally {
      await r.ingest.close();
    }
  });
});
