// BanManager: jail requests and admin bans become stored bans once, policy and ignore lists apply, failures are counted.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { ErrorCode, FleetbanError, isFleetbanError } from '../../src/core/errors.js';
import type { Change } from '../../src/core/types.js';
import { compileFilter } from '../../src/jails/filter.js';
import { recidive } from '../../src/jails/filters/recidive.js';
import { MemoryBanStore } from '../../src/store/memory-store.js';
import { MANUAL_BANTIME_SEC, SEC, T0, banManager, banRequest, jails } from './server-fixtures.js';

async function openStore(): Promise<MemoryBanStore> {
  const store = new MemoryBanStore();
  await store.open();
  return store;
}

function code(expected: ErrorCode): (e: unknown) => boolean {
  return (e) => isFleetbanError(e, expected);
}

async function feed(store: MemoryBanStore): Promise<Change[]> {
  return (await store.changesSince(0, 1000)) ?? assert.fail('feed lost');
}

test('a ban request becomes one stored ban with the jail bantime and the evidence', async () => {
  const store = await openStore();
  const clock = new ManualClock(T0 + 5 * SEC);
  const { bans, banned } = banManager(store, clock, { jails: jails({ sshd: { bantime: '10m' } }) });
  const req = banRequest('sshd', '198.51.100.7', { hosts: { web1: 3, web2: 2 } });
  bans.request(req);
  await bans.drain();
  const ban = store.get('198.51.100.7') ?? assert.fail('not stored');
  assert.deepEqual(
    { ...ban, seq: undefined },
    {
      target: '198.51.100.7',
      family: 4,
      jail: 'sshd',
      origin: 'jail',
      attacker: '198.51.100.7',
      start: T0 + 5 * SEC,
      end: T0 + 5 * SEC + 600 * SEC,
      banCount: 1,
      failures: 5,
      reason: '5 failures',
      seq: undefined,
    },
  );
  assert.deepEqual(await store.details('198.51.100.7'), {
    hosts: { web1: 3, web2: 2 },
    lines: req.lines,
  });
  assert.equal(banned.length, 1);
  assert.equal(banned[0]?.target, '198.51.100.7');
  assert.deepEqual(
    {
      requests: bans.stats.requests,
      bansWritten: bans.stats.bansWritten,
      alreadyBanned: bans.stats.alreadyBanned,
    },
    { requests: 1, bansWritten: 1, alreadyBanned: 0 },
  );
});

test('a request keeps the last 10 matched lines only', async () => {
  const store = await openStore();
  const { bans } = banManager(store, new ManualClock(T0));
  const lines = Array.from({ length: 25 }, (_, i) => `line ${i}`);
  bans.request(banRequest('sshd', '198.51.100.7', { lines }));
  await bans.drain();
  assert.deepEqual((await store.details('198.51.100.7'))?.lines, lines.slice(-10));
});

test('a prefix target (banmask) is stored under its canonical text', async () => {
  const store = await openStore();
  const { bans } = banManager(store, new ManualClock(T0));
  bans.request(banRequest('sshd', '2001:db8:1:2::77', { target: '2001:db8:1:2::/64' }));
  await bans.drain();
  const ban = store.get('2001:db8:1:2::/64') ?? assert.fail('not stored');
  assert.equal(ban.attacker, '2001:db8:1:2::77');
  assert.equal(ban.family, 6);
});

test('a second request for the same target, in flight or active, is skipped and counted', async () => {
  const store = await openStore();
  const clock = new ManualClock(T0);
  const { bans } = banManager(store, clock);
  bans.request(banRequest('sshd', '198.51.100.7'));
  // still in flight: the store has not written the first one yet
  assert.equal(store.get('198.51.100.7'), undefined);
  bans.request(banRequest('sshd', '198.51.100.7', { hosts: { web3: 5 } }));
  await bans.drain();
  assert.equal(bans.stats.alreadyBanned, 1);
  // now active
  bans.request(banRequest('sshd', '198.51.100.7'));
  await bans.drain();
  assert.equal(bans.stats.alreadyBanned, 2);
  assert.equal(bans.stats.requests, 3);
  assert.equal(bans.stats.bansWritten, 1);
  assert.equal(store.stats().lastSeq, 1);
  assert.deepEqual((await store.details('198.51.100.7'))?.hosts, { web1: 3, web2: 2 });
  // another target is not affected
  bans.request(banRequest('sshd', '198.51.100.8'));
  await bans.drain();
  assert.equal(bans.stats.bansWritten, 2);
});

