// The ban store contract suite: run against every BanStore implementation with its own factory.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ErrorCode, isFleetbanError } from '../../src/core/errors.js';
import type { Ban, HeldBan } from '../../src/core/types.js';
import type { BanStore, NewBan } from '../../src/store/store.js';

export interface StoreUnderTest {
  readonly store: BanStore;
  /** Removes whatever the store left behind (a temp folder). The store is closed first. */
  cleanup(): Promise<void>;
}

export type StoreFactory = (options: { feedRetention?: number }) => Promise<StoreUnderTest>;

export const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;

/** A jail ban of one IPv4 address, ending `minutes` after T0 (null = permanent). */
export function newBan(
  target: string,
  minutes: number | null = 10,
  extra: Partial<NewBan> = {},
): NewBan {
  return {
    target,
    family: target.includes(':') ? 6 : 4,
    jail: 'sshd',
    origin: 'jail',
    attacker: target,
    start: T0,
    end: minutes === null ? null : T0 + minutes * MIN,
    banCount: 1,
    failures: 5,
    hosts: { web1: 3, web2: 2 },
    lines: [`Failed password for root from ${target} port 22 ssh2`],
    reason: '5 failures',
    ...extra,
  };
}

/** A ban the brake held: five failures of `target` that one sender reported, held at T0 + `at`. */
export function heldBan(target: string, at = 0, reason: HeldBan['reason'] = 'sender'): HeldBan {
  return {
    target,
    heldAt: T0 + at,
    reason,
    request: {
      jail: 'sshd',
      attacker: target,
      target: { family: 4, address: target, prefix: 32 },
      time: T0,
      failures: 5,
      hosts: { web1: 5 },
      senders: { '10.0.0.9': 5 },
      lines: [`Failed password for root from ${target} port 22 ssh2`],
    },
  };
}

/** Opens a fresh store from `factory` before each test of the enclosing suite, and removes it after. */
function freshStoreEach(factory: StoreFactory, use: (store: BanStore) => void): void {
  let sut: StoreUnderTest | null = null;
  beforeEach(async () => {
    sut = await factory({});
    use(sut.store);
    await sut.store.open();
  });
  afterEach(async () => {
    await sut?.store.close();
    await sut?.cleanup();
  });
}

