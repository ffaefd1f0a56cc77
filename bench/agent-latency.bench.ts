// Benchmark: ban latency, from an attacker's last failure datagram leaving the sender to its element in the agent's nft set.
// Run (root): npx tsc -p . && node dist/bench/agent-latency.bench.js [--attackers 1000] [--interval-ms 5] [--maxretry 3] [--base 0] [--keep DIR]
// Server in the root namespace (core 0), agent in a namespace over a veth pair (core 1), real nft;
// `nft monitor` in the namespace reports each added element; both clocks are this process's.
// --base N: the server's store already holds N bans (the agent syncs them first), to measure
// latency at a large set size. nft 1.0.6's monitor cannot follow sets that large (it spends
// minutes loading them), so there arrival is taken from the agent's debug line `nft sets updated`,
// logged as each nft batch returns: batches apply bans in feed order, so after a batch whose
// running total of added elements is k, the first k attackers are in the kernel (--detect log).
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { countSetElements, NftMonitor, type AgentProcess } from './lib/agent-process.js';
import { startAgent, startRig } from './lib/agent-rig.js';
import { sshdJail } from './lib/agent-server.js';
import { attacker, failureLine } from './lib/attackers.js';
import { copyStore, fillStore } from './lib/ban-fill.js';
import { benchCores, machineInfo, printMachine } from './lib/machine.js';
import { summarise } from './lib/quantiles.js';
import { fmtInt, printTable, verdict, writeResult } from './lib/report.js';
import { withKeptDir, withTempDir } from './lib/scratch.js';
import { Teardown } from './lib/teardown.js';

const TARGET_P99_MS = 100;

const { values } = parseArgs({
  options: {
    attackers: { type: 'string', default: '1000' },
    'interval-ms': { type: 'string', default: '5' },
    maxretry: { type: 'string', default: '3' },
    base: { type: 'string', default: '0' },
    keep: { type: 'string' },
    detect: { type: 'string' },
  },
});
const attackers = Number(values.attackers);
const intervalMs = Number(values['interval-ms']);
const maxretry = Number(values.maxretry);
const base = Number(values.base);
const detect = values.detect ?? (base > 0 ? 'log' : 'monitor');
if (detect !== 'log' && detect !== 'monitor') throw new Error('--detect must be monitor or log');
if (detect === 'monitor' && base > 0) throw new Error('--detect monitor needs --base 0');
const cores = benchCores();

/**
 * When attacker i's element reached the kernel (index = attacker number): from nft monitor, or
 * from the running total of the agent's `nft sets updated` lines (see the header).
 */
async function arrivals(
  agent: AgentProcess,
  monitor: NftMonitor | null,
  since: number,
): Promise<number[]> {
  if (monitor !== null) {
    await monitor.waitForCount(attackers, 30_000);
    return Array.from(
      { length: attackers },
      (_, i) => monitor.added.get(attacker(i)) ?? Number.NaN,
    );
  }
  const batches = await agent.waitForAdded(attackers, since, 30_000);
  const out: number[] = [];
  for (const b of batches) {
    const added = typeof b.fields['added'] === 'number' ? b.fields['added'] : 0;
    for (let k = 0; k < added && out.length < attackers; k++) out.push(b.at);
  }
  return out;
}

/** A copy of the kept (or a fresh temporary) store of `base` bans at `path`. */
async function filledStore(path: string): Promise<void> {
  const fill = async (dir: string): Promise<void> => {
    const f = await fillStore(join(dir, 'store'), base);
    if (f.written > 0)
      console.log(`store: wrote ${fmtInt(f.written)} bans in ${f.seconds.toFixed(1)} s`);
    await copyStore(join(dir, 'store'), path);
  };
  return withKeptDir(values.keep, 'agent-latency-store', fill);
}

