// The Redis ban store: the shared store contract on a real standalone Redis and a real Redis Cluster, then what sharing adds.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ErrorCode, isFleetbanError } from '../../src/core/errors.js';
import type { Change } from '../../src/core/types.js';
import { RedisBanStore } from '../../src/store/redis/redis-store.js';
import { createRedisClient } from '../../src/store/redis/client.js';
import { RedisAgentRegistry } from '../../src/distribute/redis-agent-registry.js';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import type { RedisConnectionOptions } from '../../src/store/redis/client.js';
import {
  startRedisCluster,
  startStandaloneRedis,
  type RedisCluster,
  type StandaloneRedis,
} from '../helpers/redis.js';
import { makeCertificates } from '../helpers/certs.js';
import { waitFor } from '../helpers/wait.js';
import { newBan, storeContract, T0 } from '../unit/store-contract.js';

const NO_TLS = { enabled: false, ca: '', cert: '', key: '' };

export function connectionTo(where: {
  nodes?: readonly string[];
  address?: string;
}): RedisConnectionOptions {
  return {
    nodes: where.nodes ?? [],
    address: where.address ?? '',
    username: '',
    password: '',
    tls: NO_TLS,
  };
}

/** A fresh key prefix: each store under test has a deployment of its own on the shared Redis. */
export function freshPrefix(): string {
  return `t${randomBytes(6).toString('hex')}`;
}

let standalone: StandaloneRedis;
let cluster: RedisCluster;

before(async () => {
  standalone = await startStandaloneRedis();
  cluster = await startRedisCluster();
});

after(async () => {
  await standalone.stop();
  await cluster.stop();
});

storeContract('RedisBanStore (standalone Redis)', (options) =>
  Promise.resolve({
    store: new RedisBanStore({
      connection: connectionTo({ address: `127.0.0.1:${standalone.port}` }),
      keyPrefix: freshPrefix(),
      waitReplicas: 'auto',
      waitTimeoutMs: 1_000,
      ...options,
    }),
    cleanup: () => Promise.resolve(),
  }),
);

storeContract('RedisBanStore (Redis Cluster)', (options) =>
  Promise.resolve({
    store: new RedisBanStore({
      connection: connectionTo({ nodes: cluster.seeds }),
      keyPrefix: freshPrefix(),
      waitReplicas: 'auto',
      waitTimeoutMs: 1_000,
      ...options,
    }),
    cleanup: () => Promise.resolve(),
  }),
);

/** A store on the shared cluster under `prefix`: one "server" of a deployment. */
function clusterStore(
  prefix: string,
  extra: Partial<ConstructorParameters<typeof RedisBanStore>[0]> = {},
): RedisBanStore {
  return new RedisBanStore({
    connection: connectionTo({ nodes: cluster.seeds }),
    keyPrefix: prefix,
    waitReplicas: 'auto',
    waitTimeoutMs: 1_000,
    ...extra,
  });
}

async function openAll(n: number, prefix = freshPrefix()): Promise<RedisBanStore[]> {
  const stores = Array.from({ length: n }, () => clusterStore(prefix));
  await Promise.all(stores.map((s) => s.open()));
  return stores;
}

function seen(store: RedisBanStore): Change[] {
  const out: Change[] = [];
  store.subscribe((changes) => out.push(...changes));
  return out;
}

