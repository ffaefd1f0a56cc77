// Malformed RELP over real sockets: each case is answered or cut, counted and logged in one summary, and the listener keeps serving.
import assert from 'node:assert/strict';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { random } from '../helpers/auth-log.js';
import {
  closed,
  connectTcp,
  options,
  portOf,
  startIngest,
  write,
  type Running,
} from './ingest-helpers.js';

const OPEN = 'relp_version=0\nrelp_software=test\ncommands=syslog';
const OPEN_FRAME = `1 open ${OPEN.length} ${OPEN}\n`;

function syslog(txnr: number, text: string): string {
  return `${txnr} syslog ${Buffer.byteLength(text)} ${text}\n`;
}

/** Everything the server writes until it closes the connection. */
function answers(socket: net.Socket): Promise<string> {
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (text += chunk));
  return closed(socket).then(() => text);
}

describe('RELP listener against malformed input', () => {
  let r: Running;
  let port: number;

  before(async () => {
    r = await startIngest(
      options({
        relp: { enabled: true, address: '127.0.0.1', port: 0 },
        maxMessageSize: 1024,
        closeGraceMs: 200,
        refusalLogIntervalMs: 60_000,
      }),
    );
    port = portOf(r.at.relp);
  });
  after(() => r.ingest.close());

  /** Sends `input` on a fresh connection; resolves with the server's answers once it has closed the connection. */
  async function session(input: string): Promise<string> {
    const socket = await connectTcp('127.0.0.1', port);
    const heard = answers(socket);
    await write(socket, input);
    return heard;
  }

  const cases: [string, string][] = [
    ['a letter in the transaction number', '1x open 0\n'],
    ['a transaction number of 10 digits', '1234567890 open 0\n'],
    ['a digit in the command', '1 op3n 0\n'],
    ['a letter in the data length', `${OPEN_FRAME}2 syslog 1x abc\n`],
    ['a data length shorter than the data', `${OPEN_FRAME}2 syslog 3 abcdef\n`],
    [
      'a data length longer than the data, found at the next frames',
      `${OPEN_FRAME}2 syslog 40 abc\n${syslog(3, 'message three')}${syslog(4, 'message four')}`,
    ],
    ['a frame over any limit', `${OPEN_FRAME}2 syslog 5000 `],
    ['a message over the message limit', `${OPEN_FRAME}${syslog(2, 'x'.repeat(1025))}`],
    ['a message before open', syslog(1, 'x')],
    ['a transaction number out of sequence', `${OPEN_FRAME}${syslog(5, 'x')}`],
    ['an unknown command', `${OPEN_FRAME}2 starttls 0\n`],
    ['binary noise', '\u0000\u00ff\u0001\r\n\r\n'],
  ];
  for (const [what, input] of cases) {
    it(`closes the connection on ${what}, counts it, and delivers nothing`, async () => {
      const before = { ...r.ingest.stats.relp };
      const heard = await session(input);
      assert.equal(r.ingest.stats.relp.framingErrors, before.framingErrors + 1, heard);
      assert.equal(r.ingest.stats.relp.messages, before.messages);
    });
  }

  it('counts an oversized frame as oversized too, for the sender', async () => {
    const oversized = r.ingest.stats.relp.oversized;
    await session(`${OPEN_FRAME}${syslog(2, 'y'.repeat(2000))}`);
    assert.equal(r.ingest.stats.relp.oversized, oversized + 1);
    assert.ok((r.senders.get('127.0.0.1')?.oversized ?? 0) >= 1);
  });

  it('acknowledges what came before the error, and only that', async () => {
    const delivered = r.sink.messages.length;
    const heard = await session(`${OPEN_FRAME}${syslog(2, 'good one')}${syslog(4, 'skipped')}`);
    assert.match(heard, /^1 rsp \d+ 200 OK\n/);
    assert.match(heard, /\n2 rsp 6 200 OK\n4 rsp 38 500 transaction number out of sequence\n$/);
    assert.deepEqual(r.sink.texts().slice(delivered), ['good one']);
  });

  it('cuts a stream that ends inside a frame', async () => {
    const errors = r.ingest.stats.relp.framingErrors;
    const socket = await connectTcp('127.0.0.1', port);
    const heard = answers(socket);
    await write(socket, `${OPEN_FRAME}2 syslog 10 abc`);
    socket.end();
    await heard;
    await r.ingest.whenNoConnections();
    assert.equal(r.ingest.stats.relp.framingErrors, errors + 1);
  });

  it('survives 300 mutated sessions (fixed seed) and still serves a good one', async () => {
    const rand = random(0x2e1b);
    const good = `${OPEN_FRAME}${syslog(2, 'a')}${syslog(3, 'b')}3 close 0\n`;
    for (let i = 0; i < 300; i++) {
      const bytes = [...Buffer.from(good)];
      for (let e = 0; e < 3; e++)
        bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
      const socket = await connectTcp('127.0.0.1', port);
      const done = closed(socket);
      socket.resume(); // the answers are not checked here, but must be read for the close to arrive
      socket.end(Buffer.from(bytes));
      await done;
    }
    await r.ingest.whenNoConnections();
    const delivered = r.sink.messages.length;
    const heard = await session(`${OPEN_FRAME}${syslog(2, 'still here')}3 close 0\n`);
    assert.match(heard, /\n2 rsp 6 200 OK\n3 rsp 0\n$/);
    assert.deepEqual(r.sink.texts().slice(delivered), ['still here']);
  });

  it('sums the protocol errors into one warning with the last reason', async () => {
    await r.ingest.close();
    const warns = r.log.entries.filter((e) => e.level === 'warn' && /relp listener/.test(e.msg));
    assert.equal(warns.length, 1, JSON.stringify(warns));
    const summary = warns[0]?.obj as {
      counts: { protocolError?: number };
      lastProtocolError?: string;
    };
    assert.ok((summary.counts.protocolError ?? 0) >= cases.length + 3);
    assert.equal(typeof summary.lastProtocolError, 'string');
  });
});