export function storeContract(name: string, factory: StoreFactory): void {
  describe(`BanStore contract: ${name}`, () => {
    let store: BanStore;
    freshStoreEach(factory, (s) => (store = s));

    it('bans: assigns sequence numbers, returns details, keeps only core fields in memory', async () => {
      const stored = await store.ban([
        newBan('192.0.2.1'),
        newBan('2001:db8::/64', 20, { attacker: '2001:db8::7' }),
      ]);
      assert.deepEqual(
        stored.map((b) => [b.target, b.seq, b.lines.length]),
        [
          ['192.0.2.1', 1, 1],
          ['2001:db8::/64', 2, 1],
        ],
      );
      const got = store.get('2001:db8::/64');
      assert.equal(got?.attacker, '2001:db8::7');
      assert.equal(got.end, T0 + 20 * MIN);
      assert.equal('lines' in got, false);
      assert.deepEqual(await store.details('192.0.2.1'), {
        hosts: { web1: 3, web2: 2 },
        lines: ['Failed password for root from 192.0.2.1 port 22 ssh2'],
      });
      assert.equal(await store.details('192.0.2.99'), null);
      assert.equal(store.stats().activeBans, 2);
      assert.equal(store.stats().lastSeq, 2);
    });

    it('replaces an active ban on the same target with a new feed entry', async () => {
      await store.ban([newBan('192.0.2.1', 10)]);
      const [again] = await store.ban([
        newBan('192.0.2.1', 60, { banCount: 2, lines: ['second'] }),
      ]);
      assert.equal(again?.seq, 2);
      assert.equal(store.get('192.0.2.1')?.end, T0 + 60 * MIN);
      assert.equal(store.endOf('192.0.2.1'), T0 + 60 * MIN, 'endOf tells what get does');
      assert.equal(store.endOf('192.0.2.99'), undefined);
      assert.equal([...store.active()].length, 1);
      assert.deepEqual([...store.activeTargets()], ['192.0.2.1']);
      assert.deepEqual((await store.details('192.0.2.1'))?.lines, ['second']);
      // The replaced ban's old end must no longer surface.
      assert.equal(store.nextExpiry(), T0 + 60 * MIN);
      assert.deepEqual(store.due(T0 + 30 * MIN), []);
      const feed = await store.changesSince(0, 10);
      assert.deepEqual(
        feed?.map((c) => [c.seq, c.kind]),
        [
          [1, 'ban'],
          [2, 'ban'],
        ],
      );
    });

    it('unbans: lifts active targets, skips the rest, records tombstones', async () => {
      await store.ban([newBan('192.0.2.1'), newBan('192.0.2.2')]);
      const lifted = await store.unban([
        { target: '192.0.2.1', at: T0 + MIN, reason: 'manual' },
        { target: '198.51.100.1', at: T0 + MIN, reason: 'manual' },
      ]);
      assert.deepEqual(
        lifted.map((b) => b.target),
        ['192.0.2.1'],
      );
      assert.equal(store.get('192.0.2.1'), undefined);
      assert.equal(await store.details('192.0.2.1'), null);
      assert.deepEqual(await store.unban([{ target: '192.0.2.1', at: T0, reason: 'manual' }]), []);
      const feed = await store.changesSince(2, 10);
      assert.deepEqual(feed, [
        {
          seq: 3,
          kind: 'unban',
          target: '192.0.2.1',
          jail: 'sshd',
          at: T0 + MIN,
          reason: 'manual',
        },
      ]);
      assert.equal(store.stats().activeBans, 1);
    });

    it('numbers changes strictly increasing with no gaps, and pages the feed', async () => {
      for (let i = 1; i <= 5; i++)
        await store.ban([newBan(`192.0.2.${i}`), newBan(`192.0.2.${i + 100}`)]);
      await store.unban(
        [1, 2, 3].map((i) => ({ target: `192.0.2.${i}`, at: T0, reason: 'manual' })),
      );
      const all = await store.changesSince(0, 1000);
      assert.deepEqual(
        all?.map((c) => c.seq),
        Array.from({ length: 13 }, (_, i) => i + 1),
      );
      assert.deepEqual(
        (await store.changesSince(4, 3))?.map((c) => c.seq),
        [5, 6, 7],
      );
      assert.deepEqual(await store.changesSince(13, 10), []);
      assert.equal(
        await store.changesSince(14, 10),
        null,
        'a reader ahead of the store must resync',
      );
      assert.equal(all.filter((c) => c.kind === 'ban').length, 10);
    });

    it('orders due bans by end and skips permanent ones', async () => {
      await store.ban([
        newBan('192.0.2.3', 30),
        newBan('192.0.2.1', 10),
        newBan('192.0.2.9', null),
        newBan('192.0.2.2', 20),
      ]);
      assert.equal(store.endOf('192.0.2.9'), null, 'permanent');
      assert.equal(store.nextExpiry(), T0 + 10 * MIN);
      assert.deepEqual(store.due(T0 + 5 * MIN), []);
      assert.deepEqual(
        store.due(T0 + 20 * MIN).map((b: Ban) => b.target),
        ['192.0.2.1', '192.0.2.2'],
      );
      assert.deepEqual(
        store.due(T0 + 1000 * MIN).map((b) => b.target),
        ['192.0.2.1', '192.0.2.2', '192.0.2.3'],
      );
      await store.unban([{ target: '192.0.2.1', at: T0 + 10 * MIN, reason: 'expired' }]);
      assert.equal(store.nextExpiry(), T0 + 20 * MIN);
      await store.unban(
        ['192.0.2.2', '192.0.2.3'].map((target) => ({ target, at: T0, reason: 'expired' })),
      );
      assert.equal(store.nextExpiry(), null, 'only a permanent ban is left');
      assert.deepEqual(store.due(T0 + 10_000 * MIN), []);
    });

    it('keeps due() ordered over many bans with replacements and unbans', async () => {
      const ends = Array.from({ length: 500 }, (_, i) => (i * 7919) % 1000);
      await store.ban(ends.map((m, i) => newBan(`10.0.${i >> 8}.${i & 255}`, m + 1)));
      // Push every third ban far out and lift every fifth: their old heap entries go stale.
      await store.ban(
        ends.flatMap((m, i) =>
          i % 3 === 0 ? [newBan(`10.0.${i >> 8}.${i & 255}`, m + 5000)] : [],
        ),
      );
      await store.unban(
        ends.flatMap((_, i) =>
          i % 5 === 0 ? [{ target: `10.0.${i >> 8}.${i & 255}`, at: T0, reason: 'manual' }] : [],
        ),
      );
      const now = T0 + 600 * MIN;
      const expected = [...store.active()]
        .filter((b) => b.end !== null && b.end <= now)
        .sort((a, b) => (a.end ?? 0) - (b.end ?? 0));
      const due = store.due(now);
      assert.deepEqual(
        due.map((b) => b.end),
        expected.map((b) => b.end),
      );
      assert.equal(new Set(due.map((b) => b.target)).size, due.length);
      const min = Math.min(...[...store.active()].map((b) => b.end ?? Infinity));
      assert.equal(store.nextExpiry(), min);
      assert.deepEqual(
        [...store.activeTargets()].sort(),
        [...store.active()].map((b) => b.target).sort(),
      );
      assert.equal([...store.activeTargets()].length, 400);
    });

    it('counts an attacker across jails and prunes old history', async () => {
      assert.equal(await store.history('192.0.2.7'), null);
      await store.ban([newBan('192.0.2.7', 10)]);
      await store.ban([
        newBan('192.0.2.7', 60, { jail: 'nginx-http-auth', start: T0 + MIN, end: T0 + 61 * MIN }),
      ]);
      await store.ban([
        newBan('192.0.2.0/24', null, { attacker: '192.0.2.7', start: T0 + 2 * MIN }),
      ]);
      await store.ban([newBan('198.51.100.0/24', null, { attacker: '', origin: 'manual' })]);
      assert.deepEqual(await store.history('192.0.2.7'), {
        attacker: '192.0.2.7',
        bans: 3,
        perJail: { sshd: 2, 'nginx-http-auth': 1 },
        lastBanAt: T0 + 2 * MIN,
        lastBantime: null,
      });
      assert.equal(await store.history(''), null);
      await store.ban([newBan('203.0.113.5', 10, { start: T0 + 100 * MIN, end: T0 + 110 * MIN })]);
      assert.equal(await store.pruneHistory(T0 + 50 * MIN), 1);
      assert.equal(await store.history('192.0.2.7'), null);
      assert.equal((await store.history('203.0.113.5'))?.lastBantime, 600);
      assert.equal(await store.pruneHistory(T0 + 50 * MIN), 0);
    });

    it('resolves concurrent calls individually, in call order', async () => {
      const targets = Array.from({ length: 300 }, (_, i) => `10.1.${i >> 8}.${i & 255}`);
      const results = await Promise.all(targets.map((t) => store.ban([newBan(t)])));
      results.forEach((r, i) => {
        assert.equal(r.length, 1);
        assert.equal(r[0]?.target, targets[i]);
      });
      assert.deepEqual(
        results.map((r) => r[0]?.seq),
        Array.from({ length: 300 }, (_, i) => i + 1),
      );
      // A ban and an unban of the same target made together apply in call order.
      const [banned, lifted] = await Promise.all([
        store.ban([newBan('192.0.2.200')]),
        store.unban([{ target: '192.0.2.200', at: T0, reason: 'manual' }]),
      ]);
      assert.equal(banned[0]?.seq, 301);
      assert.deepEqual(
        lifted.map((b) => b.seq),
        [301],
      );
      assert.equal(store.get('192.0.2.200'), undefined);
      assert.equal(store.stats().lastSeq, 302);
      assert.ok(store.stats().batchesWritten <= 302);
    });

    it('tells subscribers about each written batch, in order, after memory is updated', async () => {
      const seen: number[][] = [];
      const stateAtCall: { active: boolean; lastSeq: number }[] = [];
      const unsubscribe = store.subscribe((changes) => {
        seen.push(changes.map((c) => c.seq));
        const first = changes[0];
        const target = first?.kind === 'ban' ? first.ban.target : (first?.target ?? '');
        stateAtCall.push({
          active: store.get(target) !== undefined,
          lastSeq: store.stats().lastSeq,
        });
      });
      // A throwing subscriber must not break the write nor starve the others.
      const unsubscribeBad = store.subscribe(() => {
        throw new Error('subscriber failure');
      });
      await store.ban([newBan('192.0.2.1'), newBan('192.0.2.2')]);
      await store.unban([{ target: '192.0.2.1', at: T0, reason: 'manual' }]);
      // Unbanning what is not banned writes nothing and tells nobody.
      await store.unban([{ target: '192.0.2.99', at: T0, reason: 'manual' }]);
      await Promise.all([store.ban([newBan('192.0.2.3')]), store.ban([newBan('192.0.2.4')])]);
      unsubscribe();
      unsubscribeBad();
      await store.ban([newBan('192.0.2.5')]);
      assert.deepEqual(seen.flat(), [1, 2, 3, 4, 5]);
      assert.deepEqual(seen[0], [1, 2]);
      assert.deepEqual(stateAtCall[0], { active: true, lastSeq: 2 });
      assert.deepEqual(stateAtCall[1], { active: false, lastSeq: 3 });
    });

    it('closes idempotently and refuses work afterwards', async () => {
      await store.ban([newBan('192.0.2.1')]);
      await Promise.all([store.close(), store.close()]);
      await store.close();
      await assert.rejects(store.ban([newBan('192.0.2.2')]), (e: unknown) =>
        isFleetbanError(e, ErrorCode.STORE_CLOSED),
      );
      await assert.rejects(store.history('192.0.2.1'), (e: unknown) =>
        isFleetbanError(e, ErrorCode.STORE_CLOSED),
      );
    });
  });

  describe(`BanStore contract: ${name}, mail outbox`, () => {
    let store: BanStore;
    freshStoreEach(factory, (s) => (store = s));

    it('queues a notice only for bans and unbans that ask for one, in their own batch', async () => {
      const seen: number[] = [];
      store.subscribe(() => seen.push(store.outboxSize()));
      await store.ban([newBan('192.0.2.1', 10, { notify: true }), newBan('192.0.2.2')]);
      assert.deepEqual(seen, [1], 'the notice is there when the change is announced');
      const [notice] = await store.outbox(10);
      assert.equal(notice?.kind, 'ban');
      assert.equal(notice.id, 1);
      assert.equal(notice.at, T0);
      assert.equal(notice.ban.target, '192.0.2.1');
      assert.deepEqual(notice.ban.hosts, { web1: 3, web2: 2 });
      await store.unban([
        { target: '192.0.2.1', at: T0 + 5, reason: 'manual', notify: true },
        { target: '192.0.2.2', at: T0 + 5, reason: 'manual' },
        { target: '192.0.2.99', at: T0 + 5, reason: 'manual', notify: true },
      ]);
      const all = await store.outbox(10);
      assert.deepEqual(
        all.map((n) => [n.id, n.kind, n.ban.target]),
        [
          [1, 'ban', '192.0.2.1'],
          [3, 'unban', '192.0.2.1'],
        ],
      );
      assert.equal(all[1]?.kind === 'unban' ? all[1].reason : '', 'manual');
      assert.equal(store.outboxSize(), 2);
    });

    it('reads oldest first with a limit; ack deletes, skips unknown ids, and keeps the rest', async () => {
      await store.ban([1, 2, 3, 4, 5].map((i) => newBan(`192.0.2.${i}`, 10, { notify: true })));
      assert.deepEqual(
        (await store.outbox(2)).map((n) => n.id),
        [1, 2],
      );
      await store.ackOutbox([2, 4, 99]);
      assert.deepEqual(
        (await store.outbox(10)).map((n) => n.id),
        [1, 3, 5],
      );
      assert.equal(store.outboxSize(), 3);
      await store.ackOutbox([]);
      assert.equal(store.outboxSize(), 3);
      assert.equal(store.stats().activeBans, 5, 'acking mail leaves the bans alone');
    });

    it('records sent mail with the ack and returns the last hour of it, oldest first', async () => {
      await store.ban([1, 2, 3].map((i) => newBan(`192.0.2.${i}`, 10, { notify: true })));
      await store.ackOutbox([1], { route: 'a@example.net', at: T0 + 1000 });
      await store.ackOutbox([2, 3], { route: 'a@example.net,b@example.net', at: T0 + 500 });
      await store.ackOutbox([], { route: 'a@example.net', at: T0 + 4000 });
      assert.equal(store.outboxSize(), 0);
      assert.deepEqual(await store.sentMail(T0), [
        { route: 'a@example.net,b@example.net', at: T0 + 500 },
        { route: 'a@example.net', at: T0 + 1000 },
        { route: 'a@example.net', at: T0 + 4000 },
      ]);
      assert.deepEqual(await store.sentMail(T0 + 1000), [
        { route: 'a@example.net', at: T0 + 1000 },
        { route: 'a@example.net', at: T0 + 4000 },
      ]);
      assert.deepEqual(
        (await store.sentMail(T0)).map((m) => m.at),
        [T0 + 1000, T0 + 4000],
        'records older than an earlier `since` are gone',
      );
    });
  });

  describe(`BanStore contract: ${name}, held bans`, () => {
    let store: BanStore;
    freshStoreEach(factory, (s) => (store = s));

    it('keeps held bans apart from active ones, one per target, until dropped', async () => {
      const seen: number[] = [];
      store.subscribe((changes) => seen.push(changes.length));
      await store.hold([heldBan('192.0.2.2', 2), heldBan('192.0.2.1', 1)]);
      await store.hold([heldBan('192.0.2.2', 3, 'fleet')]);
      assert.equal(store.heldSize(), 2);
      assert.deepEqual(
        store.held().map((h) => [h.target, h.heldAt, h.reason]),
        [
          ['192.0.2.1', T0 + 1, 'sender'],
          ['192.0.2.2', T0 + 3, 'fleet'],
        ],
      );
      assert.deepEqual(store.held()[0]?.request.senders, { '10.0.0.9': 5 });
      assert.equal(store.stats().activeBans, 0, 'a held ban is not a ban');
      assert.equal(store.stats().lastSeq, 0, 'nor a change agents see');
      assert.deepEqual(seen, []);
      const dropped = await store.dropHeld(['192.0.2.1', '192.0.2.99', '192.0.2.1']);
      assert.deepEqual(
        dropped.map((h) => h.target),
        ['192.0.2.1'],
      );
      assert.deepEqual(
        store.held().map((h) => h.target),
        ['192.0.2.2'],
      );
      assert.deepEqual(await store.dropHeld([]), []);
    });
  });

  describe(`BanStore contract: ${name}, feed retention`, () => {
    it('keeps the last N changes and tells older readers to resync', async () => {
      const sut = await factory({ feedRetention: 5 });
      const store = sut.store;
      await store.open();
      try {
        for (let i = 1; i <= 12; i++) await store.ban([newBan(`192.0.2.${i}`)]);
        assert.equal(await store.changesSince(0, 100), null);
        assert.equal(await store.changesSince(6, 100), null);
        assert.deepEqual(
          (await store.changesSince(7, 100))?.map((c) => c.seq),
          [8, 9, 10, 11, 12],
        );
        // One batch larger than the retention still leaves exactly the last N.
        await store.ban(Array.from({ length: 8 }, (_, i) => newBan(`198.51.100.${i}`)));
        assert.equal(await store.changesSince(14, 100), null);
        assert.deepEqual(
          (await store.changesSince(15, 100))?.map((c) => c.seq),
          [16, 17, 18, 19, 20],
        );
      } finally {
        await store.close();
        await sut.cleanup();
      }
    });
  });
}
