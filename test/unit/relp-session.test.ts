// The RELP frame reader and session, byte by byte: what is delivered, what is answered, what ends a session.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RelpFrameError, RelpFrameReader } from '../../src/ingest/relp-frame.js';
import {
  MAX_TXNR,
  nextTxnr,
  RelpSession,
  RelpSessionError,
  SERVER_CLOSE,
  type RelpFailure,
} from '../../src/ingest/relp-session.js';

const OPEN =
  'relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog';

function frame(txnr: number, command: string, data = ''): string {
  const length = Buffer.byteLength(data);
  return length === 0 ? `${txnr} ${command} 0\n` : `${txnr} ${command} ${length} ${data}\n`;
}

/** A session fed `input` in pieces of `split` bytes (all at once when 0); what it delivered, wrote and how it ended. */
function run(input: string | Buffer, split = 0, maxDataSize = 8192) {
  const messages: string[] = [];
  let written = '';
  let finished: RelpFailure | null | undefined;
  const session = new RelpSession(
    { maxDataSize, software: 'fleetban,test' },
    {
      message: (buf, start, end) => messages.push(buf.toString('utf8', start, end)),
      send: (text) => (written += text),
      finish: (failure) => {
        assert.equal(finished, undefined, 'finish is called once');
        finished = failure;
      },
    },
  );
  const bytes = Buffer.isBuffer(input) ? input : Buffer.from(input);
  const step = split === 0 ? bytes.length : split;
  for (let i = 0; i < bytes.length; i += step) session.push(bytes.subarray(i, i + step));
  return { session, messages, written: () => written, finished: () => finished };
}

const opened = frame(1, 'open', OPEN);

