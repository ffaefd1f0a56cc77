// Benchmark: UDP syslog at a fixed rate into fleetban and into rsyslogd imudp, same stream, same run: received/sent and loss.
// Run as root (it raises net.core.rmem_max to 32 MiB for the run and restores it):
//   npx tsc -p . && node dist/bench/pipeline-udp.bench.js [--rate 200000] [--seconds 10] [--runs 3] [--receiver one|spread]
// --receiver one: both receivers pinned to the core the sender does not use (one core each, in turn);
// --receiver spread (default): the sender keeps its core, the receivers may use every core, as on
// a real box. fleetban counts what reached the jails (parsed lines), not what the socket read.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { FleetbanServer } from './lib/fleetban-server.js';
import { benchCores, cpuSeconds, printMachine, readSysctl } from './lib/machine.js';
import { runOk } from './lib/proc.js';
import { fmtInt, median, medianRun, printTable, verdict, writeResult } from './lib/report.js';
import { Rsyslog } from './lib/rsyslog.js';
import { attempt, reason, withTempDir, type Outcome } from './lib/scratch.js';
import { udpblast, type SenderReport } from './lib/senders.js';
import { ensureAuthLog, ensureSender, ensureWireLines } from './lib/tools.js';

const BUFFER = 32 * 1024 * 1024;
/** rsyslog loses nothing at 200 k/s with a 32 MiB buffer; fleetban passes under 0.1 %. */
const MAX_LOSS_PCT = 0.1;

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '200000' },
    seconds: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    receiver: { type: 'string', default: 'spread' },
    // A folder: the server (every thread) writes CPU profiles there.
    'cpu-prof': { type: 'string' },
  },
});
if (values.receiver !== 'one' && values.receiver !== 'spread')
  throw new Error(`--receiver must be one or spread, got ${values.receiver}`);
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const runs = Number(values.runs);
const count = rate * seconds;
const pinnedCores = benchCores();
const cores = {
  sender: pinnedCores.sender,
  receiver: values.receiver === 'one' ? pinnedCores.receiver : null,
};

interface UdpRun {
  readonly sent: number;
  /** fleetban: lines parsed and handed to the jails; rsyslog: lines written to its file. */
  readonly received: number;
  /** fleetban: datagrams the socket delivered to ingest (before parsing). */
  readonly ingested?: number;
  /** fleetban: datagrams dropped because the jails fell behind its receiving thread. */
  readonly backlogDropped?: number;
  readonly lossPct: number;
  readonly sendRate: number;
  /** Receiver CPU time (all threads) per delivered line, µs: robust when the box is busy. */
  readonly cpuUsPerLine: number;
  /** Received over the sender's duration: what the receiver kept up with. */
  readonly receivedPerSec: number;
  readonly bufferCapped?: boolean;
}

/** Resolves once `read` has returned the same value for `quietMs` (the receiver has drained). */
async function settle(
  read: () => Promise<number>,
  quietMs: number,
  timeoutMs: number,
): Promise<number> {
  let last = await read();
  let since = performance.now();
  const deadline = since + timeoutMs;
  while (performance.now() < deadline) {
    await delay(50);
    const now = await read();
    if (now !== last) {
      last = now;
      since = performance.now();
    } else if (performance.now() - since >= quietMs) {
      break;
    }
  }
  return last;
}

function blast(binary: string, port: number, file: string): Promise<SenderReport> {
  return udpblast({ binary, port, count, rate, file, maxSec: seconds + 5, core: cores.sender });
}

const loss = (sent: number, received: number): number =>
  sent > 0 ? (100 * (sent - received)) / sent : Number.NaN;

