// The ban brake: bans charged per sender and fleet-wide, held past the budget, refilled over the minute, released or discarded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import type { BrakeTrip } from '../../src/notify/brake-alert.js';
import { renderBrakeTrip } from '../../src/notify/brake-alert.js';
import { BanBrake, type BrakeOptions } from '../../src/server/brake.js';
import { MemoryBanStore } from '../../src/store/memory-store.js';
import { banManager, banRequest, recordingLogger, T0 } from './server-fixtures.js';

const OPTIONS: BrakeOptions = {
  enabled: true,
  perSenderPerMinute: 3,
  fleetPerMinute: 5,
  maxHeld: 100,
};

async function setup(options: Partial<BrakeOptions> = {}) {
  const clock = new ManualClock(T0);
  const store = new MemoryBanStore();
  await store.open();
  const trips: BrakeTrip[] = [];
  const logger = recordingLogger();
  // The manager asks the brake, the brake hands released bans back to the manager: the gate
  // closure runs only once requests arrive, after both exist.
  const m = banManager(store, clock, {
    gate: (request, target) => brake.check(request, target),
  });
  const brake = new BanBrake(
    {
      store,
      clock,
      logger,
      ban: (request) => {
        m.bans.request(request, false);
      },
      drain: () => m.bans.drain(),
      onTrip: (trip) => trips.push(trip),
    },
    { ...OPTIONS, ...options },
  );
  brake.start();
  /** One jail's ban request of `ip`, reported by `senders` (one failure each). */
  const ask = (ip: string, ...senders: string[]): void => {
    m.bans.request(
      banRequest('sshd', ip, {
        senders: Object.fromEntries(senders.map((s) => [s, 1])),
      }),
    );
  };
  const settle = async (): Promise<void> => {
    await m.bans.drain();
    await brake.flush();
  };
  return { clock, store, brake, trips, logger, ask, settle, manager: m };
}

test('a sender past its budget has its further bans held; another sender still bans', async () => {
  const t = await setup();
  for (let i = 1; i <= 10; i++) t.ask(`198.51.100.${i}`, '10.0.0.9');
  t.ask('203.0.113.1', '10.0.0.5');
  await t.settle();
  assert.deepEqual([...t.store.active()].map((b) => b.target).sort(), [
    '198.51.100.1',
    '198.51.100.2',
    '198.51.100.3',
    '203.0.113.1',
  ]);
  assert.equal(t.store.heldSize(), 7);
  assert.ok(t.store.held().every((h) => h.reason === 'sender'));
  assert.deepEqual(
    t.trips.map((x) => [x.scope, x.sender, x.target]),
    [['sender', '10.0.0.9', '198.51.100.4']],
    'one trip, reported once',
  );
  assert.equal(t.logger.messages('warn').filter((m) => m.includes('tripped')).length, 1);
  const r = t.brake.report();
  assert.equal(r.held, 7);
  assert.deepEqual(
    r.tripped.map((x) => [x.scope, x.sender, x.held]),
    [['sender', '10.0.0.9', 7]],
  );
});

test('the fleet budget holds every sender once spent', async () => {
  const t = await setup();
  ['a', 'b', 'c', 'd', 'e', 'f', 'g'].forEach((s, i) => {
    t.ask(`198.51.100.${i + 1}`, `10.0.1.${s.charCodeAt(0)}`);
  });
  await t.settle();
  assert.equal(t.store.stats().activeBans, 5);
  assert.deepEqual(
    t.store.held().map((h) => h.reason),
    ['fleet', 'fleet'],
  );
  assert.deepEqual(
    t.trips.map((x) => x.scope),
    ['fleet'],
  );
});

test('a ban with failures from an in-budget sender goes through, charged to it', async () => {
  const t = await setup();
  for (let i = 1; i <= 3; i++) t.ask(`198.51.100.${i}`, '10.0.0.9');
  // 10.0.0.9 is spent: joining an honest report cannot block it, nor does it charge 10.0.0.9.
  t.ask('203.0.113.1', '10.0.0.9', '10.0.0.5');
  t.ask('203.0.113.2', '10.0.0.9', '10.0.0.5');
  await t.settle();
  assert.equal(t.store.stats().activeBans, 5);
  assert.equal(t.store.heldSize(), 0);
  assert.deepEqual(t.trips, []);
});

test('budgets refill over the minute, and the trip ends with a summary line', async () => {
  const t = await setup();
  for (let i = 1; i <= 5; i++) t.ask(`198.51.100.${i}`, '10.0.0.9');
  await t.settle();
  assert.equal(t.store.stats().activeBans, 3);
  t.clock.advance(20_000); // a third of a minute: one token of three
  t.ask('198.51.100.6', '10.0.0.9');
  t.ask('198.51.100.7', '10.0.0.9');
  await t.settle();
  assert.equal(t.store.stats().activeBans, 4);
  assert.equal(t.store.heldSize(), 3);
  assert.ok(
    t.logger.messages('warn').some((m) => m.includes('sender 10.0.0.9 is within its budget')),
  );
  t.clock.advance(60_000);
  assert.deepEqual(t.brake.report().tripped, []);
});

