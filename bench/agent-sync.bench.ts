// Benchmark: initial sync, a fresh agent loading 100,000 central bans into an empty namespace's nft sets.
// Run (root): npx tsc -p . && node dist/bench/agent-sync.bench.js [--bans 100000] [--runs 3] [--keep DIR]
// The store is filled through LevelBanStore (80 % IPv4, 20 % IPv6 /64, 5 % permanent); each run
// deletes the fleetban table in the namespace and starts a new agent without a state file.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { countSetElements } from './lib/agent-process.js';
import { startAgent, startRig, type Rig } from './lib/agent-rig.js';
import { sshdJail } from './lib/agent-server.js';
import { copyStore, fillStore } from './lib/ban-fill.js';
import { benchCores, cpuSeconds, machineInfo, printMachine } from './lib/machine.js';
import { peakRssKiB, rssKiB } from './lib/proc.js';
import { fmtInt, median, printTable, verdict, writeResult } from './lib/report.js';
import { reason, withKeptDir, withTempDir } from './lib/scratch.js';
import { Teardown } from './lib/teardown.js';

/** Issue targets: 100,000 bans in ≤ 2 s (kept from before), 1,000,000 in ≤ 10 s with ≤ 300 MB. */
const targetSec = (bans: number): number => (bans > 100_000 ? 10 : 2);
const TARGET_RSS_MIB = 300;

