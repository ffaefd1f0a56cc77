// Shared failure windows on a real 6-process Redis Cluster: FailureWindows semantics, one crossing among servers, aggregation, failover, Redis down.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Cluster, Redis } from 'ioredis';
import { ManualClock } from '../../src/core/clock.js';
import { CidrSet, formatCidr, parseCidr, type Cidr } from '../../src/core/ip.js';
import type { Logger } from '../../src/core/logger.js';
import type { BanRequest, Failure, SyslogEvent } from '../../src/core/types.js';
import { SharedWindows, type SharedWindowsOptions } from '../../src/cluster/shared-windows.js';
import { windowKeys } from '../../src/cluster/window-keys.js';
import { parseScriptReply, WINDOW_SCRIPT } from '../../src/cluster/window-script.js';
import { parseJailFile } from '../../src/config/jail-options.js';
import { JailEngine } from '../../src/jails/engine.js';
import type { CountOutcome, WindowRule } from '../../src/jails/shared-counter.js';
import { FailureWindows } from '../../src/jails/window.js';
import { freePort, startRedisCluster, type RedisCluster } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const T0 = Date.UTC(2026, 0, 1, 12);
const MIN = 60_000;
const PREFIX = 'fbtest';

let cluster: RedisCluster;
const clients: Cluster[] = [];
/** Anything that escaped to the process: must stay empty. */
const escaped: unknown[] = [];
const onEscape = (e: unknown): void => {
  escaped.push(e);
};

function clusterClient(): Cluster {
  const client = new Cluster(
    cluster.seeds.map((s) => {
      const [host, port] = s.split(':');
      return { host: host ?? '127.0.0.1', port: Number(port) };
    }),
    { enableAutoPipelining: true },
  );
  // A killed node makes the client emit errors; fleetban's own client logs them.
  client.on('error', () => undefined);
  clients.push(client);
  return client;
}

before(async () => {
  process.on('uncaughtException', onEscape);
  process.on('unhandledRejection', onEscape);
  cluster = await startRedisCluster();
});

after(async () => {
  await Promise.all(
    clients.map((c) =>
      c.quit().catch(() => {
        c.disconnect();
      }),
    ),
  );
  await cluster.stop();
  process.off('uncaughtException', onEscape);
  process.off('unhandledRejection', onEscape);
  assert.deepEqual(escaped, []);
});

function cidr(text: string): Cidr {
  return parseCidr(text) ?? assert.fail(text);
}

function failure(attacker: string, time: number, host = 'web01', jail = 'sshd'): Failure {
  return {
    jail,
    attacker,
    time,
    host,
    sender: '10.0.0.1',
    user: '',
    line: `fail ${attacker} at ${time}`,
  };
}

/** A SharedWindows with a listener that records everything. */
function windows(client: Redis | Cluster, options: Partial<SharedWindowsOptions> = {}) {
  const crossings: BanRequest[] = [];
  const outcomes = { counted: 0, stale: 0, decided: 0 };
  const shared = new SharedWindows({ client, keyPrefix: PREFIX, ...options });
  shared.listen({
    crossed: (r) => crossings.push(r),
    counted: (_jail, o: CountOutcome) => {
      outcomes.counted += o.counted;
      outcomes.stale += o.stale;
      outcomes.decided += o.decided;
    },
  });
  return { shared, crossings, outcomes };
}

/**
 * What one box does: FailureWindows, a crossing at maxretry (snapshot, delete), then the target
 * banned, so what follows is "already banned".
 */
