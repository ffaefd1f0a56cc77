// Benchmark: the dashboard's bans and overview APIs on a server holding N active bans (server time from Server-Timing), its memory, and the page weight.
// Run: node dist/bench/dashboard-bans.bench.js [--bans 1000000] [--runs 30] [--dir PATH]
// With --dir the filled store is kept there (and reused), so later runs skip the fill.
import { readFileSync } from 'node:fs';
import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { hashToken } from '../src/distribute/tokens.js';
import { fillStore } from './lib/ban-fill.js';
import { spawnServer } from './lib/fleetban-server.js';
import { printMachine } from './lib/machine.js';
import { stopChild } from './lib/proc.js';
import { median, printTable, writeResult } from './lib/report.js';
import { withKeptDir } from './lib/scratch.js';

const { values } = parseArgs({
  options: {
    bans: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '30' },
    dir: { type: 'string' },
  },
});
const BANS = Number(values.bans);
const RUNS = Number(values.runs);
const TOKEN = 'bench-dashboard-token-0123456789abcdef';

interface Ready {
  readonly dashboard?: { readonly url: string };
}

function rssMB(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid ?? 0}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 102.4) / 10;
}

function loadavg(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

function config(dir: string, store: string, dashboard: boolean): unknown {
  return {
    store: { path: store },
    ingest: { udp: { address: '127.0.0.1', port: 0 }, tcp: { address: '127.0.0.1', port: 0 } },
    jails: { dir: join(dir, 'jails.d') },
    control: { socket: join(dir, 'admin.sock') },
    agents: { enabled: false },
    dashboard: { enabled: dashboard, address: '127.0.0.1', port: 0 },
    log: { level: 'warn' },
  };
}

async function main(): Promise<void> {
  printMachine();
  console.log(`load average at start: ${loadavg()}`);
  await withKeptDir(values.dir, 'dashboard', async (dir) => {
    const kept = join(dir, 'filled');
    const fill = await fillStore(kept, BANS);
    console.log(
      `store: ${BANS} active bans (${fill.written} written in ${fill.seconds.toFixed(1)} s)`,
    );
    await mkdir(join(dir, 'jails.d'), { recursive: true });
    await writeFile(
      join(dir, 'jails.d', 'sshd.json'),
      JSON.stringify({ sshd: { enabled: true, filter: 'sshd', programs: ['sshd'] } }),
    );
    const run = join(dir, 'run');
    await rm(run, { recursive: true, force: true });
    await cp(kept, run, { recursive: true });
    await writeFile(
      join(run, 'users.json'),
      JSON.stringify({
        version: 1,
        users: [{ name: 'bench', role: 'admin', tokenHash: hashToken(TOKEN), created: 0 }],
      }),
    );

    // Without the dashboard: the memory it is compared with.
    const plain = await spawnServer(dir, null, config(dir, run, false), 300_000);
    await new Promise((r) => setTimeout(r, 1000));
    const rssWithout = rssMB(plain.child.pid);
    await stopChild(plain.child, 30_000);
    // The next server must write its own ready file, not be taken for this one.
    await rm(join(dir, 'ready.json'), { force: true });

    const server = await spawnServer(dir, null, config(dir, run, true), 300_000);
    try {
      const started = (server.readyAt - server.spawnedAt) / 1000;
      await new Promise((r) => setTimeout(r, 1000));
      const rssStarted = rssMB(server.child.pid);
      const base = ((server.ready as Ready).dashboard?.url ?? '').replace(/\/$/, '');
      const login = await fetch(`${base}/login`, {
        method: 'POST',
        headers: { origin: base, 'content-type': 'application/json' },
        body: JSON.stringify({ token: TOKEN }),
      });
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      if (login.status !== 200) throw new Error(`sign-in answered ${login.status}`);

      const first = (await (
        await fetch(`${base}/api/bans?limit=50`, { headers: { cookie } })
      ).json()) as { next: number | null; total: number };
      const scenarios: [string, string][] = [
        ['first page of 50', '/api/bans?limit=50'],
        ['jail filter (postfix)', '/api/bans?limit=50&jail=postfix'],
        ['prefix 10.7.', '/api/bans?limit=50&prefix=10.7.'],
        ['prefix 2001:db8: + jail dovecot', '/api/bans?limit=50&jail=dovecot&prefix=2001:db8:'],
        ['next page (cursor)', `/api/bans?limit=50&before=${first.next ?? 0}`],
        ['half-way page (cursor)', `/api/bans?limit=50&before=${Math.floor(BANS / 2)}`],
        ['overview', '/api/overview'],
      ];
      const rows: string[][] = [];
      const results: Record<string, unknown>[] = [];
      for (const [name, path] of scenarios) {
        const server: number[] = [];
        const client: number[] = [];
        let total = 0;
        for (let i = 0; i < RUNS; i++) {
          const t = performance.now();
          const res = await fetch(`${base}${path}`, { headers: { cookie } });
          const body = (await res.json()) as { total?: number };
          client.push(performance.now() - t);
          total = body.total ?? 0;
          const dur = /dur=([\d.]+)/.exec(res.headers.get('server-timing') ?? '')?.[1];
          server.push(Number(dur));
        }
        server.sort((a, b) => a - b);
        client.sort((a, b) => a - b);
        const r = {
          name,
          matching: total,
          serverMedianMs: median(server),
          serverP95Ms: quantile(server, 0.95),
          serverMaxMs: server[server.length - 1] ?? NaN,
          clientMedianMs: median(client),
        };
        results.push(r);
        rows.push([
          name,
          path.startsWith('/api/bans') ? String(total) : '-',
          r.serverMedianMs.toFixed(1),
          r.serverP95Ms.toFixed(1),
          r.serverMaxMs.toFixed(1),
          r.clientMedianMs.toFixed(1),
        ]);
      }
      console.log(`\ndashboard API with ${BANS} active bans, ${RUNS} requests each:`);
      printTable(
        ['request', 'matching', 'server ms (median)', 'p95', 'max', 'client ms (median)'],
        rows,
      );

      // Page weight: every script a page loads, as the browser receives it (gzip).
      const weights: [string, number, number][] = [];
      for (const asset of [
        '/assets/uPlot.iife.min.js',
        '/assets/js/common.js',
        '/assets/js/overview.js',
        '/assets/js/bans.js',
        '/assets/js/login.js',
      ]) {
        const res = await fetch(`${base}${asset}`, { headers: { 'accept-encoding': 'gzip' } });
        const gz = Number(res.headers.get('content-length'));
        await res.arrayBuffer();
        const raw = await fetch(`${base}${asset}`, { headers: { 'accept-encoding': 'identity' } });
        weights.push([asset, gz, (await raw.arrayBuffer()).byteLength]);
      }
      const gzTotal = weights.reduce((n, w) => n + w[1], 0);
      console.log('\nJavaScript served (all pages together):');
      printTable(
        ['file', 'gzip bytes', 'bytes'],
        [
          ...weights.map(([f, g, r]) => [f, String(g), String(r)]),
          ['total', String(gzTotal), String(weights.reduce((n, w) => n + w[2], 0))],
        ],
      );
      const rssAfter = rssMB(server.child.pid);
      console.log(
        `\nserver: ready in ${started.toFixed(1)} s; RSS without dashboard ${rssWithout} MB, with it ${rssStarted} MB at start, ${rssAfter} MB after the requests (growth ${(rssAfter - rssWithout).toFixed(1)} MB)`,
      );
      console.log(`load average at end: ${loadavg()}`);
      const file = writeResult('dashboard-bans', {
        bans: BANS,
        runs: RUNS,
        requests: results,
        javascriptGzipBytes: gzTotal,
        rssWithoutMB: rssWithout,
        rssStartedMB: rssStarted,
        rssAfterMB: rssAfter,
      });
      console.log(`results: ${file}`);
    } finally {
      await stopChild(server.child, 30_000);
    }
  });
}

await main();
