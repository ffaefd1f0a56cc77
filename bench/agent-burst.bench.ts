// Benchmark: a burst of 10,000 bans within one second reaching a connected, synced agent's nft set.
// Run (root): npx tsc -p . && node dist/bench/agent-burst.bench.js [--bans 10000] [--spread-ms 1000] [--base 100000] [--runs 3] [--keep DIR] [--cpu-prof DIR: server and agent profiles]
// The server (sshd jail, maxretry 1) gets one failure line per attacker over one TCP connection,
// in 20 chunks spread over --spread-ms; the agent already holds --base bans from the store.
// Convergence = first line sent → the agent's nft batch that completes the burst returned (its
// debug line `nft sets updated`, logged right after nft exits), then checked by listing the sets.
// (`nft monitor` cannot serve here: nft 1.0.6 takes minutes to load 100,000 interval elements.)
import { connect } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { countSetElements, type AgentProcess } from './lib/agent-process.js';
import { startAgent, startRig, type Rig } from './lib/agent-rig.js';
import { sshdJail } from './lib/agent-server.js';
import { ATTACKER_SPACE, attacker, failureLine } from './lib/attackers.js';
import { copyStore, fillStore } from './lib/ban-fill.js';
import { benchCores, machineInfo, printMachine } from './lib/machine.js';
import { fmtInt, median, printTable, verdict, writeResult } from './lib/report.js';
import { reason, withKeptDir, withTempDir } from './lib/scratch.js';
import { Teardown } from './lib/teardown.js';

const TARGET_SEC = 2;
const CHUNKS = 20;