function reference(times: readonly number[], rule: WindowRule, attacker: string) {
  const w = new FailureWindows(10);
  const target = cidr(attacker);
  const out = { counted: 0, stale: 0, decided: 0 };
  const steps: string[] = [];
  let crossing: {
    index: number;
    failures: number;
    hosts: object;
    lines: readonly string[];
  } | null = null;
  for (const [i, t] of times.entries()) {
    if (crossing !== null) {
      out.decided++;
      steps.push('decided');
      continue;
    }
    const r = w.add(target, failure(attacker, t, `h${i % 3}`), rule.findtimeMs);
    if (r.kind === 'stale') {
      out.stale++;
      steps.push('stale');
      continue;
    }
    out.counted++;
    steps.push('counted');
    if (r.failures >= rule.maxretry) {
      const snap = w.snapshot('sshd', target) ?? assert.fail('no snapshot');
      crossing = { index: i, failures: snap.failures, hosts: snap.hosts, lines: snap.lines };
      steps[steps.length - 1] = 'crossed';
    }
  }
  return { out, steps, crossing };
}

/** Scripted sequences (minutes after T0) and seeded random ones. */
function sequences(): { name: string; minutes: number[]; maxretry: number }[] {
  const fixed = [
    { name: 'slides out at exactly findtime', minutes: [0, 5, 10, 30, 31, 32], maxretry: 3 },
    { name: 'out of order and stale', minutes: [9, 2, -5, 13, 14], maxretry: 3 },
    { name: 'stale at the boundary', minutes: [10, 0, 0.5, 19.9, 20, 25], maxretry: 4 },
    { name: 'same millisecond', minutes: [1, 1, 1, 1, 1], maxretry: 5 },
    { name: 'never crosses', minutes: [0, 11, 22, 33, 44, 55], maxretry: 2 },
  ];
  let seed = 42;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const random = Array.from({ length: 30 }, (_, n) => ({
    name: `random ${n}`,
    minutes: Array.from({ length: 4 + Math.floor(rand() * 12) }, () =>
      Math.round(rand() * 40 - 10),
    ),
    maxretry: 2 + Math.floor(rand() * 6),
  }));
  return [...fixed, ...random];
}

test('findtime and maxretry as FailureWindows, one failure per flush and all in one flush', async () => {
  const client = clusterClient();
  let n = 0;
  for (const seq of sequences()) {
    const rule: WindowRule = { findtimeMs: 10 * MIN, maxretry: seq.maxretry, decidedTtlMs: 30_000 };
    const times = seq.minutes.map((m) => T0 + m * MIN);
    for (const mode of ['one per flush', 'one flush'] as const) {
      const attacker = `198.51.${Math.floor(n / 250)}.${(n % 250) + 1}`;
      n++;
      const want = reference(times, rule, attacker);
      const { shared, crossings, outcomes } = windows(client, { flushMs: 1000 });
      const steps: string[] = [];
      for (const [i, t] of times.entries()) {
        shared.add(cidr(attacker), failure(attacker, t, `h${i % 3}`), rule);
        if (mode === 'one per flush') {
          const before = { ...outcomes, crossings: crossings.length };
          await shared.flush();
          steps.push(
            crossings.length > before.crossings
              ? 'crossed'
              : outcomes.counted > before.counted
                ? 'counted'
                : outcomes.stale > before.stale
                  ? 'stale'
                  : 'decided',
          );
        }
      }
      await shared.flush();
      const what = `${seq.name} (${mode})`;
      if (mode === 'one per flush') assert.deepEqual(steps, want.steps, what);
      assert.deepEqual(outcomes, want.out, what);
      assert.equal(crossings.length, want.crossing === null ? 0 : 1, what);
      const [got] = crossings;
      if (want.crossing !== null && got !== undefined) {
        assert.equal(got.failures, want.crossing.failures, what);
        assert.deepEqual(got.hosts, want.crossing.hosts, what);
        assert.deepEqual(got.senders, { '10.0.0.1': want.crossing.failures }, what);
        assert.deepEqual(got.lines, want.crossing.lines, what);
        assert.equal(got.time, times[want.crossing.index], what);
        assert.equal(got.attacker, attacker, what);
        assert.equal(formatCidr(got.target), attacker, what);
        assert.equal(got.jail, 'sshd', what);
      }
    }
  }
});

