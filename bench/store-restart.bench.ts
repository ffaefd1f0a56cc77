// Benchmark: write N active bans to the LevelDB store, then time a cold reopen and report its memory.
// Run: node dist/bench/store-restart.bench.js [--bans 1000000] [--batch 10000] [--runs 3] [--dir PATH]
// With --dir the store is kept there, and written only if it is empty, to rerun reopens alone.
// --scan removes the active-ban snapshot before each reopen, so the bans are read from LevelDB.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { NewBan } from '../src/store/store.js';
import { LevelBanStore } from '../src/store/level-store.js';

const { values } = parseArgs({
  options: {
    bans: { type: 'string', default: '1000000' },
    batch: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '3' },
    open: { type: 'string' },
    scan: { type: 'boolean', default: false },
    dir: { type: 'string' },
  },
});

interface OpenResult {
  readonly openMs: number;
  readonly activeBans: number;
  readonly rssMB: number;
  readonly heapMB: number;
}

const mb = (n: number): number => Math.round(n / 1e5) / 10;

/** Child mode: a fresh process, so its resident memory is the store's and nothing else's. */
async function openOnce(path: string): Promise<OpenResult> {
  const store = new LevelBanStore(path);
  const rssBefore = process.memoryUsage().rss;
  const t = performance.now();
  await store.open();
  const openMs = performance.now() - t;
  const mem = process.memoryUsage();
  const result = {
    openMs,
    activeBans: store.stats().activeBans,
    rssMB: mb(mem.rss),
    heapMB: mb(mem.heapUsed),
  };
  await store.close();
  process.stderr.write(`(rss before open ${mb(rssBefore)} MB)\n`);
  return result;
}

function ban(i: number, start: number): NewBan {
  const v6 = i % 5 === 0;
  const target = v6
    ? `2001:db8:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::/64`
    : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const attacker = v6 ? `${target.slice(0, -5)}::${(i % 97).toString(16)}` : target;
  const failures = 5 + (i % 20);
  return {
    target,
    family: v6 ? 6 : 4,
    jail: ['sshd', 'postfix', 'dovecot', 'nginx-http-auth'][i % 4] ?? 'sshd',
    origin: 'jail',
    attacker,
    start,
    end: i % 20 === 0 ? null : start + (3600 + (i % 604_800)) * 1000,
    banCount: 1 + (i % 3),
    failures,
    hosts: { [`web${i % 10}`]: failures - 2, [`mail${i % 3}`]: 2 },
    lines: [0, 1, 2].map(
      (k) => `Failed password for invalid user admin${k} from ${attacker} port ${40000 + k} ssh2`,
    ),
    reason: `${failures} failures`,
  };
}

function runChild(path: string): Promise<OpenResult> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [self, '--open', path], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(JSON.parse(out) as OpenResult);
      else reject(new Error(`the reopen child exited with ${code}`));
    });
  });
}

async function main(): Promise<void> {
  if (values.open !== undefined) {
    process.stdout.write(JSON.stringify(await openOnce(values.open)));
    return;
  }
  const n = Number(values.bans);
  const batch = Number(values.batch);
  const runs = Number(values.runs);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, node ${process.version}`);
  const dir = values.dir ?? (await mkdtemp(join(tmpdir(), 'fleetban-bench-')));
  const path = join(dir, 'db');
  try {
    const store = new LevelBanStore(path);
    await store.open();
    if (store.stats().activeBans > 0) {
      console.log(`write: skipped, ${store.stats().activeBans} bans already in ${path}`);
      await store.close();
    } else {
      const start = Date.UTC(2026, 0, 1);
      const t = performance.now();
      for (let i = 0; i < n; i += batch) {
        await store.ban(
          Array.from({ length: Math.min(batch, n - i) }, (_, k) => ban(i + k, start)),
        );
      }
      const writeS = (performance.now() - t) / 1000;
      const { recordsWritten, batchesWritten } = store.stats();
      await store.close();
      console.log(
        `write: ${n} bans in ${batchesWritten} batches (${recordsWritten} records), ${writeS.toFixed(1)} s, ${Math.round(n / writeS)} bans/s`,
      );
    }
    const results: OpenResult[] = [];
    for (let r = 0; r < runs; r++) {
      if (values.scan) await rm(join(path, 'fleetban-active.snapshot'), { force: true });
      const res = await runChild(path);
      results.push(res);
      console.log(
        `reopen ${r + 1} (${values.scan ? 'LevelDB scan' : 'snapshot'}): ${res.activeBans} bans ready in ${(res.openMs / 1000).toFixed(2)} s, rss ${res.rssMB} MB, heap ${res.heapMB} MB`,
      );
    }
    const sorted = [...results].sort((a, b) => a.openMs - b.openMs);
    const median = sorted[Math.floor(sorted.length / 2)];
    if (median !== undefined) {
      console.log(
        `median reopen: ${(median.openMs / 1000).toFixed(2)} s (target ≤ 5 s), rss ${median.rssMB} MB`,
      );
    }
  } finally {
    if (values.dir === undefined) await rm(dir, { recursive: true, force: true });
  }
}

await main();
