// Failure windows: sliding findtime by event time, out-of-order events, per-host counts, line cap, bounded memory.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCidr, type Cidr } from '../../src/core/ip.js';
import { FailureWindows, MAX_LINES } from '../../src/jails/window.js';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const FIND = 10 * MIN;

function cidr(text: string): Cidr {
  const c = parseCidr(text);
  assert.ok(c !== null, text);
  return c;
}

const failure = (time: number, host = 'web01', line = `line at ${time}`, jail = 'sshd') => ({
  jail,
  attacker: '192.0.2.1',
  time,
  host,
  sender: '10.0.0.1',
  user: '',
  line,
});

test('counts inside findtime and forgets what slid out', () => {
  const w = new FailureWindows(100);
  const t = cidr('192.0.2.1');
  assert.deepEqual(w.add(t, failure(T0), FIND), { kind: 'counted', failures: 1 });
  assert.deepEqual(w.add(t, failure(T0 + 5 * MIN), FIND), { kind: 'counted', failures: 2 });
  // T0 is exactly findtime before this one: outside the window.
  assert.deepEqual(w.add(t, failure(T0 + 10 * MIN), FIND), { kind: 'counted', failures: 2 });
  assert.deepEqual(w.add(t, failure(T0 + 30 * MIN), FIND), { kind: 'counted', failures: 1 });
});

test('out-of-order events are inserted in order, or dropped as stale when outside the window', () => {
  const w = new FailureWindows(100);
  const t = cidr('192.0.2.1');
  w.add(t, failure(T0 + 9 * MIN, 'b'), FIND);
  assert.deepEqual(w.add(t, failure(T0 + 2 * MIN, 'a'), FIND), { kind: 'counted', failures: 2 });
  assert.deepEqual(w.add(t, failure(T0 - 5 * MIN, 'old'), FIND), { kind: 'stale' });
  // A newer event pushes the earliest (T0+2m) out, the one at T0+9m stays.
  assert.deepEqual(w.add(t, failure(T0 + 13 * MIN, 'c'), FIND), { kind: 'counted', failures: 2 });
  assert.deepEqual(w.snapshot('sshd', t)?.hosts, { b: 1, c: 1 });
});

test('delete forgets one attacker in one jail', () => {
  const w = new FailureWindows(100);
  const t = cidr('192.0.2.1');
  w.add(t, failure(T0), FIND);
  w.delete('sshd', t);
  assert.equal(w.tracked(), 0);
});

test('snapshot: per-host counts, lines oldest first, capped', () => {
  const w = new FailureWindows(100);
  const t = cidr('192.0.2.1');
  for (let i = 0; i < 15; i++)
    w.add(t, failure(T0 + i * 1000, i % 3 === 0 ? 'A' : 'B', `l${i}`), FIND);
  const s = w.snapshot('sshd', t);
  assert.ok(s !== null);
  assert.equal(s.failures, 15);
  assert.deepEqual(s.hosts, { A: 5, B: 10 });
  assert.equal(s.lines.length, MAX_LINES);
  assert.deepEqual(s.lines, ['l5', 'l6', 'l7', 'l8', 'l9', 'l10', 'l11', 'l12', 'l13', 'l14']);
});

test('the cap evicts the least recently updated attacker and counts it per jail', () => {
  const w = new FailureWindows(3);
  const a = cidr('192.0.2.1');
  const b = cidr('192.0.2.2');
  const c = cidr('192.0.2.3');
  const d = cidr('192.0.2.4');
  w.add(a, failure(T0), FIND);
  w.add(b, failure(T0 + 1, 'h', 'x', 'web'), FIND);
  w.add(c, failure(T0 + 2), FIND);
  w.add(a, failure(T0 + 3), FIND); // a is now the most recently updated
  w.add(d, failure(T0 + 4), FIND);
  assert.equal(w.tracked(), 3);
  assert.equal(w.snapshot('web', b), null);
  assert.ok(w.snapshot('sshd', a) !== null);
  assert.deepEqual([w.evictions(), w.evictions('web'), w.evictions('sshd')], [1, 1, 0]);
  assert.deepEqual([w.tracked('sshd'), w.tracked('web')], [3, 0]);
});

test('sweep drops windows older than findtime; deleteCovered drops prefixes inside a CIDR', () => {
  const w = new FailureWindows(100);
  w.add(cidr('192.0.2.1'), failure(T0), FIND);
  w.add(cidr('192.0.2.2'), failure(T0 + 8 * MIN), FIND);
  w.add(cidr('198.51.100.1'), failure(T0 + 8 * MIN), FIND);
  assert.equal(
    w.sweep(T0 + 11 * MIN, () => FIND),
    1,
  );
  assert.equal(w.deleteCovered(cidr('192.0.2.0/24')), 1);
  assert.equal(w.tracked(), 1);
  assert.equal(
    w.sweep(T0, () => undefined),
    1,
  );
});