test('a ban past its end but not yet lifted does not block a new one', async () => {
  const store = await openStore();
  const clock = new ManualClock(T0);
  const { bans } = banManager(store, clock);
  bans.request(banRequest('sshd', '198.51.100.7'));
  await bans.drain();
  clock.advance(600 * SEC);
  bans.request(banRequest('sshd', '198.51.100.7'));
  await bans.drain();
  assert.equal(bans.stats.alreadyBanned, 0);
  assert.equal(bans.stats.bansWritten, 2);
  assert.equal(store.get('198.51.100.7')?.start, T0 + 600 * SEC);
});

test('bantime.increment: the stored history makes each later ban longer', async () => {
  const store = await openStore();
  const clock = new ManualClock(T0);
  const { bans } = banManager(store, clock, {
    jails: jails({ sshd: { bantime: '10m', 'bantime.increment': true, 'bantime.maxtime': '1h' } }),
  });
  const lengths: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < 4; i++) {
    bans.request(banRequest('sshd', '203.0.113.5'));
    await bans.drain();
    const ban = store.get('203.0.113.5') ?? assert.fail(`ban ${i + 1} not stored`);
    lengths.push(((ban.end ?? assert.fail('permanent')) - ban.start) / SEC);
    counts.push(ban.banCount);
    clock.set(ban.end ?? 0);
    assert.equal(await bans.expireDue(), 1);
  }
  assert.deepEqual(lengths, [600, 1200, 2400, 3600]);
  assert.deepEqual(counts, [1, 2, 3, 4]);
  // without increment, the same history changes nothing
  const plain = banManager(store, clock, { jails: jails({ sshd: { bantime: '10m' } }) });
  plain.bans.request(banRequest('sshd', '203.0.113.5'));
  await plain.bans.drain();
  const ban = store.get('203.0.113.5') ?? assert.fail('not stored');
  assert.equal(((ban.end ?? 0) - ban.start) / SEC, 600);
  assert.equal(ban.banCount, 5);
});

test('manual bans: address, prefix, permanent, with a duration, under a jail', async () => {
  const store = await openStore();
  const clock = new ManualClock(T0);
  const { bans } = banManager(store, clock, { jails: jails({ sshd: { bantime: '10m' } }) });
  const table: {
    input: Parameters<typeof bans.ban>[0];
    target: string;
    jail: string;
    attacker: string;
    seconds: number | null;
    reason: string;
  }[] = [
    {
      input: { target: '203.0.113.9' },
      target: '203.0.113.9',
      jail: 'manual',
      attacker: '203.0.113.9',
      seconds: MANUAL_BANTIME_SEC,
      reason: 'banned by an administrator',
    },
    {
      input: { target: '::ffff:198.51.100.8' },
      target: '198.51.100.8',
      jail: 'manual',
      attacker: '198.51.100.8',
      seconds: MANUAL_BANTIME_SEC,
      reason: 'banned by an administrator',
    },
    {
      input: { target: '203.0.113.77/24', durationSec: 60 },
      target: '203.0.113.0/24',
      jail: 'manual',
      attacker: '',
      seconds: 60,
      reason: 'banned by an administrator',
    },
    {
      input: { target: '2001:DB8:0::7/64', durationSec: null, reason: 'botnet' },
      target: '2001:db8::/64',
      jail: 'manual',
      attacker: '',
      seconds: null,
      reason: 'botnet',
    },
    {
      input: { target: '198.51.100.20', jail: 'sshd' },
      target: '198.51.100.20',
      jail: 'sshd',
      attacker: '198.51.100.20',
      seconds: 600,
      reason: 'banned by an administrator',
    },
    {
      input: { target: '198.51.100.21', jail: 'sshd', durationSec: 7200 },
      target: '198.51.100.21',
      jail: 'sshd',
      attacker: '198.51.100.21',
      seconds: 7200,
      reason: 'banned by an administrator',
    },
  ];
  for (const row of table) {
    const ban = await bans.ban(row.input);
    const label = JSON.stringify(row.input);
    const stored = store.get(row.target) ?? assert.fail(`${label} not stored`);
    assert.equal(stored.seq, ban.seq, label);
    assert.equal(stored.end, ban.end, label);
    assert.deepEqual(
      {
        target: ban.target,
        jail: ban.jail,
        origin: ban.origin,
        attacker: ban.attacker,
        reason: ban.reason,
        failures: ban.failures,
      },
      {
        target: row.target,
        jail: row.jail,
        origin: 'manual',
        attacker: row.attacker,
        reason: row.reason,
        failures: 0,
      },
      label,
    );
    assert.equal(ban.start, T0, label);
    assert.equal(ban.end, row.seconds === null ? null : T0 + row.seconds * SEC, label);
  }
  assert.equal(store.stats().activeBans, table.length);
});

