// The Overview's figures: bans per hour and per day, top hosts and networks kept from the change feed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { BanIndex } from '../../src/dashboard/ban-index.js';
import { OverviewFigures } from '../../src/dashboard/overview.js';
import { BanTops, networkOf } from '../../src/dashboard/overview-tops.js';
import { MemoryBanStore } from '../../src/store/memory-store.js';
import { newBan, T0 } from './store-contract.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

describe('OverviewFigures per hour and per day', () => {
  it('buckets bans by hour over 24 h and by UTC day over 7 d, dropping older ones', () => {
    const now = T0 + 10 * DAY + 5 * HOUR + 30 * 60_000;
    const clock = new ManualClock(now);
    const figures = new OverviewFigures(clock, () => 0);
    figures.countBan(now); // this hour, today
    figures.countBan(now - 31 * 60_000); // previous hour (04:59), today
    figures.countBan(now - 23 * HOUR); // first hour shown, yesterday
    figures.countBan(now - 25 * HOUR); // outside the hours, yesterday
    figures.countBan(now - 6 * DAY); // first day shown
    figures.countBan(now - 7 * DAY); // outside both
    const r = figures.report(0, []);
    assert.equal(r.bansPerHour.length, 24);
    assert.equal(r.hoursStart, T0 + 9 * DAY + 6 * HOUR);
    assert.deepEqual(r.bansPerHour.slice(-2), [1, 1]);
    assert.equal(r.bansPerHour[0], 1);
    assert.equal(
      r.bansPerHour.reduce((a, b) => a + b, 0),
      3,
    );
    assert.equal(r.daysStart, T0 + 4 * DAY);
    assert.deepEqual(r.bansPerDay, [1, 0, 0, 0, 0, 2, 2]);
  });

  it('moves the buckets along as time passes, reusing the ring slots', () => {
    const clock = new ManualClock(T0);
    const figures = new OverviewFigures(clock, () => 0);
    figures.countBan(T0);
    clock.advance(8 * DAY);
    figures.countBan(clock.now());
    const r = figures.report(0, []);
    assert.deepEqual(r.bansPerDay, [0, 0, 0, 0, 0, 0, 1], 'the ban of 8 days ago is gone');
    assert.deepEqual(
      r.bansPerHour.reduce((a, b) => a + b, 0),
      1,
    );
  });
});

