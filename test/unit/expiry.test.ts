// ExpiryScheduler: bans are lifted at (never before) their end, the timer follows new bans, close() stops it, errors back off.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock, systemClock, type Clock } from '../../src/core/clock.js';
import type { Ban } from '../../src/core/types.js';
import { ExpiryScheduler } from '../../src/server/expiry.js';
import { MemoryBanStore } from '../../src/store/memory-store.js';
import type { UnbanRequest } from '../../src/store/store.js';
import { SEC, T0, banManager, recordingLogger } from './server-fixtures.js';

/** Notes when each unban batch is written, and lets a test wait for the next one. */
class WatchedStore extends MemoryBanStore {
  readonly lifts: { at: number; targets: string[] }[] = [];
  #waiters: (() => void)[] = [];

  override async unban(requests: readonly UnbanRequest[]): Promise<Ban[]> {
    const lifted = await super.unban(requests);
    if (lifted.length > 0) {
      this.lifts.push({ at: Date.now(), targets: lifted.map((b) => b.target) });
      for (const wake of this.#waiters.splice(0)) wake();
    }
    return lifted;
  }

  /** Resolves once `count` lift batches have been written. */
  async lifted(count: number): Promise<void> {
    while (this.lifts.length < count)
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }
}

/** A store whose unban always fails, counting the attempts. */
class BrokenUnbanStore extends MemoryBanStore {
  attempts = 0;
  override unban(): Promise<Ban[]> {
    this.attempts++;
    return Promise.reject(new Error('I/O error'));
  }
}

async function setup<S extends MemoryBanStore>(store: S, clock: Clock) {
  await store.open();
  const logger = recordingLogger();
  // the server re-arms the scheduler after every stored ban, as here
  const wiring: { expiry?: ExpiryScheduler } = {};
  const { bans } = banManager(store, clock, { onBanned: () => wiring.expiry?.rearm() });
  const expiry = new ExpiryScheduler(bans, () => store.nextExpiry(), clock, logger);
  wiring.expiry = expiry;
  return { store, bans, expiry, logger };
}

/** Rejects after `ms`: a deadline for something that must already have happened, not a wait for readiness. */
function deadline(ms: number, what: string): { promise: Promise<never>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what} did not happen within ${ms} ms`));
    }, ms);
  });
  return {
    promise,
    cancel: () => {
      clearTimeout(timer);
    },
  };
}

test('a 200 ms ban is lifted at or after its end, not before', async (t) => {
  const { store, bans, expiry } = await setup(new WatchedStore(), systemClock);
  await expiry.start();
  const ban = await bans.ban({ target: '198.51.100.7', durationSec: 0.2 });
  const end = ban.end ?? assert.fail('permanent');
  const limit = deadline(5000, 'the expiry');
  try {
    await Promise.race([store.lifted(1), limit.promise]);
  } finally {
    limit.cancel();
  }
  const lift = store.lifts[0] ?? assert.fail();
  assert.deepEqual(lift.targets, ['198.51.100.7']);
  const late = lift.at - end;
  assert.ok(late >= 0, `lifted ${-late} ms before its end`);
  assert.ok(late < 1000, `lifted ${late} ms after its end`);
  t.diagnostic(`lifted ${late} ms after its end`);
  assert.equal(store.get('198.51.100.7'), undefined);
  assert.equal(bans.stats.expired, 1);
  await expiry.close();
});

test('start() lifts bans that ended while fleetban was down, and keeps the others', async () => {
  const clock = new ManualClock(T0);
  const { store, bans, expiry } = await setup(new WatchedStore(), clock);
  await bans.ban({ target: '203.0.113.1', durationSec: 60 });
  await bans.ban({ target: '203.0.113.2', durationSec: 3600 });
  clock.advance(120 * SEC);
  await expiry.start();
  assert.deepEqual(
    store.lifts.map((l) => l.targets),
    [['203.0.113.1']],
  );
  assert.deepEqual(
    [...store.active()].map((b) => b.target),
    ['203.0.113.2'],
  );
  await expiry.close();
});

test('rearm() moves the timer earlier when a shorter ban arrives', async () => {
  const { store, bans, expiry } = await setup(new WatchedStore(), systemClock);
  await expiry.start();
  await bans.ban({ target: '203.0.113.10', durationSec: 30 });
  const short = await bans.ban({ target: '203.0.113.11', durationSec: 0.2 });
  // a later ban must not push the timer back out
  await bans.ban({ target: '203.0.113.12', durationSec: 60 });
  const limit = deadline(3000, 'the expiry of the 200 ms ban');
  try {
    await Promise.race([store.lifted(1), limit.promise]);
  } finally {
    limit.cancel();
  }
  const lift = store.lifts[0] ?? assert.fail();
  assert.deepEqual(lift.targets, ['203.0.113.11']);
  assert.ok(lift.at >= (short.end ?? Infinity));
  assert.deepEqual([...store.active()].map((b) => b.target).sort(), [
    '203.0.113.10',
    '203.0.113.12',
  ]);
  await expiry.close();
});

test('close() stops the timer: nothing is lifted afterwards', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const clock = new ManualClock(T0);
  return (async () => {
    const { store, bans, expiry } = await setup(new WatchedStore(), clock);
    await expiry.start();
    await bans.ban({ target: '203.0.113.1', durationSec: 10 });
    await expiry.close();
    clock.advance(60 * SEC);
    t.mock.timers.tick(60 * SEC);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(store.lifts.length, 0);
    assert.equal(store.stats().activeBans, 1);
    expiry.rearm();
    t.mock.timers.tick(60 * SEC);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(store.lifts.length, 0);
  })();
});

test('the timer fires at the earliest end with a fake clock: not a tick early', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const clock = new ManualClock(T0);
  return (async () => {
    const { store, bans, expiry } = await setup(new WatchedStore(), clock);
    await expiry.start();
    await bans.ban({ target: '203.0.113.1', durationSec: 10 });
    await bans.ban({ target: '203.0.113.2', durationSec: 20 });
    const step = async (ms: number) => {
      clock.advance(ms);
      t.mock.timers.tick(ms);
      await new Promise((resolve) => setImmediate(resolve));
    };
    await step(10 * SEC - 1);
    assert.equal(store.lifts.length, 0);
    await step(1);
    assert.deepEqual(
      store.lifts.map((l) => l.targets),
      [['203.0.113.1']],
    );
    await step(10 * SEC - 1);
    assert.equal(store.lifts.length, 1);
    await step(1);
    assert.deepEqual(
      store.lifts.map((l) => l.targets),
      [['203.0.113.1'], ['203.0.113.2']],
    );
    await expiry.close();
  })();
});

test('a failing store is retried after a delay, not in a loop', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const clock = new ManualClock(T0);
  return (async () => {
    const { store, bans, expiry, logger } = await setup(new BrokenUnbanStore(), clock);
    await bans.ban({ target: '203.0.113.1', durationSec: 10 });
    clock.advance(20 * SEC);
    await expiry.start();
    assert.equal(store.attempts, 1);
    const step = async (ms: number) => {
      clock.advance(ms);
      t.mock.timers.tick(ms);
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    };
    await step(999);
    assert.equal(store.attempts, 1, 'retried before the back-off delay');
    await step(1);
    assert.equal(store.attempts, 2);
    await step(1000);
    assert.equal(store.attempts, 3);
    assert.equal(logger.messages('error').filter((m) => m.includes('I/O error')).length, 3);
    await expiry.close();
    await step(10_000);
    assert.equal(store.attempts, 3, 'retried after close()');
  })();
});