test('a manual ban of an already banned target replaces it', async () => {
  const store = await openStore();
  const clock = new ManualClock(T0);
  const { bans } = banManager(store, clock);
  await bans.ban({ target: '203.0.113.9', durationSec: 60 });
  const again = await bans.ban({ target: '203.0.113.9', durationSec: null });
  assert.equal(store.get('203.0.113.9')?.end, null);
  assert.equal(again.banCount, 2);
  assert.equal(store.stats().activeBans, 1);
});

test('manual bans that overlap ignoreip are refused both ways with BAN_IGNORED, and nothing is written', async () => {
  const store = await openStore();
  const { bans } = banManager(store, new ManualClock(T0), {
    ignoreip: ['127.0.0.0/8', '10.20.0.0/16', '192.0.2.1', '2001:db8:ff::/48'],
    jails: jails({ sshd: { ignoreip: ['198.51.100.0/24'] } }),
  });
  const refused: [Parameters<typeof bans.ban>[0], string][] = [
    // target inside an ignored prefix
    [{ target: '127.0.0.1' }, '127.0.0.0/8'],
    [{ target: '10.20.3.4' }, '10.20.0.0/16'],
    [{ target: '10.20.3.0/24' }, '10.20.0.0/16'],
    [{ target: '::ffff:10.20.3.4' }, '10.20.0.0/16'],
    [{ target: '2001:db8:ff:1::9' }, '2001:db8:ff::/48'],
    [{ target: '192.0.2.1' }, '192.0.2.1'],
    // a prefix that contains an ignored address or prefix
    [{ target: '192.0.2.0/24' }, '192.0.2.1'],
    [{ target: '10.0.0.0/8' }, '10.20.0.0/16'],
    [{ target: '0.0.0.0/0' }, '127.0.0.0/8'],
    [{ target: '2001:db8::/32' }, '2001:db8:ff::/48'],
    // the jail's own ignoreip applies to bans filed under that jail
    [{ target: '198.51.100.7', jail: 'sshd' }, '198.51.100.0/24'],
    [{ target: '198.51.0.0/16', jail: 'sshd' }, '198.51.100.0/24'],
  ];
  for (const [input, clash] of refused) {
    await assert.rejects(
      bans.ban(input),
      (e: unknown) => isFleetbanError(e, ErrorCode.BAN_IGNORED) && e.message.includes(clash),
      JSON.stringify(input),
    );
  }
  assert.equal(store.stats().lastSeq, 0);
  // neighbours of ignored ranges, and the jail's ignore list outside that jail, are fine
  for (const target of [
    '10.21.0.1',
    '192.0.2.2',
    '192.0.2.2/31',
    '2001:db8:fe::1',
    '198.51.100.7',
  ]) {
    await bans.ban({ target });
  }
  assert.equal(store.stats().activeBans, 5);
});