const { values } = parseArgs({
  options: {
    bans: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '3' },
    keep: { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
});
const total = Number(values.bans);
const runs = Number(values.runs);
const cores = benchCores();

interface SyncRun {
  /** Seconds from spawn: connected, snapshot received, snapshot applied (agent log lines). */
  readonly connectedSec: number;
  readonly receivedSec: number;
  readonly appliedSec: number;
  /** Spawn → a listing of both sets shows every element. */
  readonly listedSec: number;
  readonly listMs: number;
  readonly elements: number;
  /** The agent process once synced: resident and peak memory (MiB), CPU seconds used so far. */
  readonly rssMiB: number;
  readonly peakRssMiB: number;
  readonly cpuSec: number;
}

async function syncOnce(rig: Rig, run: number): Promise<SyncRun> {
  const teardown = new Teardown();
  try {
    // An empty namespace again: no table, and no state file to resume from.
    await rig.ns.exec('nft', ['flush', 'ruleset']);
    const before = await countSetElements(rig.ns);
    if (before.v4 + before.v6 !== 0) throw new Error('the namespace still holds fleetban elements');
    const profile = values['cpu-prof'];
    const agent = await startAgent(rig, teardown, {
      core: cores.sender,
      name: `sync${run}`,
      ...(profile === undefined ? {} : { nodeFlags: ['--cpu-prof', '--cpu-prof-dir', profile] }),
    });
    const since = (at: number): number => (at - agent.spawnedAt) / 1000;
    const connected = await agent.waitForLine('connected to the server', 30_000);
    const received = await agent.waitForLine('snapshot received', 60_000);
    const applied = await agent.waitForLine('snapshot applied', 120_000);
    const pid = agent.pid ?? -1;
    const cpuSec = cpuSeconds(pid) ?? Number.NaN;
    const rss = ((await rssKiB(pid)) ?? Number.NaN) / 1024;
    const peak = ((await peakRssKiB(pid)) ?? Number.NaN) / 1024;
    const listed = await countSetElements(rig.ns);
    const listedAt = performance.now();
    const problems = agent.problems();
    if (problems.length > 0)
      console.log(
        `  agent warnings: ${problems
          .map((p) => p.msg)
          .slice(0, 3)
          .join(' | ')}`,
      );
    await agent.stop();
    return {
      connectedSec: since(connected.at),
      receivedSec: since(received.at),
      appliedSec: since(applied.at),
      listedSec: since(listedAt),
      listMs: listed.ms,
      elements: listed.v4 + listed.v6,
      rssMiB: rss,
      peakRssMiB: peak,
      cpuSec,
    };
  } finally {
    await teardown.run();
  }
}

async function main(): Promise<void> {
  const machine = machineInfo();
  printMachine(machine);
  console.log(
    `agent-sync: ${fmtInt(total)} bans, ${runs} fresh agents; server on core ${cores.receiver ?? 'any'}, agent on core ${cores.sender ?? 'any'}`,
  );
  const teardown = new Teardown();
  try {
    await withKeptDir(values.keep, 'agent-sync-store', async (storeDir) => {
      const storePath = join(storeDir, 'store');
      const f = await fillStore(storePath, total);
      console.log(
        f.written === 0
          ? `store: ${fmtInt(f.existing)} bans already in ${storePath}`
          : `store: wrote ${fmtInt(f.written)} bans through LevelBanStore in ${f.seconds.toFixed(1)} s`,
      );
      await withTempDir('agent-sync', async (dir) => {
        await copyStore(storePath, join(dir, 'store'));
        const rig = await startRig({
          dir,
          teardown,
          core: cores.receiver,
          storePath: join(dir, 'store'),
          jails: { sshd: sshdJail(5) },
          readyTimeoutMs: 120_000,
        });
        const active = await rig.server.activeBans();
        console.log(`server: ${fmtInt(active)} active bans`);
        const results: ({ ok: SyncRun } | { error: string })[] = [];
        for (let r = 1; r <= runs; r++) {
          try {
            const s = await syncOnce(rig, r);
            results.push({ ok: s });
            console.log(
              `  run ${r}: connected ${s.connectedSec.toFixed(2)} s, snapshot received ${s.receivedSec.toFixed(2)} s, applied ${s.appliedSec.toFixed(2)} s, listed ${fmtInt(s.elements)} elements at ${s.listedSec.toFixed(2)} s (list ${s.listMs.toFixed(0)} ms); agent RSS ${s.rssMiB.toFixed(0)} MiB (peak ${s.peakRssMiB.toFixed(0)}), CPU ${s.cpuSec.toFixed(2)} s`,
            );
          } catch (e) {
            results.push({ error: reason(e) });
            console.log(`  run ${r}: not measured: ${reason(e)}`);
          }
        }
        const ok = results.flatMap((x) => ('ok' in x ? [x.ok] : []));
        const complete = ok.length === runs;
        const allThere = ok.every((x) => x.elements === active);
        const med = (key: (s: SyncRun) => number): number =>
          complete ? median(ok.map(key)) : Number.NaN;
        const sec = (n: number): string => (Number.isNaN(n) ? 'not measured' : `${n.toFixed(2)} s`);
        const applied = med((s) => s.appliedSec);
        const target = targetSec(total);
        const rss = med((s) => s.rssMiB);
        console.log(`\nmedian of ${runs} fresh agents (seconds from agent spawn):`);
        printTable(
          [
            'bans',
            'connected',
            'snapshot received',
            "applied ('synced')",
            'verified by list',
            'target',
            'result',
            'agent RSS',
            'RSS target',
          ],
          [
            [
              fmtInt(total),
              sec(med((s) => s.connectedSec)),
              sec(med((s) => s.receivedSec)),
              sec(applied),
              sec(med((s) => s.listedSec)),
              `≤ ${target} s`,
              verdict(Number.isNaN(applied) ? null : applied <= target && allThere),
              Number.isNaN(rss) ? 'not measured' : `${rss.toFixed(0)} MiB`,
              total > 100_000
                ? `≤ ${TARGET_RSS_MIB} MiB ${verdict(Number.isNaN(rss) ? null : rss <= TARGET_RSS_MIB)}`
                : '',
            ],
          ],
        );
        if (!allThere) console.log(`note: a listing did not show all ${fmtInt(active)} elements`);
        console.log(
          `results: ${writeResult('agent-sync', { bans: total, activeBans: active, runs, cores, load1AtStart: machine.load1, fill: f, results })}`,
        );
      });
    });
  } finally {
    await teardown.run();
  }
}

await main();