describe('networkOf', () => {
  it('gives the /24 or /64 of a target, a wider prefix as it is', () => {
    assert.equal(networkOf('203.0.113.77'), '203.0.113.0/24');
    assert.equal(networkOf('203.0.113.64/26'), '203.0.113.0/24');
    assert.equal(networkOf('203.0.0.0/16'), '203.0.0.0/16');
    assert.equal(networkOf('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(networkOf('2001:db8::/48'), '2001:db8::/48');
    assert.equal(networkOf('not an address'), null);
  });
});

describe('BanTops', () => {
  async function setUp(): Promise<{ store: MemoryBanStore; tops: BanTops; index: BanIndex }> {
    const store = new MemoryBanStore();
    await store.open();
    await store.ban([
      newBan('198.51.100.1', 60, { hosts: { web1: 1 } }),
      newBan('198.51.100.2', 60, { hosts: { web1: 1, web2: 4 } }),
      newBan('192.0.2.9', 60, { hosts: { mail: 5 } }),
    ]);
    const tops = new BanTops((t) => store.details(t));
    const index = new BanIndex();
    index.start(
      store,
      (ban) => {
        tops.seen(ban);
      },
      (changes, replaced) => {
        tops.apply(changes, replaced);
      },
    );
    return { store, tops, index };
  }

  it('counts networks of the active bans at start, and hosts of the newest read', async () => {
    const { store, tops, index } = await setUp();
    assert.deepEqual(tops.top(10).networks, [
      { name: '198.51.100.0/24', bans: 2 },
      { name: '192.0.2.0/24', bans: 1 },
    ]);
    assert.deepEqual(tops.top(10).hosts, [], 'no hosts read yet');
    // Only the newest two: the bound on start-up reads.
    await tops.readHosts(index.page({ limit: 2 }).targets, (t) => store.get(t) !== undefined);
    assert.equal(tops.hostsCounted, 2);
    assert.deepEqual(tops.top(10).hosts, [
      { name: 'mail', bans: 1 },
      { name: 'web1', bans: 1 },
      { name: 'web2', bans: 1 },
    ]);
    index.close();
  });

  it('follows bans, replacements and unbans from the feed', async () => {
    const { store, tops, index } = await setUp();
    await store.ban([
      newBan('198.51.100.3', 60, { hosts: { web1: 2 } }),
      newBan('2001:db8:0:1::5', 60, { hosts: { web3: 1 } }),
    ]);
    await tops.settled();
    assert.deepEqual(tops.top(1).networks, [{ name: '198.51.100.0/24', bans: 3 }]);
    assert.deepEqual(tops.top(10).hosts, [
      { name: 'web1', bans: 1 },
      { name: 'web3', bans: 1 },
    ]);
    // A longer ban of the same target replaces it: counted once, with its new hosts.
    await store.ban([newBan('198.51.100.3', 600, { hosts: { web2: 1 } })]);
    await tops.settled();
    assert.equal(store.get('198.51.100.3')?.end, T0 + 600 * 60_000, 'replaced in the store');
    assert.deepEqual(tops.top(1).networks, [{ name: '198.51.100.0/24', bans: 3 }]);
    assert.deepEqual(tops.top(10).hosts, [
      { name: 'web2', bans: 1 },
      { name: 'web3', bans: 1 },
    ]);
    await store.unban([unbanOf('198.51.100.3'), unbanOf('2001:db8:0:1::5')]);
    await tops.settled();
    assert.deepEqual(tops.top(10).hosts, []);
    assert.equal(tops.hostsCounted, 0);
    assert.deepEqual(tops.top(10).networks, [
      { name: '198.51.100.0/24', bans: 2 },
      { name: '192.0.2.0/24', bans: 1 },
    ]);
    index.close();
  });

  it('does not count the hosts of a ban lifted while its details were read', async () => {
    const store = new MemoryBanStore();
    await store.open();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const tops = new BanTops(async (t) => {
      await gate;
      return { hosts: { [`of-${t}`]: 1 }, lines: [] };
    });
    const index = new BanIndex();
    index.start(
      store,
      () => undefined,
      (changes, replaced) => {
        tops.apply(changes, replaced);
      },
    );
    await store.ban([newBan('198.51.100.1'), newBan('198.51.100.2')]);
    await store.unban([unbanOf('198.51.100.1')]);
    release();
    await tops.settled();
    assert.deepEqual(tops.top(10).hosts, [{ name: 'of-198.51.100.2', bans: 1 }]);
    assert.equal(tops.hostsCounted, 1);
    index.close();
  });

  it('keeps the ten largest, ties by name', () => {
    const byCount = new BanTops(() => Promise.resolve(null));
    for (let i = 0; i < 12; i++) {
      for (let k = 0; k <= i; k++) byCount.seen(banAt(`10.0.${i}.${k}`));
    }
    assert.deepEqual(byCount.top(3).networks, [
      { name: '10.0.11.0/24', bans: 12 },
      { name: '10.0.10.0/24', bans: 11 },
      { name: '10.0.9.0/24', bans: 10 },
    ]);
  });
});

function banAt(target: string): Parameters<BanTops['seen']>[0] {
  const b = newBan(target);
  return {
    target: b.target,
    family: b.family,
    jail: b.jail,
    origin: b.origin,
    attacker: b.attacker,
    start: b.start,
    end: b.end,
    banCount: b.banCount,
    failures: b.failures,
    reason: b.reason,
    seq: 0,
  };
}

function unbanOf(target: string): { target: string; at: number; reason: string } {
  return { target, at: T0, reason: 'manual' };
}