test('invalid targets are refused with BAN_TARGET_INVALID', async () => {
  const store = await openStore();
  const { bans } = banManager(store, new ManualClock(T0));
  for (const target of [
    '',
    'example.org',
    '203.0.113.9/33',
    '01.2.3.4',
    '203.0.113.9/',
    '2001:db8::/129',
    'any',
  ]) {
    await assert.rejects(
      bans.ban({ target }),
      code(ErrorCode.BAN_TARGET_INVALID),
      JSON.stringify(target),
    );
    await assert.rejects(
      bans.unban({ target }),
      code(ErrorCode.BAN_TARGET_INVALID),
      JSON.stringify(target),
    );
  }
  assert.equal(store.stats().lastSeq, 0);
});

test('unban: exact canonical target only; BAN_NOT_FOUND otherwise', async () => {
  const store = await openStore();
  const clock = new ManualClock(T0);
  const { bans } = banManager(store, clock);
  await bans.ban({ target: '203.0.113.0/24' });
  await bans.ban({ target: '2001:db8::7' });
  for (const target of ['198.51.100.7', '203.0.113.9', '203.0.113.0/25', '203.0.0.0/16']) {
    await assert.rejects(bans.unban({ target }), code(ErrorCode.BAN_NOT_FOUND), target);
  }
  clock.advance(5 * SEC);
  const lifted = await bans.unban({ target: '2001:DB8:0:0::7' });
  assert.deepEqual(
    lifted.map((b) => b.target),
    ['2001:db8::7'],
  );
  assert.equal(store.get('2001:db8::7'), undefined);
  const lifted2 = await bans.unban({ target: '203.0.113.200/24' }, 'false positive');
  assert.deepEqual(
    lifted2.map((b) => b.target),
    ['203.0.113.0/24'],
  );
  const unbans = (await feed(store)).flatMap((c) =>
    c.kind === 'unban' ? [[c.target, c.reason, c.at]] : [],
  );
  assert.deepEqual(unbans, [
    ['2001:db8::7', 'manual', T0 + 5 * SEC],
    ['203.0.113.0/24', 'false positive', T0 + 5 * SEC],
  ]);
  assert.equal(bans.stats.unbansWritten, 2);
  await assert.rejects(bans.unban({ target: '2001:db8::7' }), code(ErrorCode.BAN_NOT_FOUND));
});

test('unban --all lifts every ban; with nothing banned it lifts nothing', async () => {
  const store = await openStore();
  const { bans } = banManager(store, new ManualClock(T0));
  assert.deepEqual(await bans.unban({ all: true }), []);
  await bans.ban({ target: '203.0.113.9' });
  await bans.ban({ target: '203.0.113.0/24', durationSec: null });
  bans.request(banRequest('sshd', '198.51.100.7'));
  await bans.drain();
  const lifted = await bans.unban({ all: true }, 'manual: --all');
  assert.deepEqual(lifted.map((b) => b.target).sort(), [
    '198.51.100.7',
    '203.0.113.0/24',
    '203.0.113.9',
  ]);
  assert.equal(store.stats().activeBans, 0);
  assert.equal(bans.stats.unbansWritten, 3);
});

