// `fleetban store migrate`: 100,000 bans with their history, notices, held bans, agent and feed tokens move from LevelDB into a real Redis, with the same answers.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Ban } from '../../src/core/types.js';
import { AgentRegistry } from '../../src/distribute/agent-registry.js';
import { RedisAgentRegistry } from '../../src/distribute/redis-agent-registry.js';
import { RedisTokenRegistry } from '../../src/distribute/redis-token-registry.js';
import { FEED_TOKENS, TokenRegistry } from '../../src/distribute/token-registry.js';
import { LevelBanStore } from '../../src/store/level-store.js';
import { createRedisClient } from '../../src/store/redis/client.js';
import { RedisBanStore } from '../../src/store/redis/redis-store.js';
import { startStandaloneRedis, type StandaloneRedis } from '../helpers/redis.js';
import { runCli } from '../helpers/server-process.js';
import { heldBan, newBan, T0 } from '../unit/store-contract.js';

const BANS = 100_000;
const NO_TLS = { enabled: false, ca: '', cert: '', key: '' };

/** The i-th test address: 10.x.y.z, unique for i < 2^24. */
function address(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

describe('fleetban store migrate (LevelDB into Redis)', () => {
  let redis: StandaloneRedis;
  let dir: string;
  let configFile: string;
  let tokens: string[] = [];
  let feedToken = '';

  before(async () => {
    redis = await startStandaloneRedis();
    dir = await mkdtemp(join(tmpdir(), 'fleetban-migrate-'));
    const storePath = join(dir, 'store');
    const level = new LevelBanStore(storePath);
    await level.open();
    for (let from = 0; from < BANS; from += 5_000) {
      const batch = [];
      for (let i = from; i < from + 5_000; i++) {
        const target = address(i);
        batch.push(
          newBan(target, i % 10 === 0 ? null : 60 + (i % 50), { reason: `${i % 7} failures` }),
        );
      }
      await level.ban(batch);
    }
    // A repeat offender: a second ban, so its history says 2; two bans that ask for mail.
    await level.ban([
      newBan(address(7), 600, { banCount: 2, notify: true }),
      newBan('192.0.2.200', 10, { notify: true }),
    ]);
    await level.hold([heldBan('198.51.100.1'), heldBan('198.51.100.2', 5)]);
    await level.close();
    const registry = new AgentRegistry(join(storePath, 'agents.json'), systemClock);
    tokens = [(await registry.add('edge-1')).token, (await registry.add('edge-2')).token];
    await registry.flush();
    const feeds = new TokenRegistry(join(storePath, 'feeds.json'), systemClock, FEED_TOKENS);
    feedToken = (await feeds.add('fortigate')).token;
    await feeds.flush();
    configFile = join(dir, 'fleetban.json');
    await writeFile(
      configFile,
      JSON.stringify({
        store: {
          path: storePath,
          redis: { address: `127.0.0.1:${redis.port}`, keyPrefix: 'moved' },
        },
      }),
    );
  });

  after(async () => {
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('copies everything, checks it, and a Redis store opened afterwards answers as the LevelDB one', async () => {
    const started = Date.now();
    const run = await runCli(['store', 'migrate', '--config', configFile, '--json'], {
      timeoutMs: 120_000,
    });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const report = JSON.parse(run.stdout) as {
      ok: boolean;
      copied: {
        bans: number;
        history: number;
        notices: number;
        held: number;
        agents: number;
        feeds: number;
      };
      mismatched: number;
    };
    assert.equal(report.ok, true);
    assert.deepEqual(
      [
        report.copied.bans,
        report.copied.history,
        report.copied.notices,
        report.copied.held,
        report.copied.agents,
        report.copied.feeds,
      ],
      [BANS + 1, BANS + 1, 2, 2, 2, 1],
    );
    assert.equal(report.mismatched, 0);
    const ms = Date.now() - started;

    const level = new LevelBanStore(join(dir, 'store'));
    await level.open();
    const moved = new RedisBanStore({
      connection: {
        nodes: [],
        address: `127.0.0.1:${redis.port}`,
        username: '',
        password: '',
        tls: NO_TLS,
      },
      keyPrefix: 'moved',
      waitReplicas: 0,
      waitTimeoutMs: 1_000,
    });
    await moved.open();
    try {
      assert.equal(moved.stats().activeBans, level.stats().activeBans);
      assert.equal(moved.stats().lastSeq, level.stats().lastSeq);
      const byTarget = (bans: Iterable<Ban>) => new Map([...bans].map((b) => [b.target, b]));
      const was = byTarget(level.active());
      for (const [target, ban] of byTarget(moved.active()))
        assert.deepEqual(ban, was.get(target), target);
      assert.deepEqual(moved.nextExpiry(), level.nextExpiry());
      for (const i of [0, 7, 12_345, BANS - 1]) {
        assert.deepEqual(await moved.history(address(i)), await level.history(address(i)));
        assert.deepEqual(await moved.details(address(i)), await level.details(address(i)));
      }
      assert.equal((await moved.history(address(7)))?.bans, 2);
      assert.deepEqual(await moved.outbox(10), await level.outbox(10));
      assert.deepEqual(moved.held(), level.held());
      // The next ban continues the sequence.
      const [next] = await moved.ban([newBan('203.0.113.99', 10, { start: T0 })]);
      assert.equal(next?.seq, level.stats().lastSeq + 1);
    } finally {
      await moved.close();
      await level.close();
    }
    const client = createRedisClient({
      nodes: [],
      address: `127.0.0.1:${redis.port}`,
      username: '',
      password: '',
      tls: NO_TLS,
    });
    const agents = new RedisAgentRegistry({
      client,
      keyPrefix: 'moved',
      clock: systemClock,
      logger: silentLogger,
    });
    const feeds = new RedisTokenRegistry(
      { client, keyPrefix: 'moved', clock: systemClock, logger: silentLogger },
      FEED_TOKENS,
    );
    try {
      await agents.load();
      await feeds.load();
      assert.equal(feeds.authenticate(feedToken)?.name, 'fortigate', 'the feed token still works');
      assert.deepEqual(
        tokens.map((t) => agents.authenticate(t)?.name),
        ['edge-1', 'edge-2'],
        'the tokens agents hold work against the Redis directory',
      );
    } finally {
      agents.close();
      feeds.close();
      await client.quit();
    }
    assert.ok(ms < 60_000, `migrated ${BANS} bans in ${ms} ms`);
  });

  it('refuses a key prefix that already holds a store, saying how to go on', async () => {
    const run = await runCli(['store', 'migrate', '--config', configFile], { timeoutMs: 120_000 });
    assert.notEqual(run.code, 0);
    assert.match(
      run.stderr,
      /key prefix "moved" already holds a fleetban store: choose another store\.redis\.keyPrefix, or pass --force/,
    );
  });
});
