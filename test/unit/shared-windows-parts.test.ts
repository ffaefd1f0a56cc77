// The Redis-free parts of the shared windows: key names and their hash tags, the aggregation cut, the script's reply.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatCidr, parseCidr } from '../../src/core/ip.js';
import { cutAtCrossing, MAX_SEND } from '../../src/cluster/window-cut.js';
import { checkKeyPrefix, windowKeys } from '../../src/cluster/window-keys.js';
import { parseScriptReply } from '../../src/cluster/window-script.js';

const MIN = 60_000;

test("an attacker's keys share one hash tag: its formatCidr text", () => {
  for (const text of ['203.0.113.7', '198.51.100.0/24', '2001:db8:1:2::/64', '::ffff:192.0.2.1']) {
    const c = parseCidr(text) ?? assert.fail(text);
    const keys = windowKeys('fleetban', formatCidr(c), 'sshd') ?? assert.fail(text);
    const tag = `{${formatCidr(c)}}`;
    assert.equal(keys.window, `fleetban:w:${tag}:sshd`);
    assert.equal(keys.decided, `fleetban:b:${tag}`);
  }
});

test('nothing that could break a hash tag gets into a key', () => {
  assert.equal(windowKeys('fleetban', '203.0.113.7}', 'sshd'), null);
  assert.equal(windowKeys('fleetban', '{203.0.113.7', 'sshd'), null);
  assert.equal(windowKeys('fleetban', '', 'sshd'), null);
  assert.equal(windowKeys('fleetban', '203.0.113.7', 'ssh}d'), null);
  assert.equal(windowKeys('fleetban', '203.0.113.7', '-sshd'), null);
  assert.throws(() => {
    checkKeyPrefix('fleet{ban}');
  }, /keyPrefix "fleet\{ban\}" must be 1 to 64 letters/);
  assert.throws(() => {
    checkKeyPrefix('');
  }, TypeError);
  checkKeyPrefix('fleetban-prod.eu_1');
});

const at = (minutes: readonly number[]) => minutes.map((m) => ({ time: m * MIN }));

test('cut: no more than maxretry failures is sent whole', () => {
  const failures = at([0, 1, 2]);
  assert.deepEqual(cutAtCrossing(failures, 10 * MIN, 3), { send: failures, tail: [] });
});

test('cut: a heavy attacker is cut right after the failure at which it alone crosses', () => {
  const failures = Array.from({ length: 10_000 }, (_, i) => ({ time: i }));
  const { send, tail } = cutAtCrossing(failures, 10 * MIN, 5);
  assert.equal(send.length, 5);
  assert.equal(tail.length, 9995);
  assert.equal(tail[0]?.time, 5);
});

test('cut: stale and slid-out failures do not bring the cut forward', () => {
  // maxretry 3, findtime 10: 0 and 1 slide out at 20; -30 is stale; the third in-window one is 22.
  const { send, tail } = cutAtCrossing(at([0, 1, 20, -30, 21, 22, 23, 24]), 10 * MIN, 3);
  assert.deepEqual(
    send.map((f) => f.time / MIN),
    [0, 1, 20, -30, 21, 22],
  );
  assert.deepEqual(
    tail.map((f) => f.time / MIN),
    [23, 24],
  );
});

test('cut: a group that never crosses is sent MAX_SEND at a time', () => {
  const failures = Array.from({ length: 2000 }, (_, i) => ({ time: i * 11 * MIN }));
  const { send, tail } = cutAtCrossing(failures, 10 * MIN, 3);
  assert.equal(send.length, MAX_SEND);
  assert.equal(tail.length, 2000 - MAX_SEND);
});

test('script replies: open, crossed, decided, and a clear error on anything else', () => {
  assert.deepEqual(parseScriptReply([0, 2, 1]), { kind: 'open', counted: 2, stale: 1 });
  assert.deepEqual(parseScriptReply([2]), { kind: 'decided' });
  assert.deepEqual(
    parseScriptReply([1, 3, 0, 3, JSON.stringify({ f: 3, h: { a: 3 }, s: { p: 3 }, l: ['x'] })]),
    {
      kind: 'crossed',
      counted: 3,
      stale: 0,
      index: 2,
      window: { failures: 3, hosts: { a: 3 }, senders: { p: 3 }, lines: ['x'] },
    },
  );
  // cjson writes an empty Lua table as an object.
  const empty = parseScriptReply([1, 1, 0, 1, JSON.stringify({ f: 1, h: {}, s: {}, l: {} })]);
  assert.ok(empty.kind === 'crossed');
  assert.deepEqual(empty.window.lines, []);
  assert.throws(() => parseScriptReply('OK'), /not an array/);
  assert.throws(() => parseScriptReply([0]), /lacks its counts/);
  assert.throws(() => parseScriptReply([7, 1, 1]), /not open, crossed or decided/);
});