test('three servers, 1,000 attackers, maxretry failures split across them in one tick: exactly 1,000 crossings', async () => {
  const servers = [0, 1, 2].map(() => windows(clusterClient()));
  const rule: WindowRule = { findtimeMs: 10 * MIN, maxretry: 3, decidedTtlMs: 30_000 };
  const attackers = Array.from({ length: 1000 }, (_, i) => `203.0.${i >> 8}.${i & 255}`);
  for (const a of attackers)
    servers.forEach((s, k) => {
      s.shared.add(cidr(a), failure(a, T0 + k, `web${k}`), rule);
    });
  await Promise.all(servers.map((s) => s.shared.flush()));
  const all = servers.flatMap((s) => s.crossings);
  assert.equal(all.length, 1000);
  assert.equal(new Set(all.map((r) => formatCidr(r.target))).size, 1000);
  for (const r of all) {
    assert.equal(r.failures, 3);
    assert.deepEqual(r.hosts, { web0: 1, web1: 1, web2: 1 });
  }
  // The crossing is the last of each attacker's three failures: all counted, none after it.
  const sum = (k: keyof CountOutcome): number => servers.reduce((n, s) => n + s.outcomes[k], 0);
  assert.deepEqual([sum('counted'), sum('stale'), sum('decided')], [3000, 0, 0]);
  for (const s of servers) assert.equal(s.shared.counters.scriptsRun, 1000);
});

test('three servers each holding maxretry failures of the same 1,000 attackers: still exactly 1,000 crossings', async () => {
  const servers = [0, 1, 2].map(() => windows(clusterClient()));
  const rule: WindowRule = { findtimeMs: 10 * MIN, maxretry: 3, decidedTtlMs: 30_000 };
  const attackers = Array.from({ length: 1000 }, (_, i) => `203.0.${4 + (i >> 8)}.${i & 255}`);
  for (const a of attackers)
    servers.forEach((s, k) => {
      for (let j = 0; j < 3; j++)
        s.shared.add(cidr(a), failure(a, T0 + k * 3 + j, `web${k}`), rule);
    });
  await Promise.all(servers.map((s) => s.shared.flush()));
  const all = servers.flatMap((s) => s.crossings);
  // Each server could cross alone: the marker makes the first one the only one.
  assert.equal(all.length, 1000);
  assert.equal(new Set(all.map((r) => formatCidr(r.target))).size, 1000);
  for (const r of all) assert.equal(r.failures, 3);
  const sum = (k: keyof CountOutcome): number => servers.reduce((n, s) => n + s.outcomes[k], 0);
  assert.deepEqual([sum('counted'), sum('stale'), sum('decided')], [3000, 0, 6000]);
});

test('the script: a retry under the same token gets its own crossing back, anyone else hears decided', async () => {
  const client = clusterClient();
  const keys = windowKeys(PREFIX, '192.0.2.99', 'sshd') ?? assert.fail('keys');
  const call = async (token: string, ...times: number[]) =>
    parseScriptReply(
      await client.eval(
        WINDOW_SCRIPT,
        2,
        keys.window,
        keys.decided,
        10 * MIN,
        2,
        30_000,
        10,
        token,
        11 * MIN,
        '0',
        ...times.flatMap((t, i) => [
          t,
          JSON.stringify([`${token}.${i}`, '192.0.2.99', 'h', 's', `l${t}`]),
        ]),
      ),
    );
  const first = await call('tokenA', T0, T0 + 1, T0 + 2);
  assert.equal(first.kind, 'crossed');
  // The reply was lost, say: the same batch again returns the same crossing, nothing counted twice.
  assert.deepEqual(await call('tokenA', T0, T0 + 1, T0 + 2), first);
  assert.deepEqual(await call('tokenB', T0 + 3), { kind: 'decided' });
  assert.equal(first.index, 1);
  assert.deepEqual(first.window.lines, [`l${T0}`, `l${T0 + 1}`]);
  // The window went with the crossing; the marker lives its TTL.
  assert.equal(await client.exists(keys.window), 0);
  const ttl = await client.pttl(keys.decided);
  assert.ok(ttl > 25_000 && ttl <= 30_000, `marker TTL ${ttl}`);
});