test('expireDue lifts exactly the bans whose end is at or before now', async () => {
  const store = await openStore();
  const clock = new ManualClock(T0);
  const { bans } = banManager(store, clock);
  const ends: [string, number | null][] = [
    ['203.0.113.1', 60],
    ['203.0.113.2', 120],
    ['203.0.113.3', 121],
    ['203.0.113.4', null],
    ['203.0.113.5', 600],
  ];
  for (const [target, seconds] of ends) await bans.ban({ target, durationSec: seconds });
  assert.equal(await bans.expireDue(), 0);
  clock.advance(120 * SEC);
  assert.equal(await bans.expireDue(), 2);
  assert.deepEqual([...store.active()].map((b) => b.target).sort(), [
    '203.0.113.3',
    '203.0.113.4',
    '203.0.113.5',
  ]);
  assert.equal(await bans.expireDue(), 0);
  assert.equal(await bans.expireDue(T0 + 10_000 * SEC), 2);
  assert.deepEqual(
    [...store.active()].map((b) => b.target),
    ['203.0.113.4'],
  );
  assert.equal(bans.stats.expired, 4);
  const reasons = (await feed(store)).flatMap((c) => (c.kind === 'unban' ? [c.reason] : []));
  assert.deepEqual(reasons, ['expired', 'expired', 'expired', 'expired']);
});

test('a store whose ban() rejects: request() never throws, drain() resolves, writeErrors counted', async () => {
  class FailingStore extends MemoryBanStore {
    calls = 0;
    override ban(): Promise<never> {
      this.calls++;
      return Promise.reject(new Error('disk full'));
    }
  }
  const store = new FailingStore();
  await store.open();
  const { bans, logger, banned } = banManager(store, new ManualClock(T0));
  assert.doesNotThrow(() => {
    bans.request(banRequest('sshd', '198.51.100.7'));
    bans.request(banRequest('sshd', '198.51.100.8'));
  });
  await bans.drain();
  assert.equal(bans.stats.writeErrors, 2);
  assert.equal(bans.stats.bansWritten, 0);
  assert.equal(banned.length, 0);
  assert.equal(logger.messages('error').filter((m) => m.includes('disk full')).length, 2);
  // the failed target is not left pending: a later request tries again
  bans.request(banRequest('sshd', '198.51.100.7'));
  await bans.drain();
  assert.equal(store.calls, 3);
  assert.equal(bans.stats.writeErrors, 3);
  assert.equal(bans.stats.alreadyBanned, 0);
  await assert.rejects(bans.ban({ target: '203.0.113.9' }), /disk full/);
});

/** A store that is unreachable (as Redis down is) for its first `outage` ban calls. */
class UnreachableStore extends MemoryBanStore {
  calls = 0;
  constructor(readonly outage: number) {
    super();
  }
  override ban(...args: Parameters<MemoryBanStore['ban']>): ReturnType<MemoryBanStore['ban']> {
    this.calls++;
    if (this.calls <= this.outage)
      return Promise.reject(
        new FleetbanError(
          ErrorCode.STORE_UNAVAILABLE,
          'cannot write to the ban store on Redis at 127.0.0.1:1: connect ECONNREFUSED',
        ),
      );
    return super.ban(...args);
  }
}

test('a jail ban decided while the store is unreachable waits, is skipped as pending, and is written when the store is back', async () => {
  const store = new UnreachableStore(3);
  await store.open();
  const { bans, logger } = banManager(store, new ManualClock(T0));
  bans.request(banRequest('sshd', '198.51.100.7'));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(bans.stats.waitingForStore, 1);
  assert.equal(bans.isBanned('198.51.100.7'), true, 'a waiting ban counts as pending');
  bans.request(banRequest('sshd', '198.51.100.7'));
  assert.equal(bans.stats.alreadyBanned, 1);
  await bans.drain();
  assert.equal(store.calls, 4);
  assert.notEqual(store.get('198.51.100.7'), undefined);
  assert.equal(bans.stats.waitingForStore, 0);
  assert.equal(bans.stats.writeErrors, 0);
  assert.equal(
    logger.messages('warn').filter((m) => m.includes('waits for the ban store')).length,
    1,
  );
  assert.equal(
    logger.messages('info').filter((m) => m.includes('took the ban of 198.51.100.7')).length,
    1,
  );
});

