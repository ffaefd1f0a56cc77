// Benchmark: the whole pipeline over TCP on the Redis store: one server on LevelDB, one on Redis Cluster, three on Redis Cluster; rsyslog imtcp→file as the anchor, same stream, same run.
// Run: npx tsc -p . && node dist/bench/pipeline-cluster.bench.js [--lines 600000] [--runs 3]
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { startRedisCluster, type RedisCluster } from '../test/helpers/redis.js';
import { FleetbanServer, type StatusView } from './lib/fleetban-server.js';
import { printMachine } from './lib/machine.js';
import { pollUntil } from './lib/proc.js';
import { fmtInt, fmtRatio, median, printTable, verdict, writeResult } from './lib/report.js';
import { Rsyslog } from './lib/rsyslog.js';
import { attempt, withTempDir, type Outcome } from './lib/scratch.js';
import { tcpblast } from './lib/senders.js';
import { ensureAuthLog, ensureSender, ensureWireLines } from './lib/tools.js';

const DRAIN_TIMEOUT_MS = 180_000;

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '600000' },
    runs: { type: 'string', default: '3' },
  },
});
const lines = Number(values.lines);
const runs = Number(values.runs);

type Variant = 'level, 1 server' | 'redis, 1 server' | 'redis, 3 servers';
const VARIANTS: readonly Variant[] = ['level, 1 server', 'redis, 1 server', 'redis, 3 servers'];

interface Run {
  readonly linesPerSec: number;
  readonly seconds: number;
  readonly activeBans: number;
}

/** Cuts the stream into `parts` files of consecutive lines: each server gets its own share. */
async function split(file: string, parts: number): Promise<string[]> {
  const names = Array.from({ length: parts }, (_, i) => `${file}.part${i + 1}of${parts}`);
  const outs = names.map((n) => createWriteStream(n));
  const per = Math.ceil(lines / parts);
  let n = 0;
  for await (const line of createInterface({ input: createReadStream(file) })) {
    if (n >= lines) break;
    const out = outs[Math.floor(n / per)];
    if (out !== undefined && !out.write(`${line}\n`)) await once(out, 'drain');
    n++;
  }
  for (const out of outs) out.end();
  await Promise.all(outs.map((o) => finished(o)));
  return names;
}

/** Waits until the counters stop moving on every server (bans are written after the lines). */
async function settled(servers: readonly FleetbanServer[]): Promise<StatusView[]> {
  let last = await Promise.all(servers.map((s) => s.status()));
  // A second without change: a ban waits for its Redis round trips after its lines are counted.
  for (let still = 0, i = 0; still < 10 && i < 300; i++) {
    await delay(100);
    const now = await Promise.all(servers.map((s) => s.status()));
    const same = now.every(
      (s, j) => s.activeBans === last[j]?.activeBans && s.messages === last[j].messages,
    );
    still = same ? still + 1 : 0;
    last = now;
  }
  return last;
}

async function fleetbanRun(
  variant: Variant,
  cluster: RedisCluster,
  streams: Record<number, string[]>,
  sender: string,
  run: number,
): Promise<Run> {
  return withTempDir('cluster', async (dir) => {
    const count = variant === 'redis, 3 servers' ? 3 : 1;
    const redis =
      variant === 'level, 1 server'
        ? undefined
        : { nodes: cluster.seeds, keyPrefix: `bench${run}${count}${Date.now()}` };
    const servers: FleetbanServer[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const own = join(dir, `s${i}`);
        await mkdir(own);
        servers.push(
          await FleetbanServer.start({
            dir: own,
            core: null,
            tcp: true,
            ...(redis === undefined ? {} : { redis }),
          }),
        );
      }
      const files = streams[count] ?? [];
      const seen: { first: number | null; error: Error | null } = { first: null, error: null };
      const blasts = servers.map((s, i) =>
        tcpblast({
          binary: sender,
          port: s.ready.tcp?.port ?? 0,
          total: Math.ceil(lines / count),
          framing: 'octet',
          file: files[i] ?? '',
          maxSec: 120,
          core: null,
        }).catch((e: unknown) => {
          seen.error = e instanceof Error ? e : new Error(String(e));
          return null;
        }),
      );
      const end = await pollUntil(
        `${variant}: fleetban to count ${lines} messages`,
        async () => {
          if (seen.error !== null) throw seen.error;
          const total = (await Promise.all(servers.map((s) => s.status()))).reduce(
            (n, s) => n + s.messages,
            0,
          );
          const t = performance.now();
          if (seen.first === null && total > 0) seen.first = t;
          return total >= lines ? t : undefined;
        },
        { intervalMs: 25, timeoutMs: DRAIN_TIMEOUT_MS },
      );
      await Promise.all(blasts);
      const seconds = (end - (seen.first ?? end)) / 1000;
      const after = await settled(servers);
      return {
        linesPerSec: seconds > 0 ? lines / seconds : Number.NaN,
        seconds,
        activeBans: after[0]?.activeBans ?? 0,
      };
    } finally {
      for (const s of servers) await s.close();
    }
  });
}

