// Pipeline: parse errors are counted per sender and by reason, good events reach next(), next() swaps on reload.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SyslogEvent } from '../../src/core/types.js';
import { SenderTable } from '../../src/ingest/senders.js';
import { ParseReason } from '../../src/parse/syslog.js';
import { Pipeline } from '../../src/server/pipeline.js';
import { T0 } from './server-fixtures.js';

const GOOD_5424 =
  '<34>1 2026-01-01T12:00:00.000Z web1 sshd 42 - - Failed password for root from 203.0.113.7 port 22 ssh2';
const GOOD_3164 = '<38>Jan  1 12:00:00 web2 sshd[123]: Connection closed by 203.0.113.7';

function setup() {
  const events: SyslogEvent[] = [];
  const senders = new SenderTable();
  const pipeline = new Pipeline({ maxSkewMs: 15 * 60_000 }, (e) => {
    events.push(e);
  });
  const send = (peer: string, text: string) => {
    pipeline.accept(text, senders.touch(peer, T0), T0);
  };
  return { events, senders, pipeline, send };
}

test('each kind of bad message is counted by reason, for its sender, and goes no further', () => {
  const table: [string, string][] = [
    ['', ParseReason.EMPTY],
    ['\r\n', ParseReason.EMPTY],
    ['<13>', ParseReason.EMPTY],
    ['<999>x', ParseReason.BAD_PRI],
    ['<x>y', ParseReason.BAD_PRI],
    ['\u0001\u0002binary', ParseReason.NOT_SYSLOG],
    ['<13>1 2026-13-01T00:00:00Z h a - - - m', ParseReason.BAD_TIMESTAMP],
    ['<13>1 -', ParseReason.TRUNCATED],
    ['<13>1 2026-01-01T00:00:00Z host app 1 ID [bad sd', ParseReason.BAD_STRUCTURED_DATA],
  ];
  for (const [text, reason] of table) {
    const { events, senders, pipeline, send } = setup();
    send('192.0.2.10', text);
    assert.equal(events.length, 0, JSON.stringify(text));
    assert.equal(pipeline.stats.parseErrors, 1, JSON.stringify(text));
    assert.equal(pipeline.stats.parsed, 0);
    assert.deepEqual([...pipeline.stats.errorsByReason], [[reason, 1]], JSON.stringify(text));
    assert.equal(senders.get('192.0.2.10')?.parseErrors, 1);
  }
});

test('counts add up across senders and reasons; good messages reach next() in order', () => {
  const { events, senders, pipeline, send } = setup();
  send('192.0.2.10', GOOD_5424);
  send('192.0.2.10', '<999>x');
  send('::ffff:192.0.2.11', '');
  send('192.0.2.11', '<999>y');
  send('192.0.2.11', GOOD_3164);
  send('192.0.2.11', '');
  send('192.0.2.12', 'a line without any header');
  assert.deepEqual(
    events.map((e) => [e.format, e.hostname, e.peer, e.program, e.message]),
    [
      [
        'rfc5424',
        'web1',
        '192.0.2.10',
        'sshd',
        'Failed password for root from 203.0.113.7 port 22 ssh2',
      ],
      ['rfc3164', 'web2', '192.0.2.11', 'sshd', 'Connection closed by 203.0.113.7'],
      ['bare', '192.0.2.12', '192.0.2.12', '', 'a line without any header'],
    ],
  );
  assert.equal(pipeline.stats.parsed, 3);
  assert.equal(pipeline.stats.parseErrors, 4);
  assert.deepEqual(Object.fromEntries(pipeline.stats.errorsByReason), {
    [ParseReason.BAD_PRI]: 2,
    [ParseReason.EMPTY]: 2,
  });
  assert.deepEqual(
    senders
      .snapshot()
      .map((s) => [s.address, s.parseErrors])
      .sort(),
    [
      ['192.0.2.10', 1],
      ['192.0.2.11', 3],
      ['192.0.2.12', 0],
    ],
  );
});

test('setNext swaps the receiver: later events go to the new one only', () => {
  const { events, pipeline, send } = setup();
  send('192.0.2.10', GOOD_5424);
  const after: SyslogEvent[] = [];
  pipeline.setNext((e) => {
    after.push(e);
  });
  send('192.0.2.10', GOOD_3164);
  send('192.0.2.10', GOOD_5424);
  assert.equal(events.length, 1);
  assert.deepEqual(
    after.map((e) => e.format),
    ['rfc3164', 'rfc5424'],
  );
  assert.equal(pipeline.stats.parsed, 3);
});

test('the event time is the message time within the skew limit, else the receive time', () => {
  const events: SyslogEvent[] = [];
  const senders = new SenderTable();
  const pipeline = new Pipeline({ maxSkewMs: 60_000 }, (e) => {
    events.push(e);
  });
  const record = senders.touch('192.0.2.10', T0);
  const at = (iso: string) => `<34>1 ${iso} web1 sshd 42 - - x`;
  pipeline.accept(at('2026-01-01T12:00:30Z'), record, T0);
  pipeline.accept(at('2026-01-01T12:05:00Z'), record, T0);
  pipeline.accept(at('2025-06-01T00:00:00Z'), record, T0);
  assert.deepEqual(
    events.map((e) => e.time - T0),
    [30_000, 0, 0],
  );
});