const { values } = parseArgs({
  options: {
    bans: { type: 'string', default: '10000' },
    'spread-ms': { type: 'string', default: '1000' },
    base: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '3' },
    keep: { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
});
const burst = Number(values.bans);
const spreadMs = Number(values['spread-ms']);
const base = Number(values.base);
const runs = Number(values.runs);
const cores = benchCores();
if (burst * runs >= ATTACKER_SPACE) throw new RangeError('--bans × --runs must stay below 131,071');

interface BurstRun {
  /** Set size before the burst. */
  readonly before: number;
  readonly sendSec: number;
  /** First line sent → the agent's first / last nft batch of the burst returned. */
  readonly firstSec: number;
  readonly convergedSec: number;
  /** nft transactions the agent needed for the burst. */
  readonly batches: number;
  readonly listed: number;
  readonly listMs: number;
}

async function burstOnce(
  rig: Rig,
  agent: AgentProcess,
  run: number,
  before: number,
): Promise<BurstRun> {
  const teardown = new Teardown();
  try {
    const tcp = rig.server.ready.tcp;
    if (tcp === undefined) throw new Error('the server opened no TCP listener');
    const socket = connect(tcp.port, tcp.address);
    teardown.add('close the syslog connection', () => {
      socket.destroy();
      return Promise.resolve();
    });
    await once(socket, 'connect');
    const offset = (run - 1) * burst;
    const chunks: string[] = [];
    const per = Math.ceil(burst / CHUNKS);
    for (let c = 0; c < CHUNKS; c++) {
      const lines: string[] = [];
      for (let i = c * per; i < Math.min(burst, (c + 1) * per); i++) {
        lines.push(failureLine(attacker(offset + i), i % 20, 1024 + (i % 60_000)));
      }
      chunks.push(lines.length === 0 ? '' : `${lines.join('\n')}\n`);
    }
    const t0 = performance.now();
    for (let c = 0; c < CHUNKS; c++) {
      const wait = t0 + (c * spreadMs) / CHUNKS - performance.now();
      if (wait > 1) await delay(wait);
      if (!socket.write(chunks[c] ?? '')) await once(socket, 'drain');
    }
    const sendSec = (performance.now() - t0) / 1000;
    const batches = await agent.waitForAdded(burst, t0, 60_000);
    const first = batches[0]?.at ?? Number.NaN;
    const last = batches[batches.length - 1]?.at ?? Number.NaN;
    const listed = await countSetElements(rig.ns);
    return {
      before,
      sendSec,
      firstSec: (first - t0) / 1000,
      convergedSec: (last - t0) / 1000,
      batches: batches.length,
      listed: listed.v4 + listed.v6,
      listMs: listed.ms,
    };
  } finally {
    await teardown.run();
  }
}

async function main(): Promise<void> {
  const machine = machineInfo();
  printMachine(machine);
  console.log(
    `agent-burst: ${fmtInt(burst)} bans over ${spreadMs} ms on top of ${fmtInt(base)}, ${runs} runs; server on core ${cores.receiver ?? 'any'}, agent on core ${cores.sender ?? 'any'}`,
  );
  const teardown = new Teardown();
  try {
    await withKeptDir(values.keep, 'agent-burst-store', async (storeDir) => {
      const storePath = join(storeDir, 'store');
      const f = await fillStore(storePath, base);
      if (f.written > 0)
        console.log(`store: wrote ${fmtInt(f.written)} bans in ${f.seconds.toFixed(1)} s`);
      await withTempDir('agent-burst', async (dir) => {
        await copyStore(storePath, join(dir, 'store'));
        const rig = await startRig({
          dir,
          teardown,
          core: cores.receiver,
          tcp: true,
          storePath: join(dir, 'store'),
          jails: { sshd: sshdJail(1) },
          readyTimeoutMs: 120_000,
          ...(values['cpu-prof'] === undefined
            ? {}
            : { nodeFlags: ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof']] }),
        });
        const profile = values['cpu-prof'];
        const agent = await startAgent(rig, teardown, {
          core: cores.sender,
          extra: { log: { level: 'debug' } },
          ...(profile === undefined
            ? {}
            : { nodeFlags: ['--cpu-prof', '--cpu-prof-dir', profile] }),
        });
        await agent.waitForLine('snapshot applied', 60_000);
        const start = await countSetElements(rig.ns);
        console.log(`agent: synced, ${fmtInt(start.v4 + start.v6)} elements in its sets`);
        const results: ({ ok: BurstRun } | { error: string })[] = [];
        let before = start.v4 + start.v6;
        for (let r = 1; r <= runs; r++) {
          try {
            const b = await burstOnce(rig, agent, r, before);
            results.push({ ok: b });
            before = b.listed;
            console.log(
              `  run ${r}: ${fmtInt(b.before)} elements before; sent in ${b.sendSec.toFixed(2)} s; first batch ${b.firstSec.toFixed(3)} s, all ${fmtInt(burst)} at ${b.convergedSec.toFixed(2)} s in ${b.batches} nft batches; list shows ${fmtInt(b.listed)} (${b.listMs.toFixed(0)} ms)`,
            );
          } catch (e) {
            results.push({ error: reason(e) });
            console.log(`  run ${r}: not measured: ${reason(e)}`);
          }
        }
        const ok = results.flatMap((x) => ('ok' in x ? [x.ok] : []));
        const complete = ok.length === runs;
        const allThere = ok.every((x) => x.listed >= x.before + burst);
        const converged = complete ? median(ok.map((x) => x.convergedSec)) : Number.NaN;
        const sec = (n: number): string => (Number.isNaN(n) ? 'not measured' : `${n.toFixed(2)} s`);
        const problems = agent.problems();
        if (problems.length > 0)
          console.log(
            `agent warnings: ${problems
              .map((p) => p.msg)
              .slice(0, 5)
              .join(' | ')}`,
          );
        console.log(`\nmedian of ${runs} bursts (from the first line sent):`);
        printTable(
          ['burst', 'set before', 'sent within', 'first batch in', 'all in', 'target', 'result'],
          [
            [
              fmtInt(burst),
              fmtInt(ok[0]?.before ?? Number.NaN),
              sec(complete ? median(ok.map((x) => x.sendSec)) : Number.NaN),
              sec(complete ? median(ok.map((x) => x.firstSec)) : Number.NaN),
              sec(converged),
              `≤ ${TARGET_SEC} s`,
              verdict(Number.isNaN(converged) ? null : converged <= TARGET_SEC && allThere),
            ],
          ],
        );
        if (!allThere) console.log('note: a final listing did not show every burst element');
        console.log(
          `results: ${writeResult(`agent-burst-base${base}-spread${spreadMs}`, { burst, spreadMs, base, runs, cores, load1AtStart: machine.load1, results, agentWarnings: problems.map((p) => p.msg) })}`,
        );
      });
    });
  } finally {
    await teardown.run();
  }
}

await main();
