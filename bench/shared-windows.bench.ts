// Shared failure windows on a real Redis Cluster: N servers, each attacker's maxretry failures spread over them at once; crossings (exactly one per attacker) and decision latency.
// Run: npx tsc -p . && node dist/bench/shared-windows.bench.js [--attackers 10000] [--servers 3] [--maxretry 3] [--rate 0] [--flush-ms 5]
// Needs redis-server and redis-cli (apt-get install redis-server redis-tools). Six redis-server
// processes (3 masters, 3 replicas) on loopback ports; the servers are SharedWindows instances in
// this process, each with its own ioredis Cluster client (auto-pipelining on), as three
// fleetban servers would have. Latency: from the add() of the failure that crossed to the
// crossing callback, on this process's monotonic clock. --rate R: attackers start at R per
// second instead of all at once (0). Anchor: the same failures through one box's FailureWindows.
import { parseArgs } from 'node:util';
import { Cluster } from 'ioredis';
import { SharedWindows } from '../src/cluster/shared-windows.js';
import { parseCidr, formatCidr, type Cidr } from '../src/core/ip.js';
import type { Failure } from '../src/core/types.js';
import type { WindowRule } from '../src/jails/shared-counter.js';
import { FailureWindows } from '../src/jails/window.js';
import { startRedisCluster } from '../test/helpers/redis.js';
import { machineInfo, printMachine } from './lib/machine.js';
import { summarise, type Summary } from './lib/quantiles.js';
import { fmtInt, printTable, verdict, writeResult } from './lib/report.js';