async function main(): Promise<void> {
  const machine = machineInfo();
  printMachine(machine);
  console.log(
    `agent-latency: ${fmtInt(attackers)} attackers × ${maxretry} failures over UDP, one attacker every ${intervalMs} ms, ${fmtInt(base)} bans already enforced; server on core ${cores.receiver ?? 'any'}, agent on core ${cores.sender ?? 'any'}`,
  );
  const teardown = new Teardown();
  try {
    await withTempDir('agent-latency', async (dir) => {
      if (base > 0) await filledStore(join(dir, 'store'));
      const rig = await startRig({
        dir,
        teardown,
        core: cores.receiver,
        udp: true,
        jails: { sshd: sshdJail(maxretry) },
        readyTimeoutMs: 120_000,
      });
      const agent = await startAgent(rig, teardown, {
        core: cores.sender,
        ...(detect === 'log' ? { extra: { log: { level: 'debug' } } } : {}),
      });
      const applied = await agent.waitForLine('snapshot applied', 60_000);
      console.log(
        `agent: snapshot applied ${((applied.at - agent.spawnedAt) / 1000).toFixed(2)} s after spawn`,
      );
      const monitor = detect === 'monitor' ? await NftMonitor.start(rig.ns) : null;
      if (monitor !== null) teardown.add('stop nft monitor', () => monitor.stop());

      const udp = rig.server.ready.udp;
      if (udp === undefined) throw new Error('the server opened no UDP listener');
      const socket = createSocket('udp4');
      const sentAt: number[] = [];
      const t0 = performance.now();
      for (let i = 0; i < attackers; i++) {
        // Paced on absolute times, so a late timer does not push every later attacker back.
        const due = t0 + i * intervalMs;
        const wait = due - performance.now();
        if (wait > 1) await delay(wait);
        const address = attacker(i);
        for (let k = 0; k < maxretry; k++) {
          const line = failureLine(address, k, 40_000 + k);
          if (k === maxretry - 1) sentAt.push(performance.now());
          socket.send(line, udp.port, udp.address);
        }
      }
      const sendSeconds = (performance.now() - t0) / 1000;
      let complete = true;
      const arrival = await arrivals(agent, monitor, t0).catch((e: unknown) => {
        complete = false;
        console.log(`note: ${e instanceof Error ? e.message : String(e)}`);
        return [];
      });
      socket.close();

      const latencies: number[] = [];
      let missing = 0;
      sentAt.forEach((sent, i) => {
        const seen = arrival[i];
        if (seen === undefined || Number.isNaN(seen)) missing++;
        else latencies.push(seen - sent);
      });
      const listed = await countSetElements(rig.ns);
      if (listed.v4 + listed.v6 !== base + attackers) {
        complete = false;
        console.log(
          `note: the sets hold ${fmtInt(listed.v4 + listed.v6)} elements, not ${fmtInt(base + attackers)}`,
        );
      }
      const active = await rig.server.activeBans();
      const s = summarise(latencies);
      const ms = (n: number): string => `${n.toFixed(1)} ms`;
      console.log(
        `sent ${fmtInt(attackers * maxretry)} datagrams in ${sendSeconds.toFixed(2)} s; server holds ${fmtInt(active)} active bans; nft list: ${fmtInt(listed.v4 + listed.v6)} elements (${listed.ms.toFixed(0)} ms)`,
      );
      const how = detect === 'monitor' ? 'nft monitor' : "agent's nft batch returned";
      console.log(
        `\nlast failure sent → element in the agent's nft set (${how}), ${fmtInt(s.n)} bans:`,
      );
      printTable(
        [
          'bans',
          'set before',
          'p50',
          'p90',
          'p99',
          'max',
          'mean',
          'missing',
          'target p99',
          'result',
        ],
        [
          [
            fmtInt(s.n),
            fmtInt(base),
            ms(s.p50),
            ms(s.p90),
            ms(s.p99),
            ms(s.max),
            ms(s.mean),
            fmtInt(missing),
            `≤ ${TARGET_P99_MS} ms`,
            verdict(s.n === 0 ? null : complete && missing === 0 && s.p99 <= TARGET_P99_MS),
          ],
        ],
      );
      const problems = agent.problems();
      if (problems.length > 0)
        console.log(
          `agent warnings: ${problems
            .map((p) => p.msg)
            .slice(0, 5)
            .join(' | ')}`,
        );
      console.log(
        `results: ${writeResult(`agent-latency-base${base}`, { attackers, base, detect, intervalMs, maxretry, cores, load1AtStart: machine.load1, sendSeconds, missing, listed, activeBans: active, latencyMs: s })}`,
      );
    });
  } finally {
    await teardown.run();
  }
}

await main();
