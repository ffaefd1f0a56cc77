// Jail engine throughput when every failure comes from a new attacker (a botnet), below and at maxTrackedAttackers, against known attackers as anchor.
// Run: npx tsc -p . && node dist/bench/distinct-attackers.bench.js [--lines 1000000] [--cap 200000] [--runs 1] [--ipv6] [--only known|below|at]
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { parseArgs } from 'node:util';
import { ManualClock } from '../src/core/clock.js';
import { CidrSet, parseCidr, type Cidr } from '../src/core/ip.js';
import type { SyslogEvent } from '../src/core/types.js';
import { parseJailFile } from '../src/config/jail-options.js';
import { JailEngine } from '../src/jails/engine.js';
import { printMachine } from './lib/machine.js';
import { fmtInt, fmtRatio, median, printTable, verdict, writeResult } from './lib/report.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '1000000' },
    cap: { type: 'string', default: '200000' },
    known: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '1' },
    ipv6: { type: 'boolean', default: false },
    // One scenario alone (known, below, at), e.g. under `node --cpu-prof`.
    only: { type: 'string', default: '' },
  },
});
const lines = Number(values.lines);
const cap = Number(values.cap);
const knownAttackers = Number(values.known);
const runs = Number(values.runs);
const ipv6 = values.ipv6;
const only = values.only;

const T0 = Date.UTC(2026, 0, 1);
const HOSTS = Array.from({ length: 40 }, (_, i) => `web${String(i).padStart(2, '0')}`);
/** Attacker ranges: the timed ones, and the ones that fill the cap before the clock starts. */
const TIMED = 0x0b000000; // 11.0.0.0/8
const FILL = 0x0c000000; // 12.0.0.0/8

/** Attacker n of a range: an IPv4 address, or (--ipv6) one address in its own /64. */
function address(base: number, n: number): string {
  if (ipv6) {
    const v = base + n;
    return `2001:db8:${(v >>> 16).toString(16)}:${(v & 0xffff).toString(16)}::${(n % 200) + 1}`;
  }
  const v = (base + n) >>> 0;
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

function event(ip: string, i: number): SyslogEvent {
  return {
    format: 'rfc3164',
    facility: 4,
    severity: 6,
    time: T0 + i,
    receivedAt: T0 + i,
    hostname: HOSTS[i % HOSTS.length] ?? 'web00',
    peer: '10.0.0.1',
    program: 'sshd',
    pid: '4242',
    message: `Failed password for root from ${ip} port ${40000 + (i & 0x3fff)} ssh2`,
  };
}

function engine(maxTrackedAttackers: number, sshd: Record<string, unknown>): JailEngine {
  const ignore = ['127.0.0.0/8', '::1'].map((t) => parseCidr(t) as Cidr);
  // As in the server: a ban lookup per failure (nothing is banned here).
  const banned = new Map<string, number>();
  return new JailEngine({
    jails: parseJailFile('jails.d/bench.json', { sshd }),
    ignore: new CidrSet(ignore),
    maxTrackedAttackers,
    clock: new ManualClock(T0),
    isBanned: (target) => banned.has(target),
    onBan: () => undefined,
  });
}

interface Run {
  readonly linesPerSec: number;
  /** Lines per second of CPU used by the process (all its threads, GC included): steadier than wall time on a shared box. */
  readonly linesPerCpuSec: number;
  readonly tracked: number;
  readonly evictions: number;
  /** Heap growth per tracked attacker after a full GC, bytes (null when not meaningful). */
  readonly bytesPerAttacker: number | null;
}

/** Feeds `lines` failures, attacker `pick(i)` each, and times it. */
function timed(e: JailEngine, pick: (i: number) => string, heapBefore: number | null): Run {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < lines; i++) e.process(event(pick(i), i));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const totals = e.totals();
  let bytesPerAttacker: number | null = null;
  if (heapBefore !== null) {
    gc();
    bytesPerAttacker = (process.memoryUsage().heapUsed - heapBefore) / totals.trackedAttackers;
  }
  return {
    linesPerSec: lines / seconds,
    linesPerCpuSec: lines / cpuSeconds,
    tracked: totals.trackedAttackers,
    evictions: totals.evictions,
    bytesPerAttacker,
  };
}