const { values } = parseArgs({
  options: {
    attackers: { type: 'string', default: '10000' },
    servers: { type: 'string', default: '3' },
    maxretry: { type: 'string', default: '3' },
    rate: { type: 'string', default: '0' },
    'flush-ms': { type: 'string', default: '5' },
  },
});
const attackers = Number(values.attackers);
const servers = Number(values.servers);
const maxretry = Number(values.maxretry);
const rate = Number(values.rate);
const flushMs = Number(values['flush-ms']);
for (const [name, v] of Object.entries({ attackers, servers, maxretry, rate, flushMs }))
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a number ≥ 0`);

const T0 = Date.UTC(2026, 0, 1, 12);
const RULE: WindowRule = { findtimeMs: 600_000, maxretry, decidedTtlMs: 30_000 };

/** Attacker n: an address in 11.0.0.0/8. */
function address(n: number): string {
  const v = 0x0b000000 + n;
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

function failure(attacker: string, k: number, server: number): Failure {
  return {
    jail: 'sshd',
    attacker,
    time: T0 + k,
    host: `web${server}`,
    sender: `10.0.0.${server + 1}`,
    user: 'root',
    line: `Failed password for root from ${attacker} port ${4000 + k} ssh2`,
  };
}

/** One box: the same failures through FailureWindows, crossing checked as JailEngine does. */
function anchor(targets: readonly Cidr[]): Summary {
  const w = new FailureWindows(attackers + 1);
  const latencies: number[] = [];
  for (const [n, target] of targets.entries()) {
    const a = address(n);
    for (let k = 0; k < maxretry; k++) {
      const started = performance.now();
      const r = w.add(target, failure(a, k, k % servers), RULE.findtimeMs);
      if (r.kind === 'counted' && r.failures >= maxretry) {
        w.snapshot('sshd', target);
        w.delete('sshd', target);
        latencies.push(performance.now() - started);
      }
    }
  }
  return summarise(latencies);
}

async function main(): Promise<void> {
  const machine = machineInfo();
  printMachine(machine);
  console.log(
    `shared windows: ${fmtInt(attackers)} attackers × ${maxretry} failures over ${servers} servers, ` +
      `flush ${flushMs} ms, ${rate > 0 ? `${fmtInt(rate)} attackers/s` : 'all at once'}`,
  );
  const cluster = await startRedisCluster();
  const clients: Cluster[] = [];
  try {
    const nodes = cluster.seeds.map((s) => ({ host: '127.0.0.1', port: Number(s.split(':')[1]) }));
    const targets = Array.from(
      { length: attackers },
      (_, n) => parseCidr(address(n)) ?? assert(`address ${n}`),
    );
    const indexOf = new Map(targets.map((t, n) => [formatCidr(t), n]));
    /** add() time of each failure: attacker n, failure k at [n * maxretry + k]. */
    const addedAt = new Float64Array(attackers * maxretry);
    const latencies: number[] = [];
    const crossedBy = new Map<string, number>();
    let duplicates = 0;
    let lastCrossing = 0;
    const instances = await Promise.all(
      Array.from({ length: servers }, async (_, s) => {
        const client = new Cluster(nodes, { enableAutoPipelining: true });
        clients.push(client);
        await new Promise<void>((resolve, reject) => {
          client.once('ready', resolve);
          client.once('error', reject);
        });
        const shared = new SharedWindows({ client, keyPrefix: 'fleetbanbench', flushMs });
        shared.listen({
          crossed: (r) => {
            const now = performance.now();
            const text = formatCidr(r.target);
            if (crossedBy.has(text)) duplicates++;
            crossedBy.set(text, s);
            const n = indexOf.get(text) ?? -1;
            const at = addedAt[n * maxretry + (r.time - T0)];
            if (at !== undefined) latencies.push(now - at);
            lastCrossing = now;
          },
          counted: () => undefined,
        });
        return shared;
      }),
    );
    await client0Flushall(clients[0]);
    const cpuAtStart = process.cpuUsage();
    const started = performance.now();
    const send = (n: number): void => {
      const a = address(n);
      const target = targets[n] as Cidr;
      for (let k = 0; k < maxretry; k++) {
        const s = k % servers;
        addedAt[n * maxretry + k] = performance.now();
        instances[s]?.add(target, failure(a, k, s), RULE);
      }
    };
    if (rate <= 0) for (let n = 0; n < attackers; n++) send(n);
    else {
      // Paced: each millisecond tick sends the attackers due by then.
      let next = 0;
      await new Promise<void>((resolve) => {
        const tick = setInterval(() => {
          const due = Math.min(
            attackers,
            Math.floor(((performance.now() - started) / 1000) * rate),
          );
          while (next < due) send(next++);
          if (next >= attackers) {
            clearInterval(tick);
            resolve();
          }
        }, 1);
      });
    }
    const addMs = performance.now() - started;
    const deadline = Date.now() + 120_000;
    while (crossedBy.size < attackers && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    await Promise.all(instances.map((i) => i.flush()));
    const totalMs = lastCrossing - started;
    const cpu = process.cpuUsage(cpuAtStart);
    const nodeCpuMs = (cpu.user + cpu.system) / 1000;
    const s = summarise(latencies);
    const one = anchor(targets);
    const counters = instances.map((i) => i.counters);
    const sum = (k: keyof (typeof counters)[0]): number => counters.reduce((a, c) => a + c[k], 0);
    const load1End = machineInfo().load1;
    const redis = await scriptTime(clients[0]);
    const ok = crossedBy.size === attackers && duplicates === 0;
    console.log();
    printTable(
      ['what', 'crossings', 'duplicates', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
      [
        [
          `${servers} servers, Redis Cluster`,
          fmtInt(crossedBy.size),
          fmtInt(duplicates),
          s.p50.toFixed(1),
          s.p90.toFixed(1),
          s.p99.toFixed(1),
          s.max.toFixed(1),
        ],
        [
          'one box, FailureWindows (anchor)',
          fmtInt(one.n),
          '0',
          one.p50.toFixed(4),
          one.p90.toFixed(4),
          one.p99.toFixed(4),
          one.max.toFixed(4),
        ],
      ],
    );
    console.log(
      `adds took ${addMs.toFixed(0)} ms; last crossing ${totalMs.toFixed(0)} ms after the first add; ` +
        `scripts ${fmtInt(sum('scriptsRun'))}, failures sent ${fmtInt(sum('failuresSent'))}, ` +
        `already decided ${fmtInt(sum('decidedSkips'))}, flush errors ${fmtInt(sum('flushErrors'))}, dropped ${fmtInt(sum('dropped'))}; ` +
        `load ${machine.load1} at start, ${load1End} at end`,
    );
    console.log(
      `this process (the ${servers} servers' clients): ${nodeCpuMs.toFixed(0)} ms of CPU from the first add to the last crossing`,
    );
    console.log(
      `Redis: ${fmtInt(redis.calls)} script calls took ${(redis.usec / 1000).toFixed(0)} ms of Redis CPU over the masters ` +
        `(${(redis.usec / Math.max(1, redis.calls)).toFixed(1)} µs a call)`,
    );
    console.log(`exactly one crossing per attacker: ${verdict(ok)}`);
    console.log(
      `results: ${writeResult('shared-windows', { attackers, servers, maxretry, rate, flushMs, crossings: crossedBy.size, duplicates, addMs, totalMs, latencyMs: s, anchorLatencyMs: one, counters, load1End, redis, nodeCpuMs })}`,
    );
    if (!ok) process.exitCode = 1;
  } finally {
    await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
    await cluster.stop();
  }
}

/** Empties the cluster, so a run never meets a previous run's windows or markers. */
async function client0Flushall(client: Cluster | undefined): Promise<void> {
  if (client === undefined) return;
  await Promise.all(
    client.nodes('master').map(async (n) => {
      await n.flushall();
      await n.config('RESETSTAT');
    }),
  );
}

/** EVAL and EVALSHA calls and their Redis CPU time (INFO commandstats), summed over the masters. */
async function scriptTime(
  client: Cluster | undefined,
): Promise<{ readonly calls: number; readonly usec: number }> {
  let calls = 0;
  let usec = 0;
  for (const node of client?.nodes('master') ?? []) {
    const info = await node.info('commandstats');
    for (const m of info.matchAll(/^cmdstat_(?:eval|evalsha):calls=(\d+),usec=(\d+)/gm)) {
      calls += Number(m[1]);
      usec += Number(m[2]);
    }
  }
  return { calls, usec };
}

function assert(what: string): never {
  throw new Error(`bad ${what}`);
}

await main();
