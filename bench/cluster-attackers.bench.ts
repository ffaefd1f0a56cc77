// Benchmark: 10,000 attackers, each spreading exactly maxretry failures over three real fleetban servers on a real Redis Cluster; bans, duplicates, misses and decision latency as an agent sees them.
// Run: npx tsc -p . && node dist/bench/cluster-attackers.bench.js [--attackers 10000] [--rate 0] [--runs 1]
// Needs redis-server and redis-cli. The servers use the shipped jails (sshd: maxretry 5, from
// jails.defaults); the bench writes RFC 5424 lines over one octet-counted TCP connection per
// server, failure k of an attacker to server k mod 3, and follows the ban stream of the first
// server as an agent does. Latency: from writing an attacker's last failure to its ban arriving on
// the stream (the whole path: ingest, shared windows, ban write with WAIT, durability mark,
// stream). --rate R: attackers start at R per second instead of all at once (0).
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { NdjsonDecoder, isDecodeError } from '../src/distribute/protocol.js';
import { startRedisCluster } from '../test/helpers/redis.js';
import { FleetbanServer } from './lib/fleetban-server.js';
import { machineInfo, printMachine } from './lib/machine.js';
import { summarise } from './lib/quantiles.js';
import { fmtInt, printTable, verdict, writeResult } from './lib/report.js';
import { withTempDir } from './lib/scratch.js';

const { values } = parseArgs({
  options: {
    attackers: { type: 'string', default: '10000' },
    rate: { type: 'string', default: '0' },
    maxretry: { type: 'string', default: '5' },
  },
});
const attackers = Number(values.attackers);
const rate = Number(values.rate);
const maxretry = Number(values.maxretry);
const SERVERS = 3;
const P99_TARGET_MS = 50;

/** Attacker n: an address in 11.0.0.0/8. */
function address(n: number): string {
  const v = 0x0b000000 + n;
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

function frame(line: string): string {
  return `${Buffer.byteLength(line)} ${line}`;
}

function adminPost(socketPath: string, path: string, body: unknown): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath, path, method: 'POST', headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c));
        res.on('end', () => {
          resolve(text);
        });
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** Follows the ban stream: arrival time (performance.now) of every ban, and how many per target. */
function follow(
  port: number,
  token: string,
): { arrivals: Map<string, number>; counts: Map<string, number>; close: () => void } {
  const arrivals = new Map<string, number>();
  const counts = new Map<string, number>();
  const decoder = new NdjsonDecoder();
  const req = request(
    {
      host: '127.0.0.1',
      port,
      path: '/v1/agent/stream',
      headers: { authorization: `Bearer ${token}` },
    },
    (res) => {
      res.on('data', (chunk: Buffer) => {
        const t = performance.now();
        for (const m of decoder.push(chunk)) {
          if (isDecodeError(m) || m.type !== 'ban') continue;
          const target = m.ban.target;
          counts.set(target, (counts.get(target) ?? 0) + 1);
          if (!arrivals.has(target)) arrivals.set(target, t);
        }
      });
    },
  );
  req.end();
  return { arrivals, counts, close: () => req.destroy() };
}

async function main(): Promise<void> {
  printMachine();
  console.log(
    `cluster-attackers: ${fmtInt(attackers)} attackers × ${maxretry} failures over ${SERVERS} servers, ${rate === 0 ? 'all at once' : `${rate} attackers/s`}`,
  );
  const cluster = await startRedisCluster();
  try {
    await withTempDir('cluster-attackers', async (dir) => {
      const servers: FleetbanServer[] = [];
      const sockets: Socket[] = [];
      try {
        const keyPrefix = `attack${Date.now()}`;
        for (let i = 0; i < SERVERS; i++) {
          const own = join(dir, `s${i}`);
          await mkdir(own);
          servers.push(
            await FleetbanServer.start({
              dir: own,
              core: null,
              tcp: true,
              redis: { nodes: cluster.seeds, keyPrefix },
            }),
          );
        }
        const first = servers[0];
        if (first === undefined) throw new Error('no server');
        const added = JSON.parse(
          await adminPost(first.ready.admin.socket, '/v1/agents', { name: 'bench' }),
        ) as { token: string };
        const agentsPort = first.ready.agents?.port ?? 0;
        const stream = follow(agentsPort, added.token);
        for (const s of servers) {
          const sock = connect(s.ready.tcp?.port ?? 0, '127.0.0.1');
          await new Promise((resolve) => sock.once('connect', resolve));
          sockets.push(sock);
        }
        await delay(500);
        const lastSent = new Float64Array(attackers);
        const started = performance.now();
        for (let n = 0; n < attackers; n++) {
          if (rate > 0) {
            const due = started + (n / rate) * 1000;
            const wait = due - performance.now();
            if (wait > 1) await delay(wait);
          }
          const ip = address(n);
          const stamp = new Date().toISOString();
          for (let k = 0; k < maxretry; k++) {
            const line = `<38>1 ${stamp} web${k % SERVERS} sshd 77 - - Failed password for root from ${ip} port ${40000 + k} ssh2`;
            sockets[k % SERVERS]?.write(frame(line));
          }
          lastSent[n] = performance.now();
          if (rate === 0 && n % 500 === 499) await delay(0);
        }
        const deadline = performance.now() + 120_000;
        while (stream.arrivals.size < attackers && performance.now() < deadline) await delay(50);
        await delay(2_000);
        stream.close();
        const latencies: number[] = [];
        let duplicates = 0;
        for (let n = 0; n < attackers; n++) {
          const ip = address(n);
          const at = stream.arrivals.get(ip);
          if (at !== undefined) latencies.push(at - (lastSent[n] ?? at));
          duplicates += Math.max(0, (stream.counts.get(ip) ?? 0) - 1);
        }
        const bans = stream.arrivals.size;
        const misses = attackers - bans;
        const lat = summarise(latencies);
        printTable(
          [
            'attackers',
            'bans',
            'duplicates',
            'misses',
            'p50 ms',
            'p99 ms',
            'max ms',
            'target',
            'result',
          ],
          [
            [
              fmtInt(attackers),
              fmtInt(bans),
              String(duplicates),
              String(misses),
              lat.p50.toFixed(1),
              lat.p99.toFixed(1),
              lat.max.toFixed(1),
              `exact, p99 ≤ ${P99_TARGET_MS} ms`,
              verdict(bans === attackers && duplicates === 0 && lat.p99 <= P99_TARGET_MS),
            ],
          ],
        );
        console.log(
          `results: ${writeResult('cluster-attackers', { machine: machineInfo(), attackers, maxretry, rate, bans, duplicates, misses, latency: lat })}`,
        );
      } finally {
        for (const s of sockets) s.destroy();
        for (const s of servers) await s.close();
      }
    });
  } finally {
    await cluster.stop();
  }
}

await main();