test('aggregation: 10,000 failures of one attacker in one flush make one crossing and one script', async () => {
  const { shared, crossings, outcomes } = windows(clusterClient(), { flushMs: 1000 });
  const rule: WindowRule = { findtimeMs: 10 * MIN, maxretry: 5, decidedTtlMs: 30_000 };
  const a = '192.0.2.77';
  for (let i = 0; i < 10_000; i++) shared.add(cidr(a), failure(a, T0 + i, `web${i % 7}`), rule);
  await shared.flush();
  assert.equal(crossings.length, 1);
  assert.equal(crossings[0]?.failures, 5);
  assert.equal(crossings[0].time, T0 + 4);
  assert.deepEqual(outcomes, { counted: 5, stale: 0, decided: 9995 });
  assert.equal(shared.counters.scriptsRun, 1);
  assert.equal(shared.counters.failuresSent, 5);
  assert.equal(shared.counters.aggregated, 9995);
  assert.equal(shared.held, 0);
  assert.equal(shared.heldBytes, 0);
});

test('aggregation: a cut group whose window stays open sends the rest next, in order', async () => {
  const { shared, crossings, outcomes } = windows(clusterClient(), { flushMs: 1000 });
  const rule: WindowRule = { findtimeMs: 10 * MIN, maxretry: 3, decidedTtlMs: 30_000 };
  const a = '192.0.2.78';
  // A newer failure already in Redis makes the first three of the next batch stale there.
  shared.add(cidr(a), failure(a, T0 + 60 * MIN), rule);
  await shared.flush();
  for (const m of [0, 1, 2, 55, 56]) shared.add(cidr(a), failure(a, T0 + m * MIN), rule);
  await shared.flush();
  await waitFor(() => shared.held === 0, { what: 'the cut-off failures sent' });
  assert.equal(shared.heldBytes, 0);
  assert.deepEqual(outcomes, { counted: 3, stale: 3, decided: 0 });
  assert.equal(crossings.length, 1);
  assert.equal(crossings[0]?.time, T0 + 56 * MIN);
});

test('lines with any text reach the crossing intact (a lone surrogate as U+FFFD)', async () => {
  const { shared, crossings } = windows(clusterClient(), { flushMs: 1000 });
  const rule: WindowRule = { findtimeMs: 10 * MIN, maxretry: 4, decidedTtlMs: 30_000 };
  const a = '2001:db8:7::/64';
  const texts = ['"quoted" \\ back\nslash', 'émoji 🔑 ünïcode', 'lone \uD800 surrogate', '{}[]'];
  texts.forEach((line, i) => {
    shared.add(cidr(a), { ...failure('2001:db8:7::1', T0 + i), host: `h{${i}}`, line }, rule);
  });
  await shared.flush();
  assert.equal(crossings.length, 1);
  assert.deepEqual(crossings[0]?.lines, [texts[0], texts[1], 'lone \uFFFD surrogate', texts[3]]);
  assert.deepEqual(crossings[0].hosts, { 'h{0}': 1, 'h{1}': 1, 'h{2}': 1, 'h{3}': 1 });
  assert.equal(crossings[0].attacker, '2001:db8:7::1');
});

test("a forget drops a target's windows in all its jails with one DEL, and drops what was queued before it", async () => {
  const client = clusterClient();
  const { shared, crossings, outcomes } = windows(client, { flushMs: 1000 });
  const rule: WindowRule = { findtimeMs: 10 * MIN, maxretry: 3, decidedTtlMs: 30_000 };
  const a = '198.18.0.9';
  const jails = ['sshd', 'postfix', 'dovecot'];
  for (const jail of jails) shared.add(cidr(a), failure(a, T0, 'web1', jail), rule);
  await shared.flush();
  const keys = jails.map((j) => windowKeys(PREFIX, a, j)?.window ?? assert.fail(j));
  assert.equal(await client.exists(...keys), 3);
  // Queued before the forget: goes with the windows.
  shared.add(cidr(a), failure(a, T0 + 1, 'web1', 'sshd'), rule);
  shared.forget(cidr(a), jails);
  await shared.flush();
  assert.equal(shared.counters.forgets, 1);
  assert.equal(await client.exists(...keys), 0);
  assert.equal(shared.held, 0);
  // Two more are not three.
  shared.add(cidr(a), failure(a, T0 + 2, 'web1', 'sshd'), rule);
  shared.add(cidr(a), failure(a, T0 + 3, 'web1', 'sshd'), rule);
  await shared.flush();
  assert.equal(crossings.length, 0);
  assert.deepEqual(outcomes, { counted: 5, stale: 0, decided: 0 });
});

