// The agent's server rotation: round-robin, the backoff once per full round, working streams, Retry-After per server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backoff } from '../../src/agent/backoff.js';
import { ServerRotation, type AttemptEnd } from '../../src/agent/server-rotation.js';

const FAILED: AttemptEnd = { openedForMs: null, retryAfterMs: null };

/** Backoff 100, 200, 400, … ms (no jitter: random() just under 1). */
function rotation(servers: string[], stableAfterMs = 1000) {
  const backoff = new Backoff({ minMs: 100, maxMs: 1000, random: () => 0.999999 });
  return new ServerRotation({ servers, backoff, stableAfterMs });
}

/** Fails `times` attempts in a row; returns [server tried, delay after it] for each. */
function failures(r: ServerRotation, times: number, now = 0): [string, number][] {
  const out: [string, number][] = [];
  for (let i = 0; i < times; i++) {
    const tried = r.current;
    out.push([tried, r.advance(FAILED, now)]);
  }
  return out;
}

test('one server: every failure waits the backoff, as without failover', () => {
  const r = rotation(['A']);
  assert.deepEqual(failures(r, 4), [
    ['A', 100],
    ['A', 200],
    ['A', 400],
    ['A', 800],
  ]);
});

test('several servers: the next one at once, the backoff once per full round', () => {
  const r = rotation(['A', 'B', 'C']);
  assert.deepEqual(failures(r, 7), [
    ['A', 0],
    ['B', 0],
    ['C', 100],
    ['A', 0],
    ['B', 0],
    ['C', 200],
    ['A', 0],
  ]);
});

test('a working stream resets the backoff; one that lasted starts a new round', () => {
  const r = rotation(['A', 'B']);
  assert.deepEqual(failures(r, 4), [
    ['A', 0],
    ['B', 100],
    ['A', 0],
    ['B', 200],
  ]);
  // A opens and holds past stableAfterMs, then drops: B at once, and a whole round before a wait.
  assert.equal(r.current, 'A');
  assert.equal(r.advance({ openedForMs: 5000, retryAfterMs: null }, 0), 0);
  assert.equal(r.current, 'B');
  assert.deepEqual(failures(r, 2), [
    ['B', 100],
    ['A', 0],
  ]);
});

test('servers that accept and drop at once are not tried in a tight loop', () => {
  const r = rotation(['A', 'B'], 1000);
  const delays: number[] = [];
  for (let i = 0; i < 6; i++) delays.push(r.advance({ openedForMs: 5, retryAfterMs: null }, 0));
  // Each open resets the backoff, but every second attempt still waits its minimum.
  assert.deepEqual(delays, [0, 100, 0, 100, 0, 100]);
});

test("a 429's Retry-After holds back that server only, and is waited out when all ask for it", () => {
  const r = rotation(['A', 'B', 'C']);
  const now = 1_000_000;
  // A asks for 30 s: B at once.
  assert.equal(r.advance({ openedForMs: null, retryAfterMs: 30_000 }, now), 0);
  assert.equal(r.current, 'B');
  // B fails, C fails: the round is over; after 100 ms A still waits, so B goes next.
  assert.equal(r.advance(FAILED, now), 0);
  assert.equal(r.current, 'C');
  assert.equal(r.advance(FAILED, now), 100);
  assert.equal(r.current, 'B');
  // Within a round, A is passed over while its time has not come.
  assert.equal(r.advance(FAILED, now + 100), 0);
  assert.equal(r.current, 'C');
  // C asks for time too: A is passed over, the round ends, B (which asked for none) follows.
  assert.equal(r.advance({ openedForMs: null, retryAfterMs: 20_000 }, now + 200), 200);
  assert.equal(r.current, 'B');
  // Everyone asks for time: the soonest one is waited for, whatever the backoff.
  const s = rotation(['A', 'B']);
  assert.equal(s.advance({ openedForMs: null, retryAfterMs: 5000 }, 0), 0);
  assert.equal(s.advance({ openedForMs: null, retryAfterMs: 3000 }, 0), 3000);
  assert.equal(s.current, 'B');
});

test('an empty list is a programming error', () => {
  assert.throws(() => rotation([]), TypeError);
});