async function rsyslogRun(file: string, sender: string): Promise<number> {
  return withTempDir('cluster-rsyslog', async (dir) => {
    const rs = await Rsyslog.start({ dir, core: null, input: 'tcp' });
    try {
      const blast = tcpblast({
        binary: sender,
        port: rs.port,
        total: lines,
        framing: 'octet',
        file,
        maxSec: 120,
        core: null,
      });
      let done = false;
      void blast.finally(() => (done = true)).catch(() => undefined);
      const seen: { firstT: number | null; lastT: number; lastSize: number } = {
        firstT: null,
        lastT: 0,
        lastSize: 0,
      };
      await pollUntil(
        'rsyslogd to finish writing',
        async () => {
          const size = await rs.outputBytes();
          const t = performance.now();
          if (size !== seen.lastSize) {
            seen.firstT ??= t;
            seen.lastSize = size;
            seen.lastT = t;
          }
          return done && seen.firstT !== null && t - seen.lastT > 1000 ? true : undefined;
        },
        { intervalMs: 10, timeoutMs: DRAIN_TIMEOUT_MS },
      );
      await blast;
      const written = await rs.outputLines();
      const seconds = (seen.lastT - (seen.firstT ?? seen.lastT)) / 1000;
      return seconds > 0 ? written / seconds : Number.NaN;
    } finally {
      await rs.close();
    }
  });
}

async function main(): Promise<void> {
  printMachine();
  console.log(`pipeline-cluster: ${fmtInt(lines)} lines over TCP (octet-counted), ${runs} runs`);
  const sender = await ensureSender('tcpblast');
  const wire = await ensureWireLines(await ensureAuthLog(lines));
  const streams: Record<number, string[]> = {
    1: await split(wire.file, 1),
    3: await split(wire.file, 3),
  };
  const cluster = await startRedisCluster();
  try {
    const results: Record<string, Outcome<Run>[]> = {};
    const anchor: Outcome<number>[] = [];
    for (let r = 1; r <= runs; r++) {
      for (const v of VARIANTS) {
        const o = await attempt(() => fleetbanRun(v, cluster, streams, sender, r));
        (results[v] ??= []).push(o);
        console.log(
          `  run ${r} ${v}: ${'ok' in o ? `${fmtInt(o.ok.linesPerSec)} lines/s in ${o.ok.seconds.toFixed(2)} s, ${o.ok.activeBans} bans` : `not measured: ${o.error}`}`,
        );
      }
      const a = await attempt(() => rsyslogRun(streams[1]?.[0] ?? '', sender));
      anchor.push(a);
      console.log(
        `  run ${r} rsyslog imtcp→file: ${'ok' in a ? `${fmtInt(a.ok)} lines/s` : `not measured: ${a.error}`}`,
      );
    }
    const med = (os: readonly Outcome<Run>[] | undefined): number => {
      const ok = (os ?? []).flatMap((o) => ('ok' in o ? [o.ok.linesPerSec] : []));
      return ok.length === runs ? median(ok) : Number.NaN;
    };
    const anchorOk = anchor.flatMap((o) => ('ok' in o ? [o.ok] : []));
    const rsyslog = anchorOk.length === runs ? median(anchorOk) : Number.NaN;
    const level = med(results['level, 1 server']);
    const one = med(results['redis, 1 server']);
    const three = med(results['redis, 3 servers']);
    console.log(`\nmedian of ${runs} runs, lines/s from the first line counted to the last:`);
    printTable(
      ['setup', 'lines/s', 'vs rsyslog', 'vs level', 'target', 'result'],
      [
        ['rsyslog imtcp→file', fmtInt(rsyslog), '1.00×', '', '', ''],
        ['level, 1 server', fmtInt(level), fmtRatio(level / rsyslog), '1.00×', '', ''],
        [
          'redis, 1 server',
          fmtInt(one),
          fmtRatio(one / rsyslog),
          fmtRatio(one / level),
          '≥ 0.50× level',
          verdict(Number.isNaN(one) ? null : one >= 0.5 * level),
        ],
        [
          'redis, 3 servers',
          fmtInt(three),
          fmtRatio(three / rsyslog),
          fmtRatio(three / level),
          '≥ redis, 1 server',
          verdict(Number.isNaN(three) ? null : three >= one),
        ],
      ],
    );
    console.log(
      `results: ${writeResult('pipeline-cluster', { lines, runs, results, anchor, medians: { rsyslog, level, one, three } })}`,
    );
  } finally {
    await cluster.stop();
  }
}

await main();