test('a target is held once however often it is asked for; maxHeld bounds the queue', async () => {
  const t = await setup({ perSenderPerMinute: 1, fleetPerMinute: 100, maxHeld: 2 });
  t.ask('198.51.100.1', '10.0.0.9');
  for (let round = 0; round < 3; round++) t.ask('198.51.100.2', '10.0.0.9');
  t.ask('198.51.100.3', '10.0.0.9');
  t.ask('198.51.100.4', '10.0.0.9');
  await t.settle();
  assert.deepEqual(
    t.store.held().map((h) => h.target),
    ['198.51.100.2', '198.51.100.3'],
  );
  const r = t.brake.report();
  assert.equal(r.overflow, 1);
  assert.equal(r.heldTotal, 2);
});

test('release bans the held entries past the brake; discard drops them; unknown targets refuse', async () => {
  const t = await setup({ perSenderPerMinute: 1 });
  for (let i = 1; i <= 4; i++) t.ask(`198.51.100.${i}`, '10.0.0.9');
  await t.settle();
  assert.equal(t.store.heldSize(), 3);
  await assert.rejects(
    t.brake.release({ targets: ['198.51.100.2', '192.0.2.1'] }),
    /not held: 192\.0\.2\.1/,
  );
  const released = await t.brake.release({ targets: ['198.51.100.2'] });
  assert.deepEqual(
    released.map((h) => h.target),
    ['198.51.100.2'],
  );
  assert.equal(t.store.get('198.51.100.2')?.jail, 'sshd');
  const discarded = await t.brake.discard({ all: true });
  assert.equal(discarded.length, 2);
  assert.equal(t.store.heldSize(), 0);
  assert.equal(t.store.get('198.51.100.3'), undefined);
  const r = t.brake.report();
  assert.deepEqual([r.released, r.discarded, r.held], [1, 2, 0]);
});

test('held bans found at start count against maxHeld and are not held twice', async () => {
  const t = await setup({ perSenderPerMinute: 1 });
  t.ask('198.51.100.1', '10.0.0.9');
  t.ask('198.51.100.2', '10.0.0.9');
  await t.settle();
  const again = new BanBrake(
    {
      store: t.store,
      clock: t.clock,
      logger: recordingLogger(),
      ban: () => undefined,
      drain: () => Promise.resolve(),
    },
    { ...OPTIONS, perSenderPerMinute: 1 },
  );
  again.start();
  assert.equal(again.report().held, 1);
  assert.equal(
    again.check(banRequest('sshd', '198.51.100.9', { senders: { x: 1 } }), '198.51.100.9'),
    true,
  );
  assert.equal(
    again.check(banRequest('sshd', '198.51.100.2', { senders: { x: 1 } }), '198.51.100.2'),
    false,
  );
  assert.equal(again.report().heldTotal, 0, 'already waiting: not held again');
});

test('off: every ban goes through', async () => {
  const t = await setup({ enabled: false });
  for (let i = 1; i <= 10; i++) t.ask(`198.51.100.${i}`, '10.0.0.9');
  await t.settle();
  assert.equal(t.store.stats().activeBans, 10);
  assert.equal(t.store.heldSize(), 0);
});

test('the trip mail names the sender, the budget and the way out', () => {
  const mail = renderBrakeTrip(
    {
      scope: 'sender',
      sender: '10.0.0.9',
      at: T0,
      perMinute: 3,
      jail: 'sshd',
      target: '198.51.100.4',
    },
    { timeZone: 'UTC', hostname: 'fleetban.example' },
  );
  assert.equal(mail.subject, '[fleetban] ban brake tripped: sender 10.0.0.9 over 3 bans/min');
  assert.match(mail.text, /First held ban: +198\.51\.100\.4 \(jail sshd\)/);
  assert.match(mail.text, /fleetban release TARGET\|--all/);
  assert.match(mail.html, /Sender 10\.0\.0\.9/);
});

test('a reload changes the budgets of running senders', async () => {
  const t = await setup({ perSenderPerMinute: 1 });
  t.ask('198.51.100.1', '10.0.0.9');
  t.ask('198.51.100.2', '10.0.0.9');
  t.brake.configure({ ...OPTIONS, enabled: false });
  t.ask('198.51.100.3', '10.0.0.9');
  await t.settle();
  assert.deepEqual(
    [t.store.stats().activeBans, t.store.heldSize(), t.brake.report().enabled],
    [2, 1, false],
  );
});
