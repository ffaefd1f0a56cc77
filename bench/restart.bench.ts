// Benchmark: `fleetban server` restarting on a store of 1,000,000 active bans: time to the ready file, to /healthz 200, and RSS.
// Run: npx tsc -p . && node dist/bench/restart.bench.js [--bans 1000000] [--runs 3] [--keep DIR]
// With --keep DIR the store is written there once and reused by later runs (delete the folder to refill it).
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fillStore } from './lib/ban-fill.js';
import { FleetbanServer } from './lib/fleetban-server.js';
import { benchCores, printMachine } from './lib/machine.js';
import { pollUntil, rssKiB } from './lib/proc.js';
import { fmtInt, median, medianRun, printTable, verdict, writeResult } from './lib/report.js';
import { reason, withKeptDir, withTempDir } from './lib/scratch.js';

const TARGET_SEC = 5;

const { values } = parseArgs({
  options: {
    bans: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '3' },
    keep: { type: 'string' },
  },
});
const total = Number(values.bans);
const runs = Number(values.runs);
const cores = benchCores();

interface RestartRun {
  readonly readySec: number;
  readonly healthySec: number;
  readonly rssMB: number;
  readonly activeBans: number;
}

async function restartOnce(storePath: string): Promise<RestartRun> {
  return withTempDir('restart', async (dir) => {
    const server = await FleetbanServer.start({
      dir,
      core: cores.receiver,
      tcp: true,
      storePath,
      readyTimeoutMs: 120_000,
    });
    try {
      const healthyAt = await pollUntil(
        '/healthz 200',
        async () =>
          (await server.get('/healthz').catch(() => ({ status: 0 }))).status === 200
            ? performance.now()
            : undefined,
        { intervalMs: 20, timeoutMs: 120_000 },
      );
      const rss = await rssKiB(server.pid);
      const status = await server.status();
      return {
        readySec: (server.readyAt - server.spawnedAt) / 1000,
        healthySec: (healthyAt - server.spawnedAt) / 1000,
        rssMB: rss === null ? Number.NaN : Math.round(rss / 1024),
        activeBans: status.activeBans,
      };
    } finally {
      await server.close();
    }
  });
}

async function main(): Promise<void> {
  printMachine();
  console.log(
    `restart: ${fmtInt(total)} active bans, ${runs} restarts, server on core ${cores.receiver ?? 'any'}`,
  );
  await withKeptDir(values.keep, 'restart-store', async (dir) => {
    const storePath = join(dir, 'store');
    const f = await fillStore(storePath, total);
    console.log(
      f.written === 0
        ? `store: ${fmtInt(f.existing)} bans already in ${storePath}`
        : `store: wrote ${fmtInt(f.written)} bans through LevelBanStore in ${f.seconds.toFixed(1)} s (${fmtInt(f.written / f.seconds)} bans/s)`,
    );
    const results: ({ ok: RestartRun } | { error: string })[] = [];
    for (let r = 1; r <= runs; r++) {
      try {
        const res = await restartOnce(storePath);
        results.push({ ok: res });
        console.log(
          `  restart ${r}: ready file ${res.readySec.toFixed(2)} s, /healthz 200 ${res.healthySec.toFixed(2)} s, RSS ${res.rssMB} MB, ${fmtInt(res.activeBans)} active bans`,
        );
      } catch (e) {
        results.push({ error: reason(e) });
        console.log(`  restart ${r}: not measured: ${reason(e)}`);
      }
    }
    const ok = results.flatMap((x) => ('ok' in x ? [x.ok] : []));
    const complete = ok.length === runs;
    const healthy = complete ? median(ok.map((x) => x.healthySec)) : Number.NaN;
    const ready = complete ? median(ok.map((x) => x.readySec)) : Number.NaN;
    const mid = medianRun(ok, (x) => x.healthySec);
    const loadedAll = ok.every((x) => x.activeBans >= total);
    const sec = (n: number): string => (Number.isNaN(n) ? 'not measured' : `${n.toFixed(2)} s`);
    console.log(`\nmedian of ${runs} restarts (from spawn):`);
    printTable(
      ['bans', 'ready file', '/healthz 200', 'RSS', 'target', 'result'],
      [
        [
          fmtInt(total),
          sec(ready),
          sec(healthy),
          mid === undefined ? 'n/a' : `${mid.rssMB} MB`,
          `≤ ${TARGET_SEC} s`,
          verdict(Number.isNaN(healthy) ? null : healthy <= TARGET_SEC && loadedAll),
        ],
      ],
    );
    if (!loadedAll) console.log('note: a restart reported fewer active bans than were written');
    console.log(
      `results: ${writeResult('restart', { bans: total, runs, cores, fill: f, restarts: results, median: { readySec: ready, healthySec: healthy } })}`,
    );
  });
}

await main();