test('a killed master: counting goes on after failover, nothing escapes', async () => {
  const { shared, crossings } = windows(clusterClient(), { timeoutMs: 1000, giveUpMs: 60_000 });
  const rule: WindowRule = { findtimeMs: 60 * MIN, maxretry: 4, decidedTtlMs: 30_000 };
  const a = '192.0.2.200';
  shared.add(cidr(a), failure(a, T0), rule);
  await shared.flush();
  const victim = cluster.masterOf(`${PREFIX}:w:{${a}}:sshd`);
  await cluster.kill(victim);
  // Failures keep coming while the replica takes over: queued, retried, never thrown.
  for (let i = 1; i <= 4; i++) shared.add(cidr(a), failure(a, T0 + i * 1000), rule);
  await cluster.waitHealthy(30_000);
  await waitFor(() => crossings.length === 1, {
    what: "the attacker's crossing after the failover",
    timeoutMs: 60_000,
  });
  // The first failure was written before the kill, and replication is asynchronous: whether the
  // replica had it or not, the crossing comes at the fourth failure it holds.
  assert.equal(crossings[0]?.failures, 4);
  assert.ok(shared.counters.flushErrors >= 1, 'the kill was felt');
  const b = '192.0.2.201';
  for (let i = 0; i < 4; i++) shared.add(cidr(b), failure(b, T0 + i), rule);
  await waitFor(() => crossings.length === 2, { what: 'a new crossing', timeoutMs: 30_000 });
  assert.equal(crossings[1]?.failures, 4);
  assert.equal(escaped.length, 0);
});

test('JailEngine on shared windows: two servers, one ban, counters booked on the jail', async () => {
  const bans: BanRequest[][] = [[], []];
  const engines = [0, 1].map((k) => {
    const shared = new SharedWindows({ client: clusterClient(), keyPrefix: PREFIX });
    const engine = new JailEngine({
      jails: parseJailFile('jails.d/test.json', { sshd: { maxretry: 4, bantime: 5 } }),
      ignore: new CidrSet([]),
      maxTrackedAttackers: 100,
      clock: new ManualClock(T0),
      sharedWindows: shared,
      onBan: (r) => {
        (bans[k] as BanRequest[]).push(r);
      },
    });
    return { engine, shared };
  });
  const line = 'Failed password for root from 203.0.113.9 port 4242 ssh2';
  for (let i = 0; i < 6; i++) engines[i % 2]?.engine.process(ev(`web${i}`, line, T0 + i * 1000));
  await Promise.all(engines.map((e) => e.shared.flush()));
  await waitFor(() => engines.every((e) => e.shared.held === 0), { what: 'both flushed' });
  const all = bans.flat();
  assert.equal(all.length, 1);
  assert.equal(all[0]?.failures, 4);
  assert.equal(formatCidr(all[0].target), '203.0.113.9');
  const stats = engines.map((e) => e.engine.stats()[0] ?? assert.fail('no stats'));
  assert.equal(
    stats.reduce((s, x) => s + x.linesSeen, 0),
    6,
  );
  assert.equal(
    stats.reduce((s, x) => s + x.banRequests, 0),
    1,
  );
  // The bantime of 5 s is shorter than the decided marker's 30 s; both servers booked every line.
  assert.equal(
    stats.reduce((s, x) => s + x.failures + x.alreadyBanned, 0),
    6,
  );
  // Forget (an unban) on one server drops the window on all: the next failures count anew.
  const other = 'Failed password for root from 203.0.113.10 port 4242 ssh2';
  const [one, two] = engines as [(typeof engines)[0], (typeof engines)[0]];
  for (let i = 0; i < 3; i++) one.engine.process(ev('web1', other, T0 + i * 1000));
  await one.shared.flush();
  two.engine.forget('203.0.113.10');
  await two.shared.flush();
  for (let i = 3; i < 6; i++) two.engine.process(ev('web2', other, T0 + i * 1000));
  await two.shared.flush();
  assert.equal(bans.flat().length, 1, 'three failures after the forget are not four');
  two.engine.process(ev('web2', other, T0 + 6000));
  await two.shared.flush();
  assert.equal(bans.flat().length, 2);
  const second = bans.flat().find((r) => formatCidr(r.target) === '203.0.113.10');
  assert.deepEqual(second?.hosts, { web2: 4 });
});

