// Benchmark: GET /v1/nftables and GET /v1/blocklist.txt with 1,000,000 active bans: first byte, whole body, and the server's RSS growth while it answers.
// Run: npx tsc -p . && node dist/bench/feeds.bench.js [--bans 1000000] [--runs 3] [--keep DIR]
// With --keep DIR the filled store is kept there and reused (delete the folder to refill it).
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { copyStore, fillStore } from './lib/ban-fill.js';
import { FleetbanServer } from './lib/fleetban-server.js';
import { printMachine } from './lib/machine.js';
import { fmtInt, median, printTable, verdict, writeResult } from './lib/report.js';
import { withKeptDir, withTempDir } from './lib/scratch.js';

const { values } = parseArgs({
  options: {
    bans: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '3' },
    keep: { type: 'string' },
  },
});
const total = Number(values.bans);
const runs = Number(values.runs);
const TARGET_FIRST_MS = 200;
const TARGET_WHOLE_MS = 3_000;
const TARGET_RSS_MB = 50;

interface Fetch {
  readonly firstByteMs: number;
  readonly wholeMs: number;
  readonly bytes: number;
  /** Server RSS growth over its RSS before the request, at the highest sample. */
  readonly rssGrowthMB: number;
}

async function rssKB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? Number.NaN);
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

/** One GET, reading the body and throwing it away, while sampling the server's RSS. */
async function fetchOnce(
  server: FleetbanServer,
  port: number,
  path: string,
  token: string,
): Promise<Fetch> {
  const before = await rssKB(server.pid);
  let peak = before;
  const sampler = setInterval(() => {
    void rssKB(server.pid).then((kb) => {
      peak = Math.max(peak, kb);
    });
  }, 20);
  try {
    const t0 = performance.now();
    return await new Promise<Fetch>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path,
          headers: { authorization: `Bearer ${token}` },
          agent: false,
        },
        (res) => {
          let first = Number.NaN;
          let bytes = 0;
          res.on('data', (c: Buffer) => {
            if (Number.isNaN(first)) first = performance.now() - t0;
            bytes += c.length;
          });
          res.on('end', () => {
            if (res.statusCode !== 200)
              reject(new Error(`${path} answered ${res.statusCode ?? 0}`));
            resolve({
              firstByteMs: first,
              wholeMs: performance.now() - t0,
              bytes,
              rssGrowthMB: 0,
            });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    }).then(async (f) => {
      peak = Math.max(peak, await rssKB(server.pid));
      return { ...f, rssGrowthMB: (peak - before) / 1024 };
    });
  } finally {
    clearInterval(sampler);
  }
}

async function main(): Promise<void> {
  printMachine();
  console.log(`feeds: ${fmtInt(total)} active bans, ${runs} runs each`);
  await withKeptDir(values.keep, 'feeds-store', async (kept) => {
    const filled = join(kept, 'store');
    const f = await fillStore(filled, total);
    console.log(
      f.written === 0
        ? `store: ${fmtInt(f.existing)} bans already in ${filled}`
        : `store: wrote ${fmtInt(f.written)} bans in ${f.seconds.toFixed(1)} s`,
    );
    await withTempDir('feeds', async (dir) => {
      const storePath = join(dir, 'store');
      await copyStore(filled, storePath);
      const server = await FleetbanServer.start({
        dir,
        core: null,
        storePath,
        readyTimeoutMs: 120_000,
      });
      try {
        const token = (
          JSON.parse(
            await adminPost(server.ready.admin.socket, '/v1/agents', { name: 'bench' }),
          ) as {
            token: string;
          }
        ).token;
        const port = server.ready.agents?.port ?? 0;
        const results: Record<string, Fetch[]> = {};
        for (const path of ['/v1/nftables', '/v1/blocklist.txt']) {
          for (let r = 1; r <= runs; r++) {
            const f = await fetchOnce(server, port, path, token);
            (results[path] ??= []).push(f);
            console.log(
              `  ${path} run ${r}: first byte ${f.firstByteMs.toFixed(1)} ms, whole ${f.wholeMs.toFixed(0)} ms, ${fmtInt(f.bytes)} bytes, server RSS +${f.rssGrowthMB.toFixed(1)} MB`,
            );
          }
        }
        console.log(`\nmedian of ${runs} runs:`);
        printTable(
          ['path', 'first byte', 'whole', 'bytes', 'RSS growth', 'target', 'result'],
          Object.entries(results).map(([path, fs]) => {
            const first = median(fs.map((x) => x.firstByteMs));
            const whole = median(fs.map((x) => x.wholeMs));
            const rss = Math.max(...fs.map((x) => x.rssGrowthMB));
            return [
              path,
              `${first.toFixed(1)} ms`,
              `${whole.toFixed(0)} ms`,
              fmtInt(fs[0]?.bytes ?? 0),
              `≤ ${rss.toFixed(1)} MB`,
              `≤ ${TARGET_FIRST_MS} ms, ≤ ${TARGET_WHOLE_MS} ms, ≤ ${TARGET_RSS_MB} MB`,
              verdict(first <= TARGET_FIRST_MS && whole <= TARGET_WHOLE_MS && rss <= TARGET_RSS_MB),
            ];
          }),
        );
        console.log(`results: ${writeResult('feeds', { bans: total, runs, results })}`);
      } finally {
        await server.close();
      }
    });
  });
}

await main();