describe('RedisBanStore shared by several servers (Redis Cluster)', () => {
  it('a ban written by one server reaches the others with the same sequence number', async () => {
    const [a, b] = (await openAll(2)) as [RedisBanStore, RedisBanStore];
    try {
      const onB = seen(b);
      const [written] = await a.ban([newBan('203.0.113.10')]);
      await waitFor(() => b.get('203.0.113.10'), { what: 'the ban on the second server' });
      assert.equal(b.get('203.0.113.10')?.seq, written?.seq);
      assert.deepEqual(
        onB.map((c) => c.seq),
        [written?.seq],
      );
      // Resume on the other server: the positions are the same everywhere.
      assert.deepEqual(
        (await b.changesSince(0, 10))?.map((c) => c.seq),
        [1],
      );
      const lifted = await b.unban([{ target: '203.0.113.10', at: T0 + 1, reason: 'manual' }]);
      assert.equal(lifted.length, 1);
      await waitFor(() => a.get('203.0.113.10') === undefined, {
        what: 'the unban on the first server',
      });
      assert.equal(a.health().unreplicatedWrites, 0, 'WAIT reached the replica of the store shard');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('three servers banning at once get one gapless series, and every server sees all of it in order', async () => {
    const stores = await openAll(3);
    try {
      const logs = stores.map(seen);
      await Promise.all(
        stores.map((s, i) =>
          Promise.all(
            Array.from({ length: 100 }, (_, j) => s.ban([newBan(`198.51.${i}.${j + 1}`)])),
          ),
        ),
      );
      for (const s of stores)
        await waitFor(() => s.stats().lastSeq === 300, { what: 'seq 300 everywhere' });
      const expected = Array.from({ length: 300 }, (_, i) => i + 1);
      for (const log of logs)
        assert.deepEqual(
          log.map((c) => c.seq),
          expected,
        );
      const feed = await stores[0]?.changesSince(0, 1_000);
      assert.deepEqual(
        feed?.map((c) => c.seq),
        expected,
      );
      for (const s of stores) assert.equal(s.stats().activeBans, 300);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('the same bans lifted by three servers at once are lifted exactly once', async () => {
    const stores = await openAll(3);
    try {
      const targets = Array.from({ length: 50 }, (_, j) => `192.0.2.${j + 1}`);
      await stores[0]?.ban(targets.map((t) => newBan(t)));
      for (const s of stores)
        await waitFor(() => s.stats().activeBans === 50, { what: '50 bans everywhere' });
      const lifted = await Promise.all(
        stores.map((s) =>
          s.unban(targets.map((target) => ({ target, at: T0 + 5, reason: 'expired' }))),
        ),
      );
      assert.equal(lifted.flat().length, 50, 'each ban lifted by one server only');
      await waitFor(() => stores[1]?.stats().lastSeq === 100, {
        what: 'the unbans on every server',
      });
      const feed = (await stores[1]?.changesSince(0, 1_000)) ?? [];
      assert.equal(feed.filter((c) => c.kind === 'unban').length, 50);
      assert.equal(feed.length, 100);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('the outbox is mailed by one server: the others see no notices while it holds the lease', async () => {
    const [a, b] = (await openAll(2)) as [RedisBanStore, RedisBanStore];
    try {
      await a.ban([newBan('203.0.113.20', 10, { notify: true })]);
      const first = await a.outbox(10);
      assert.equal(first.length, 1);
      assert.deepEqual(await b.outbox(10), []);
      assert.equal(a.health().outboxLeader, true);
      assert.equal(b.health().outboxLeader, false);
      await a.ackOutbox([first[0]?.id ?? -1], { route: 'admin@example.net', at: T0 });
      assert.equal(a.outboxSize(), 0);
      assert.deepEqual(await b.sentMail(T0 - 1), [{ route: 'admin@example.net', at: T0 }]);
      // A server that stops hands the outbox over: the next one to look mails what is pending.
      await a.ban([newBan('203.0.113.21', 10, { notify: true })]);
      assert.equal((await a.outbox(10)).length, 1);
      await waitFor(() => b.outboxSize() === 1, {
        what: 'the new notice counted on the second server',
      });
      await a.close();
      const taken = await b.outbox(10);
      assert.deepEqual(
        taken.map((n) => n.ban.target),
        ['203.0.113.21'],
      );
      assert.equal(b.health().outboxLeader, true);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('a killed master of the store shard: its replica takes over, no announced ban is lost, writes go on', async () => {
    const prefix = freshPrefix();
    const [a] = (await openAll(1, prefix)) as [RedisBanStore];
    try {
      await a.ban(Array.from({ length: 100 }, (_, j) => newBan(`203.0.113.${j + 1}`)));
      assert.equal(a.health().unreplicatedWrites, 0);
      await cluster.kill(cluster.masterOf(`{${prefix}}:seq`));
      await cluster.waitHealthy();
      // The ban call rides out the failover (retries while the slot has no master).
      const [after] = await a.ban([newBan('198.51.100.200')]);
      assert.equal(after?.seq, 101);
      const fresh = clusterStore(prefix);
      await fresh.open();
      try {
        assert.equal(
          fresh.stats().activeBans,
          101,
          'every announced ban is on the promoted replica',
        );
        assert.equal(fresh.stats().lastSeq, 101);
      } finally {
        await fresh.close();
      }
    } finally {
      await a.close();
    }
  });
});

describe('RedisBanStore without Redis', () => {
  it('a write fails with a message naming Redis once retries run out; health says what is wrong', async () => {
    const redis = await startStandaloneRedis();
    const store = new RedisBanStore({
      connection: connectionTo({ address: `127.0.0.1:${redis.port}` }),
      keyPrefix: freshPrefix(),
      waitReplicas: 'auto',
      waitTimeoutMs: 200,
      retryForMs: 1_500,
    });
    await store.open();
    try {
      await store.ban([newBan('203.0.113.30')]);
      await redis.stop();
      await assert.rejects(store.ban([newBan('203.0.113.31')]), (e: unknown) => {
        assert.ok(isFleetbanError(e) && e.code === ErrorCode.STORE_UNAVAILABLE, String(e));
        assert.match(
          (e as Error).message,
          new RegExp(`cannot write to the ban store on Redis at 127\\.0\\.0\\.1:${redis.port}`),
        );
        return true;
      });
      const health = store.health();
      assert.equal(health.connected, false);
      assert.notEqual(health.lastError, null);
      // What was announced stays in memory: agents keep being served.
      assert.notEqual(store.get('203.0.113.30'), undefined);
    } finally {
      await store.close();
    }
  });
});

describe('RedisAgentRegistry (agent tokens shared by the servers)', () => {
  it('one name added by two servers at once is created once; a touch never brings a removed agent back', async () => {
    const prefix = freshPrefix();
    const clients = [0, 1].map(() => createRedisClient(connectionTo({ nodes: cluster.seeds })));
    const registries = clients.map(
      (client) =>
        new RedisAgentRegistry({
          client,
          keyPrefix: prefix,
          clock: systemClock,
          logger: silentLogger,
        }),
    );
    try {
      await Promise.all(registries.map((r) => r.load()));
      const results = await Promise.allSettled(registries.map((r) => r.add('edge-7')));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      const failed = results.find((r) => r.status === 'rejected');
      assert.match(String(failed?.reason), /an agent named edge-7 already exists/);
      const made = results.find((r) => r.status === 'fulfilled');
      const token = made?.status === 'fulfilled' ? made.value.token : '';
      const [a, b] = registries as [RedisAgentRegistry, RedisAgentRegistry];
      await waitFor(
        () => a.authenticate(token) !== undefined && b.authenticate(token) !== undefined,
        {
          what: 'both servers to know the token',
        },
      );
      const seenByA = a.get('edge-7');
      assert.ok(seenByA !== undefined);
      await b.remove('edge-7');
      // A touch from a server that has not read the removal yet must not write the record back.
      a.touch('edge-7', () => undefined);
      await a.flush();
      assert.equal(await clients[0]?.hget(`{${prefix}}:agents`, 'edge-7'), null);
      await waitFor(() => a.authenticate(token) === undefined, {
        what: 'the removal on the first server',
      });
      assert.deepEqual(a.list(), []);
    } finally {
      for (const r of registries) r.close();
      await Promise.all(clients.map((c) => c.quit()));
    }
  });
});

describe('RedisBanStore with a password and TLS (client certificates)', () => {
  it('connects with both, and says what is wrong when the password or the certificate is', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleetban-redis-tls-'));
    const certs = await makeCertificates(dir);
    const redis = await startStandaloneRedis({
      password: 'correct-horse-battery',
      tls: { ca: certs.ca, cert: certs.cert, key: certs.key },
    });
    const connection = (password: string, cert: string, key: string): RedisConnectionOptions => ({
      nodes: [],
      address: `127.0.0.1:${redis.port}`,
      username: '',
      password,
      tls: { enabled: true, ca: certs.ca, cert, key },
    });
    const store = (c: RedisConnectionOptions): RedisBanStore =>
      new RedisBanStore({
        connection: c,
        keyPrefix: freshPrefix(),
        waitReplicas: 'auto',
        waitTimeoutMs: 500,
        retryForMs: 1_000,
      });
    try {
      const good = store(connection('correct-horse-battery', certs.clientCert, certs.clientKey));
      await good.open();
      try {
        await good.ban([newBan('203.0.113.80')]);
        assert.notEqual(good.get('203.0.113.80'), undefined);
      } finally {
        await good.close();
      }
      await assert.rejects(
        store(connection('wrong', certs.clientCert, certs.clientKey)).open(),
        (e: unknown) => {
          assert.ok(isFleetbanError(e) && e.code === ErrorCode.STORE_OPEN_FAILED, String(e));
          assert.match(
            (e as Error).message,
            /cannot open the ban store on Redis at 127\.0\.0\.1:\d+: .*(WRONGPASS|invalid password)/,
          );
          return true;
        },
      );
      // Without a client certificate the server refuses the TLS handshake.
      await assert.rejects(
        store(connection('correct-horse-battery', '', '')).open(),
        /cannot open the ban store on Redis at/,
      );
    } finally {
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
