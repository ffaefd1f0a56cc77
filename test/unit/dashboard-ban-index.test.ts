// The dashboard's bans index: newest first, cursor pages, jail and prefix filters, totals, live changes, holes squeezed out.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { BanIndex } from '../../src/dashboard/ban-index.js';
import { OverviewFigures } from '../../src/dashboard/overview.js';
import { MemoryBanStore } from '../../src/store/memory-store.js';
import { newBan, T0 } from './store-contract.js';

async function storeWith(count: number): Promise<MemoryBanStore> {
  const store = new MemoryBanStore();
  await store.open();
  const bans = [];
  for (let i = 0; i < count; i++) {
    bans.push(newBan(`10.0.${i >> 8}.${i & 255}`, 60, { jail: i % 3 === 0 ? 'postfix' : 'sshd' }));
  }
  if (bans.length > 0) await store.ban(bans);
  return store;
}

function started(store: MemoryBanStore): BanIndex {
  const index = new BanIndex();
  index.start(
    store,
    () => undefined,
    () => undefined,
  );
  return index;
}

describe('BanIndex', () => {
  it('pages newest first with an exclusive cursor, to the last page', async () => {
    const store = await storeWith(120);
    const index = started(store);
    const seen: string[] = [];
    let before: number | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = index.page({ limit: 50, ...(before !== undefined ? { before } : {}) });
      assert.equal(page.total, 120);
      seen.push(...page.targets);
      if (page.next === null) break;
      before = page.next;
    }
    assert.equal(seen.length, 120);
    assert.equal(new Set(seen).size, 120, 'no ban twice');
    assert.equal(seen[0], '10.0.0.119', 'the newest first');
    assert.equal(seen[119], '10.0.0.0');
    index.close();
  });

  it('filters by jail and prefix, with totals over every page', async () => {
    const store = await storeWith(300);
    const index = started(store);
    const postfix = index.page({ limit: 500, jail: 'postfix' });
    assert.equal(postfix.total, 100);
    assert.ok(postfix.targets.every((t) => store.get(t)?.jail === 'postfix'));
    const prefix = index.page({ limit: 10, prefix: '10.0.1.' });
    assert.equal(prefix.total, 44, '10.0.1.0 … 10.0.1.43');
    assert.equal(prefix.targets[0], '10.0.1.43');
    assert.ok(prefix.next !== null);
    const both = index.page({ limit: 500, prefix: '10.0.1.', jail: 'sshd' });
    assert.ok(both.targets.every((t) => t.startsWith('10.0.1.') && store.get(t)?.jail === 'sshd'));
    assert.equal(index.page({ limit: 5, jail: 'nope' }).total, 0);
    assert.deepEqual(index.topJails(5), [
      { jail: 'sshd', bans: 200 },
      { jail: 'postfix', bans: 100 },
    ]);
    index.close();
  });

  it('follows the feed: new bans on top, lifted ones gone, a re-ban moves up, holes squeezed out', async () => {
    const store = await storeWith(3000);
    const index = started(store);
    await store.ban([newBan('203.0.113.7', 60)]);
    assert.equal(index.page({ limit: 1 }).targets[0], '203.0.113.7');
    await store.ban([newBan('10.0.0.5', 120)]);
    assert.equal(index.page({ limit: 1 }).targets[0], '10.0.0.5', 'a re-ban is the newest');
    assert.equal(index.size, 3001);
    const lifted = Array.from({ length: 2500 }, (_, i) => ({
      target: `10.0.${i >> 8}.${i & 255}`,
      at: T0,
      reason: 'manual',
    }));
    await store.unban(lifted);
    assert.equal(index.size, 501);
    const all = index.page({ limit: 500 + 1 });
    assert.equal(all.total, 501);
    assert.equal(all.targets.length, 501);
    assert.deepEqual(new Set(all.targets), new Set([...store.activeTargets()]));
    assert.equal(all.targets[0], '203.0.113.7', 'order kept through the squeeze');
    index.close();
  });
});

describe('BanIndex under churn', () => {
  it('bans coming and going on the same targets leave the right set and order', () => {
    const index = new BanIndex();
    let seq = 0;
    const ban = (target: string) => ({
      seq: ++seq,
      kind: 'ban' as const,
      ban: { ...newBan(target), seq, jail: 'sshd' },
    });
    const unban = (target: string) => ({
      seq: ++seq,
      kind: 'unban' as const,
      target,
      jail: 'sshd',
      at: T0,
      reason: 'expired',
    });
    // The model: the same changes on a plain Map, in order of their last ban.
    const model = new Map<string, number>();
    for (let round = 0; round < 3000; round++) {
      const t = `192.0.2.${round % 7}`;
      const changes = [ban(t), ban('2001:db8::/64')];
      index.apply(changes);
      for (const c of changes) {
        model.delete(c.ban.target);
        model.set(c.ban.target, c.seq);
      }
      if (round % 2 === 0) {
        index.apply([unban(t)]);
        model.delete(t);
      }
    }
    const newestFirst = [...model.keys()].reverse();
    const all = index.page({ limit: 100 });
    assert.deepEqual(all.targets, newestFirst);
    assert.equal(all.targets[0], '2001:db8::/64', 'banned again last');
    assert.equal(all.total, model.size);
    assert.equal(index.size, model.size);
    assert.equal(
      index.page({ limit: 10, prefix: '2001:DB8:' }).total,
      1,
      'prefix case-insensitive',
    );
    assert.equal(index.page({ limit: 10, prefix: 'é' }).total, 0);
  });
});

describe('OverviewFigures', () => {
  it('counts bans per minute over the hour and failures per minute from the counter', () => {
    const clock = new ManualClock(T0 + 3600_000);
    let failures = 0;
    const figures = new OverviewFigures(clock, () => failures);
    figures.sample();
    figures.countBan(T0 + 3600_000 - 30_000);
    figures.countBan(T0 + 3600_000 - 30_000);
    figures.countBan(T0 + 3600_000 - 600_000);
    figures.countBan(T0 - 3600_000 * 25); // older than the day kept
    clock.advance(60_000);
    failures = 42;
    figures.sample();
    const r = figures.report(3, [{ jail: 'sshd', bans: 3 }]);
    assert.equal(r.bansLastHour, 3);
    assert.equal(r.bansPerMinute.length, 60);
    assert.equal(r.failuresPerMinute, 42);
    assert.equal(
      r.failuresSeries.reduce((a, b) => a + b, 0),
      42,
    );
  });
});