test('Redis unreachable: failures are retried, then dropped, counted and logged once naming Redis', async () => {
  const port = await freePort();
  const client = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => 50,
  });
  client.on('error', () => undefined);
  const logged: { level: string; msg: string }[] = [];
  const record =
    (level: string) =>
    (a: object | string, b?: string): void => {
      logged.push({ level, msg: typeof a === 'string' ? a : (b ?? '') });
    };
  const logger: Logger = {
    error: record('error'),
    warn: record('warn'),
    info: record('info'),
    debug: record('debug'),
    child: () => logger,
  };
  const { shared, crossings } = windows(client, {
    timeoutMs: 100,
    backoffMs: { first: 10, max: 40 },
    giveUpMs: 400,
    maxQueued: 50,
    logger,
  });
  const rule: WindowRule = { findtimeMs: 10 * MIN, maxretry: 3, decidedTtlMs: 30_000 };
  for (let i = 0; i < 60; i++) {
    const a = `192.0.2.${i}`;
    shared.add(cidr(a), failure(a, T0), rule);
  }
  // The cap: 50 held, 10 dropped at once.
  assert.equal(shared.held, 50);
  assert.equal(shared.counters.dropped, 10);
  await waitFor(() => shared.held === 0, { what: 'every failure given up', timeoutMs: 10_000 });
  assert.equal(shared.counters.dropped, 60);
  assert.equal(shared.heldBytes, 0);
  assert.ok(shared.counters.flushErrors >= 2, `flushErrors ${shared.counters.flushErrors}`);
  assert.equal(crossings.length, 0);
  const errors = logged.filter((l) => l.level === 'error');
  assert.equal(errors.length, 1);
  assert.match(errors[0]?.msg ?? '', /Redis is not taking failures; dropping failures/);
  assert.equal(logged.filter((l) => /Redis did not take a batch/.test(l.msg)).length, 1);
  await shared.close();
  // The byte cap: lines of 100 characters take 2 × (100 + host + sender) bytes each.
  const small = windows(client, { timeoutMs: 100, giveUpMs: 400, maxQueuedBytes: 1000, logger });
  for (let i = 0; i < 6; i++) {
    const a = `192.0.2.${i}`;
    small.shared.add(cidr(a), { ...failure(a, T0), line: 'x'.repeat(100) }, rule);
  }
  assert.equal(small.shared.held, 4);
  assert.equal(small.shared.heldBytes, 4 * 2 * (100 + 'web01'.length + '10.0.0.1'.length));
  assert.equal(small.shared.counters.dropped, 2);
  await small.shared.close();
  assert.equal(small.shared.held, 0);
  assert.equal(small.shared.heldBytes, 0);
  client.disconnect();
});

function ev(host: string, message: string, time: number): SyslogEvent {
  return {
    format: 'rfc3164',
    facility: 4,
    severity: 6,
    time,
    receivedAt: time,
    hostname: host,
    peer: '10.0.0.1',
    program: 'sshd',
    pid: '1',
    message,
  };
}