function heapNow(): number {
  gc();
  return process.memoryUsage().heapUsed;
}

/** Known attackers: each fails once a second, findtime 5 s keeps about 5 failures per window. */
function known(): Run {
  const e = engine(cap, { maxretry: 1_000_000, findtime: '5s' });
  for (let i = 0; i < knownAttackers; i++) e.process(event(address(TIMED, i), i));
  return timed(e, (i) => address(TIMED, i % knownAttackers), null);
}

/** A new attacker per line, the cap never reached: every line creates a window. */
function belowCap(): Run {
  const e = engine(lines + 1, {});
  const before = heapNow();
  return timed(e, (i) => address(TIMED, i), before);
}

/** A new attacker per line with the cap already full: every line evicts the oldest window. */
function atCap(): Run {
  const e = engine(cap, {});
  const before = heapNow();
  for (let i = 0; i < cap; i++) e.process(event(address(FILL, i), i));
  const filled = (heapNow() - before) / cap;
  const run = timed(e, (i) => address(TIMED, i), null);
  return { ...run, bytesPerAttacker: filled };
}

printMachine();
console.log(
  `${fmtInt(lines)} failures per scenario, ${ipv6 ? 'IPv6 (one /64 each)' : 'IPv4'}, cap ${fmtInt(cap)}, ${runs} run(s)\n`,
);
const results: Record<'known' | 'belowCap' | 'atCap', Run[]> = {
  known: [],
  belowCap: [],
  atCap: [],
};
for (let r = 0; r < runs; r++) {
  // One of each per round, so that load from elsewhere on the box hits all three alike.
  if (only === '' || only === 'known') results.known.push(known());
  gc();
  if (only === '' || only === 'below') results.belowCap.push(belowCap());
  gc();
  if (only === '' || only === 'at') results.atCap.push(atCap());
  gc();
}

const rate = (rs: readonly Run[]): number => median(rs.map((x) => x.linesPerSec));
const cpuRate = (rs: readonly Run[]): number => median(rs.map((x) => x.linesPerCpuSec));
const knownRate = rate(results.known);
const belowRate = rate(results.belowCap);
const atRate = rate(results.atCap);
const row = (name: string, rs: readonly Run[]): string[] => {
  const last = rs[rs.length - 1];
  const bytes = median(rs.map((x) => x.bytesPerAttacker ?? Number.NaN));
  return [
    name,
    fmtInt(rate(rs)),
    rs.map((x) => fmtInt(x.linesPerSec)).join(' / '),
    fmtInt(cpuRate(rs)),
    fmtInt(last?.tracked ?? 0),
    fmtInt(last?.evictions ?? 0),
    Number.isFinite(bytes) ? fmtInt(bytes) : '-',
  ];
};
printTable(
  ['scenario', 'lines/s', 'runs', 'lines/CPU-s', 'tracked', 'evictions', 'bytes/attacker'],
  [
    row(`known attackers (${fmtInt(knownAttackers)}, anchor)`, results.known),
    row('new attacker per line, below cap', results.belowCap),
    row('new attacker per line, at cap', results.atCap),
  ],
);
const atVsBelow = atRate / belowRate;
const atVsBelowCpu = cpuRate(results.atCap) / cpuRate(results.belowCap);
console.log(
  `\nat cap / below cap: ${fmtRatio(atVsBelow)} wall, ${fmtRatio(atVsBelowCpu)} CPU (target ≥ 0.50×: ${verdict(atVsBelow >= 0.5 && atVsBelowCpu >= 0.5)})`,
);
console.log(`known / new attacker (below cap): ${fmtRatio(knownRate / belowRate)}`);
const file = writeResult(`distinct-attackers${ipv6 ? '-ipv6' : ''}`, {
  lines,
  cap,
  knownAttackers,
  ipv6,
  results,
  linesPerSec: { known: knownRate, belowCap: belowRate, atCap: atRate },
  linesPerCpuSec: {
    known: cpuRate(results.known),
    belowCap: cpuRate(results.belowCap),
    atCap: cpuRate(results.atCap),
  },
});
console.log(`results: ${file}`);