test('at shutdown a ban still waiting for the store fails loudly instead of holding drain()', async () => {
  const store = new UnreachableStore(1_000);
  await store.open();
  const { bans, logger } = banManager(store, new ManualClock(T0));
  bans.request(banRequest('sshd', '198.51.100.8'));
  await new Promise((resolve) => setTimeout(resolve, 20));
  bans.stopWaiting();
  await bans.drain();
  assert.equal(bans.stats.writeErrors, 1);
  assert.equal(bans.stats.waitingForStore, 0);
  assert.equal(
    logger.messages('error').filter((m) => m.includes('cannot store the ban of 198.51.100.8'))
      .length,
    1,
  );
});

test('ban and unban lines go to the logger and, in fail2ban layout, to the ban log file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetban-banlog-'));
  try {
    const path = join(dir, 'log', 'fleetban-bans.log');
    const store = await openStore();
    const clock = new ManualClock(Date.UTC(2026, 2, 4, 5, 6, 7, 89));
    const { bans, logger, banLog } = banManager(store, clock, { banLogPath: path });
    bans.request(banRequest('sshd', '198.51.100.7'));
    await bans.drain();
    await bans.unban({ target: '198.51.100.7' });
    await banLog.close();
    assert.deepEqual(logger.messages('info'), [
      'NOTICE [sshd] Ban 198.51.100.7',
      'NOTICE [sshd] Unban 198.51.100.7',
    ]);
    const entry = logger.entries[0] ?? assert.fail();
    assert.deepEqual(
      { ...(entry.obj as Record<string, unknown>) },
      {
        event: 'Ban',
        jail: 'sshd',
        target: '198.51.100.7',
        attacker: '198.51.100.7',
        failures: 5,
        hosts: { web1: 3, web2: 2 },
        end: new Date(clock.now() + 600 * SEC).toISOString(),
        banCount: 1,
        seq: 1,
      },
    );
    const text = await readFile(path, 'utf8');
    const lines = text.split('\n');
    assert.equal(lines.pop(), '', 'the file ends with a newline');
    assert.equal(lines.length, 2);
    const layout =
      /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}),(\d{3}) fleetban\.actions {8}\[(\d+)\]: NOTICE {2}\[sshd\] (Ban|Unban) 198\.51\.100\.7$/;
    const [ban, unban] = lines.map(
      (l) => layout.exec(l) ?? assert.fail(`not in fail2ban layout: ${l}`),
    );
    assert.ok(ban !== undefined && unban !== undefined);
    assert.equal(ban[9], 'Ban');
    assert.equal(unban[9], 'Unban');
    // the stamp is the injected clock's time, in local time as fail2ban writes it
    const t = new Date(clock.now());
    assert.deepEqual(ban.slice(1, 8).map(Number), [
      t.getFullYear(),
      t.getMonth() + 1,
      t.getDate(),
      t.getHours(),
      t.getMinutes(),
      t.getSeconds(),
      t.getMilliseconds(),
    ]);
    assert.equal(Number(ban[8]), process.pid);
    // fleetban's own recidive filter reads these lines back: the Ban counts, the Unban does not
    const recidiveFilter = compileFilter({ name: 'recidive', ...recidive });
    assert.deepEqual(
      lines.map((l) => recidiveFilter.classify(l)?.address ?? null),
      ['198.51.100.7', null],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a target counts as banned from its request on, while the write is under way, until it ends', async () => {
  const store = await openStore();
  const clock = new ManualClock(T0 + 5 * SEC);
  const { bans } = banManager(store, clock, { jails: jails({ sshd: { bantime: '10m' } }) });
  assert.equal(bans.isBanned('198.51.100.7'), false);
  bans.request(banRequest('sshd', '198.51.100.7'));
  assert.equal(store.get('198.51.100.7'), undefined, 'not stored yet');
  assert.equal(bans.isBanned('198.51.100.7'), true, 'pending counts as banned');
  assert.equal(bans.isBanned('198.51.100.8'), false);
  await bans.drain();
  assert.ok(store.get('198.51.100.7') !== undefined);
  assert.equal(bans.isBanned('198.51.100.7'), true, 'stored and active');
  clock.advance(10 * 60 * SEC);
  assert.equal(bans.isBanned('198.51.100.7'), false, 'over once its time is up');
  await store.close();
});
