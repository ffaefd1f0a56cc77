// The Redis-free parts of the shared windows: key names and their hash tags, the queue, the aggregation cut, the script's reply.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatCidr, parseCidr } from '../../src/core/ip.js';
import { FailureQueue, type Pending } from '../../src/cluster/failure-queue.js';
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

const RULE = { findtimeMs: 10 * MIN, maxretry: 3, decidedTtlMs: 30_000 };
const A = parseCidr('203.0.113.7') ?? assert.fail('cidr');
const KEYS = windowKeys('fleetban', '203.0.113.7', 'sshd') ?? assert.fail('keys');
const pending = (id: string, size = 10): Pending => ({
  id,
  time: 0,
  attacker: '203.0.113.7',
  host: 'h',
  sender: 's',
  line: 'l',
  size,
});
const ids = (failures: readonly Pending[]) => failures.map((f) => f.id);

test('queue: a retried group goes back ahead of what came meanwhile, with its token', () => {
  let now = 100;
  const q = new FailureQueue(10, 1000, () => now);
  q.push(KEYS, 'sshd', A, RULE, pending('1'));
  q.push(KEYS, 'sshd', A, RULE, pending('2'));
  assert.equal(q.since, 100);
  const [taken] = q.take(5);
  assert.ok(taken !== undefined);
  assert.equal(q.size, 0);
  now = 200;
  q.push(KEYS, 'sshd', A, RULE, pending('3'));
  taken.token = 'T';
  assert.equal(q.retry(taken), true);
  const [again] = q.take(5);
  assert.deepEqual(ids(again?.failures ?? []), ['1', '2', '3']);
  assert.equal(again?.token, 'T');
  assert.equal(q.held, 3);
  q.release(again.failures);
  assert.deepEqual([q.held, q.heldBytes], [0, 0]);
});

test('queue: a forget drops what was queued before it, and what comes back from before it', () => {
  const q = new FailureQueue(10, 1000, () => 0);
  q.push(KEYS, 'sshd', A, RULE, pending('1'));
  const [taken] = q.take(1);
  assert.ok(taken !== undefined);
  q.push(KEYS, 'sshd', A, RULE, pending('2'));
  q.reset(KEYS, 'sshd', A, RULE);
  q.push(KEYS, 'sshd', A, RULE, pending('3'));
  // The taken group failed: its failure came before the forget, so it goes.
  assert.equal(q.retry(taken), false);
  const [next] = q.take(1);
  assert.deepEqual(ids(next?.failures ?? []), ['3']);
  assert.equal(next?.reset, true);
  assert.equal(q.held, 1);
});

test('queue: a cut-off tail goes back ahead and is due at once; take leaves the rest due at once', () => {
  const q = new FailureQueue(10, 1000, () => 50);
  const other = windowKeys('fleetban', '203.0.113.8', 'sshd') ?? assert.fail('keys');
  q.push(KEYS, 'sshd', A, RULE, pending('1'));
  q.push(KEYS, 'sshd', A, RULE, pending('2'));
  q.push(other, 'sshd', A, RULE, pending('x'));
  const [taken] = q.take(1);
  assert.equal(q.since, -Infinity);
  assert.ok(taken !== undefined);
  const tail = taken.failures.slice(1);
  q.release(taken.failures);
  q.putBack(taken, tail);
  assert.equal(q.held, 2);
  const groups = q.take(5);
  assert.deepEqual(
    groups.map((g) => ids(g.failures)),
    [['x'], ['2']],
  );
});

test('queue: the count cap and the byte cap', () => {
  const q = new FailureQueue(2, 25, () => 0);
  assert.equal(q.fits(10), true);
  q.push(KEYS, 'sshd', A, RULE, pending('1', 10));
  q.push(KEYS, 'sshd', A, RULE, pending('2', 10));
  assert.equal(q.fits(1), false, 'two held: the count cap');
  assert.equal(q.clear(), 2);
  assert.deepEqual([q.held, q.heldBytes], [0, 0]);
  q.push(KEYS, 'sshd', A, RULE, pending('3', 20));
  assert.equal(q.fits(6), false, '20 + 6 bytes: the byte cap');
  assert.equal(q.fits(5), true);
});