describe('RELP session', () => {
  it('answers open with its offers, acknowledges each message, answers close and ends', () => {
    const input =
      opened +
      frame(2, 'syslog', '<13>1 - h app - - - one') +
      frame(3, 'syslog', 'two\n') +
      frame(4, 'close');
    for (const split of [0, 1, 2, 3, 7, 64]) {
      const r = run(input, split);
      assert.deepEqual(r.messages, ['<13>1 - h app - - - one', 'two'], `split ${split}`);
      const offers = '200 OK\nrelp_version=0\nrelp_software=fleetban,test\ncommands=syslog';
      assert.equal(
        r.written(),
        `1 rsp ${offers.length} ${offers}\n2 rsp 6 200 OK\n3 rsp 6 200 OK\n4 rsp 0\n`,
        `split ${split}`,
      );
      assert.equal(r.finished(), null);
      assert.equal(r.session.active, false);
    }
  });

  it('keeps DATA holding LF and spaces whole, across chunk boundaries', () => {
    const data = 'a b\nc 12 syslog 3 x\n';
    const r = run(opened + frame(2, 'syslog', `${data}z`), 5);
    assert.deepEqual(r.messages, [`${data}z`]);
  });

  it('says serverclose when the server shuts down, and hands on nothing after it', () => {
    const r = run(opened + frame(2, 'syslog', 'one'));
    r.session.serverClose();
    r.session.push(Buffer.from(frame(3, 'syslog', 'late')));
    assert.deepEqual(r.messages, ['one']);
    assert.ok(r.written().endsWith(`2 rsp 6 200 OK\n${SERVER_CLOSE}`));
    assert.equal(r.finished(), null);
  });

  it('ends quietly when the peer ends between frames, with an error inside one', () => {
    const quiet = run(opened);
    quiet.session.end();
    assert.equal(quiet.finished(), null);
    const cut = run(`${opened}2 syslog 10 abc`);
    cut.session.end();
    assert.equal(cut.finished(), RelpFrameError.TRUNCATED);
  });

  it('numbers transactions 1 to 999,999,999 and wraps to 1', () => {
    assert.equal(nextTxnr(1), 2);
    assert.equal(nextTxnr(MAX_TXNR - 1), MAX_TXNR);
    assert.equal(nextTxnr(MAX_TXNR), 1);
  });

  const malformed: [string, string, RelpFailure][] = [
    ['a letter in the transaction number', '1x open 0\n', RelpFrameError.TXNR_INVALID],
    ['a transaction number of 10 digits', '1234567890 open 0\n', RelpFrameError.TXNR_INVALID],
    ['no transaction number', ' open 0\n', RelpFrameError.TXNR_INVALID],
    ['a digit in the command', '1 op3n 0\n', RelpFrameError.COMMAND_INVALID],
    ['a command of 33 letters', `1 ${'a'.repeat(33)} 0\n`, RelpFrameError.COMMAND_INVALID],
    ['a letter in the data length', '1 open 1x abc\n', RelpFrameError.DATALEN_INVALID],
    ['a data length of 10 digits', '1 open 1234567890 x\n', RelpFrameError.DATALEN_INVALID],
    ['data after a zero length', '1 open 0 x\n', RelpFrameError.DATALEN_INVALID],
    ['no space before the data', '1 open 3abc\n', RelpFrameError.DATALEN_INVALID],
    ['a data length shorter than the data', '1 open 3 abcdef\n', RelpFrameError.TRAILER_MISSING],
    [
      'a data length longer than the data, seen at the next frame',
      `${opened}2 syslog 9 abc\n3 syslog 3 def\n`,
      RelpFrameError.TRAILER_MISSING,
    ],
    ['a frame over the limit', '1 open 999999999 ', RelpFrameError.TOO_LARGE],
    ['a message before open', frame(1, 'syslog', 'x'), RelpSessionError.NOT_OPEN],
    [
      'a transaction number out of sequence',
      opened + frame(3, 'syslog', 'x'),
      RelpSessionError.OUT_OF_SEQUENCE,
    ],
    ['a transaction number 0', frame(0, 'open', OPEN), RelpSessionError.OUT_OF_SEQUENCE],
    ['an unknown command', opened + frame(2, 'rsp', '200 OK'), RelpSessionError.UNKNOWN_COMMAND],
  ];
  for (const [what, input, failure] of malformed) {
    it(`ends the session on ${what}, after answering what came before`, () => {
      for (const split of [0, 1]) {
        const r = run(input, split);
        assert.equal(r.finished(), failure, `split ${split}`);
        assert.equal(r.session.active, false);
        assert.deepEqual(r.messages, [], 'nothing delivered');
        // Later bytes, even valid ones, are ignored.
        r.session.push(Buffer.from(frame(2, 'syslog', 'after')));
        assert.deepEqual(r.messages, []);
      }
    });
  }

  it('answers the frame that broke the protocol with 500 and the reason', () => {
    const r = run(opened + frame(3, 'syslog', 'x'));
    assert.ok(
      r.written().endsWith(`3 rsp 38 500 ${RelpSessionError.OUT_OF_SEQUENCE}\n`),
      r.written(),
    );
  });

  it('acknowledges messages read before an error in the same chunk', () => {
    const r = run(`${opened}${frame(2, 'syslog', 'ok')}2 syslog 1 x\n`);
    assert.deepEqual(r.messages, ['ok']);
    assert.match(r.written(), /\n2 rsp 6 200 OK\n/);
    assert.equal(r.finished(), RelpSessionError.OUT_OF_SEQUENCE);
  });

  it('refuses a large DATALEN before holding any of its bytes', () => {
    const r = run(`${opened}2 syslog 9000 `, 0, 8192);
    assert.equal(r.finished(), RelpFrameError.TOO_LARGE);
  });

  it('reader: rejects a maxDataSize that is not a positive integer', () => {
    const handler = { frame: () => true, error: () => undefined };
    assert.throws(() => new RelpFrameReader(0, handler), TypeError);
    assert.throws(() => new RelpFrameReader(1.5, handler), TypeError);
  });
});