async function fleetbanRun(binary: string, file: string): Promise<UdpRun> {
  return withTempDir('udp', async (dir) => {
    const server = await FleetbanServer.start({
      dir,
      core: cores.receiver,
      udp: true,
      recvBufferSize: BUFFER,
      ...(values['cpu-prof'] === undefined
        ? {}
        : { nodeFlags: ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof']] }),
    }).catch(async (e: unknown) => {
      // The scratch folder goes with the run: say why the server did not start while it is there.
      const log = await readFile(join(dir, 'server.log'), 'utf8').catch(() => '');
      throw new Error(`${reason(e)}: ${log.trim().split('\n').slice(-3).join(' | ')}`);
    });
    try {
      const port = server.ready.udp?.port;
      if (port === undefined) throw new Error('the ready file names no udp listener');
      const cpu0 = cpuSeconds(server.pid);
      const sender = await blast(binary, port, file);
      // Every line of the wire file is valid syslog: what was sent must reach the jails.
      const received = await settle(async () => (await server.status()).parsed, 500, 30_000);
      const status = await server.status();
      const cpu = (cpuSeconds(server.pid) ?? Number.NaN) - (cpu0 ?? Number.NaN);
      const log = await readFile(server.logFile, 'utf8').catch(() => '');
      return {
        sent: sender.sent,
        received,
        ingested: status.messages,
        backlogDropped: status.backlogDropped,
        lossPct: loss(sender.sent, received),
        sendRate: sender.sendRate ?? Number.NaN,
        cpuUsPerLine: (1e6 * cpu) / received,
        receivedPerSec: received / sender.elapsed,
        bufferCapped: log.includes('rmem_max'),
      };
    } finally {
      await server.close();
    }
  });
}

async function rsyslogRun(binary: string, file: string): Promise<UdpRun> {
  return withTempDir('rsyslog-udp', async (dir) => {
    const rs = await Rsyslog.start({ dir, core: cores.receiver, input: 'udp', rcvBufSize: BUFFER });
    try {
      const cpu0 = cpuSeconds(rs.child.pid);
      const sender = await blast(binary, rs.port, file);
      await settle(() => rs.outputBytes(), 1000, 30_000);
      const cpu = (cpuSeconds(rs.child.pid) ?? Number.NaN) - (cpu0 ?? Number.NaN);
      const received = await rs.outputLines();
      return {
        sent: sender.sent,
        received,
        lossPct: loss(sender.sent, received),
        sendRate: sender.sendRate ?? Number.NaN,
        cpuUsPerLine: (1e6 * cpu) / received,
        receivedPerSec: received / sender.elapsed,
      };
    } finally {
      await rs.close();
    }
  });
}

function describe(o: Outcome<UdpRun>): string {
  if ('error' in o) return `not measured: ${o.error}`;
  const r = o.ok;
  const capped = r.bufferCapped === true ? ' (receive buffer capped!)' : '';
  const ingested =
    r.ingested === undefined
      ? ''
      : ` (socket ${fmtInt(r.ingested)}, backlog drops ${fmtInt(r.backlogDropped ?? 0)})`;
  return `${fmtInt(r.received)} / ${fmtInt(r.sent)} delivered${ingested}, loss ${r.lossPct.toFixed(3)} %, kept up with ${fmtInt(r.receivedPerSec)}/s, CPU ${r.cpuUsPerLine.toFixed(2)} µs/line, sender ${fmtInt(r.sendRate)}/s${capped}`;
}

async function main(): Promise<void> {
  printMachine();
  if (process.getuid?.() !== 0)
    throw new Error('pipeline-udp must run as root: it sets net.core.rmem_max for the run');
  const binary = await ensureSender('udpblast');
  // udpblast cycles through the first 65,536 lines of its file.
  const wire = await ensureWireLines(await ensureAuthLog(200_000));
  const saved = readSysctl('net.core.rmem_max');
  if (saved === null) throw new Error('cannot read net.core.rmem_max');
  // Interrupted runs must not leave the machine with a raised rmem_max.
  const onInterrupt = (): void => {
    void runOk('sysctl', ['-w', `net.core.rmem_max=${saved}`], { timeoutMs: 10_000 }).finally(() =>
      process.exit(130),
    );
  };
  process.once('SIGINT', onInterrupt);
  await runOk('sysctl', ['-w', `net.core.rmem_max=${BUFFER}`], { timeoutMs: 10_000 });
  console.log(
    `pipeline-udp: ${fmtInt(rate)} datagrams/s for ${seconds} s (${fmtInt(count)}), ${runs} runs, receivers ${values.receiver === 'one' ? `pinned to core ${pinnedCores.receiver ?? 'any'}` : 'on every core'}, sender on core ${cores.sender ?? 'any'}, buffer ${BUFFER} (rmem_max ${saved} → ${BUFFER} for the run)`,
  );
  const fb: Outcome<UdpRun>[] = [];
  const rs: Outcome<UdpRun>[] = [];
  try {
    for (let r = 1; r <= runs; r++) {
      const f = await attempt(() => fleetbanRun(binary, wire.file));
      fb.push(f);
      console.log(`  run ${r} fleetban: ${describe(f)}`);
      const a = await attempt(() => rsyslogRun(binary, wire.file));
      rs.push(a);
      console.log(`  run ${r} rsyslog:  ${describe(a)}`);
    }
  } finally {
    await runOk('sysctl', ['-w', `net.core.rmem_max=${saved}`], { timeoutMs: 10_000 });
    console.log(`net.core.rmem_max restored to ${readSysctl('net.core.rmem_max') ?? '?'}`);
  }
  const okOf = (xs: Outcome<UdpRun>[]): UdpRun[] => xs.flatMap((o) => ('ok' in o ? [o.ok] : []));
  const fbOk = okOf(fb);
  const rsOk = okOf(rs);
  const fbLoss = fbOk.length === runs ? median(fbOk.map((x) => x.lossPct)) : Number.NaN;
  const rsLoss = rsOk.length === runs ? median(rsOk.map((x) => x.lossPct)) : Number.NaN;
  const fbMid = medianRun(fbOk, (x) => x.lossPct);
  const rsMid = medianRun(rsOk, (x) => x.lossPct);
  const cell = (m: UdpRun | undefined): string =>
    m === undefined
      ? 'not measured'
      : `${fmtInt(m.received)} / ${fmtInt(m.sent)} (${fmtInt(m.receivedPerSec)}/s)`;
  const pct = (n: number): string => (Number.isNaN(n) ? 'not measured' : `${n.toFixed(3)} %`);
  const cpuOf = (xs: UdpRun[]): string =>
    xs.length === 0 ? 'not measured' : median(xs.map((x) => x.cpuUsPerLine)).toFixed(2);
  console.log(`\nmedian of ${runs} runs:`);
  printTable(
    ['receiver', 'delivered / sent (per s)', 'loss', 'CPU µs/line', 'target', 'result'],
    [
      [
        'fleetban → jails',
        cell(fbMid),
        pct(fbLoss),
        cpuOf(fbOk),
        `≤ ${MAX_LOSS_PCT} %`,
        verdict(Number.isNaN(fbLoss) ? null : fbLoss <= MAX_LOSS_PCT),
      ],
      ['rsyslog imudp→file', cell(rsMid), pct(rsLoss), cpuOf(rsOk), 'anchor', ''],
    ],
  );
  console.log(
    `results: ${writeResult('pipeline-udp', { rate, seconds, runs, receiver: values.receiver, buffer: BUFFER, cores, fleetban: fb, rsyslog: rs, medianLossPct: { fleetban: fbLoss, rsyslog: rsLoss } })}`,
  );
  process.removeListener('SIGINT', onInterrupt);
}

await main();
