// Benchmark: the whole pipeline over RELP (rsyslog omrelp → ingest → parse → jails → bans) against rsyslogd imrelp → file, same stream, same run.
// Run: npx tsc -p . && node dist/bench/pipeline-relp.bench.js [--lines 1000000] [--runs 3]
import { parseArgs } from 'node:util';
import { FleetbanServer } from './lib/fleetban-server.js';
import { benchCores, printMachine } from './lib/machine.js';
import { pollUntil } from './lib/proc.js';
import { fmtInt, fmtRatio, median, printTable, verdict, writeResult } from './lib/report.js';
import { Rsyslog, startRelpRelay } from './lib/rsyslog.js';
import { attempt, withTempDir, type Outcome } from './lib/scratch.js';
import { tcpblast, type SenderReport } from './lib/senders.js';
import { ensureAuthLog, ensureSender, ensureWireLines } from './lib/tools.js';

const TARGET = 100_000;
const SENDER_MAX_SEC = 120;
const DRAIN_TIMEOUT_MS = 180_000;

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '3' },
  },
});
const lines = Number(values.lines);
const runs = Number(values.runs);
const cores = benchCores();

interface Run {
  readonly linesPerSec: number;
  readonly received: number;
  readonly seconds: number;
  readonly sent: number;
}

/** How far the receiver has got: a count, and whether it is final (rsyslog's file is only counted once it stops growing). */
type Progress = () => Promise<{ readonly n: number; readonly done: boolean }>;

/**
 * tcpblast feeds the relay (imtcp → omrelp) on the sender core; `progress` reports the receiver.
 * Lines/s runs from the first line received to the last.
 */
async function measure(
  dir: string,
  receiverPort: number,
  file: string,
  sender: string,
  progress: (blastDone: () => boolean) => Progress,
): Promise<Run> {
  const relay = await startRelpRelay({ dir, core: cores.sender, target: receiverPort });
  try {
    const seen: { first: number | null; report: SenderReport | null; error: Error | null } = {
      first: null,
      report: null,
      error: null,
    };
    const blast = tcpblast({
      binary: sender,
      port: relay.port,
      total: lines,
      framing: 'lf',
      file,
      maxSec: SENDER_MAX_SEC,
      core: cores.sender,
    });
    blast.then(
      (r) => (seen.report = r),
      (e: unknown) => (seen.error = e instanceof Error ? e : new Error(String(e))),
    );
    const poll = progress(() => seen.report !== null);
    const end = await pollUntil(
      `the receiver to take in ${lines} lines`,
      async () => {
        if (seen.error !== null) throw seen.error;
        const p = await poll();
        const t = performance.now();
        if (seen.first === null && p.n > 0) seen.first = t;
        return p.done ? { t, n: p.n } : undefined;
      },
      { intervalMs: 10, timeoutMs: DRAIN_TIMEOUT_MS },
    );
    const sent = (await blast).sent;
    const seconds = (end.t - (seen.first ?? end.t)) / 1000;
    return {
      linesPerSec: seconds > 0 ? end.n / seconds : Number.NaN,
      received: end.n,
      seconds,
      sent,
    };
  } finally {
    await relay.close();
  }
}

function fleetbanRun(file: string, sender: string): Promise<Run> {
  return withTempDir('relp', async (dir) => {
    const server = await FleetbanServer.start({ dir, core: cores.receiver, relp: true });
    try {
      const port = server.ready.relp?.port;
      if (port === undefined) throw new Error('the ready file names no relp listener');
      return await measure(dir, port, file, sender, () => async () => {
        const n = (await server.status()).parsed;
        return { n, done: n >= lines };
      });
    } finally {
      await server.close();
    }
  });
}

function rsyslogRun(file: string, sender: string): Promise<Run> {
  return withTempDir('rsyslog-relp', async (dir) => {
    const rs = await Rsyslog.start({ dir, core: cores.receiver, input: 'relp' });
    try {
      // rsyslog has no counter to ask: its file is done once the sender has finished and the file
      // has not grown for two seconds; the end time is its last growth, its lines counted then.
      const growth = { size: 0, at: 0, first: 0 };
      const run = await measure(dir, rs.port, file, sender, (blastDone) => async () => {
        const size = await rs.outputBytes();
        const t = performance.now();
        if (size !== growth.size) Object.assign(growth, { size, at: t });
        if (growth.first === 0 && size > 0) growth.first = t;
        return { n: size > 0 ? 1 : 0, done: blastDone() && size > 0 && t - growth.at > 2000 };
      });
      const written = await rs.outputLines();
      if (written < lines) throw new Error(`rsyslog wrote ${written} of ${lines} lines`);
      const seconds = (growth.at - growth.first) / 1000;
      return { ...run, received: written, seconds, linesPerSec: written / seconds };
    } finally {
      await rs.close();
    }
  });
}

async function main(): Promise<void> {
  printMachine();
  console.log(
    `pipeline-relp: ${fmtInt(lines)} lines, ${runs} runs, receiver core ${cores.receiver ?? 'any'}, relay and sender core ${cores.sender ?? 'any'}`,
  );
  const sender = await ensureSender('tcpblast');
  const wire = await ensureWireLines(await ensureAuthLog(lines));
  console.log(
    `stream: ${wire.file} (${wire.length} bytes a line), through rsyslogd imtcp → omrelp`,
  );
  const fb: Outcome<Run>[] = [];
  const rs: Outcome<Run>[] = [];
  for (let r = 1; r <= runs; r++) {
    const f = await attempt(() => fleetbanRun(wire.file, sender));
    fb.push(f);
    console.log(
      `  run ${r} fleetban: ${'ok' in f ? `${fmtInt(f.ok.linesPerSec)} lines/s, ${fmtInt(f.ok.received)} parsed in ${f.ok.seconds.toFixed(2)} s` : `not measured: ${f.error}`}`,
    );
    const a = await attempt(() => rsyslogRun(wire.file, sender));
    rs.push(a);
    console.log(
      `  run ${r} rsyslog:  ${'ok' in a ? `${fmtInt(a.ok.linesPerSec)} lines/s, ${fmtInt(a.ok.received)} written in ${a.ok.seconds.toFixed(2)} s` : `not measured: ${a.error}`}`,
    );
  }
  const ok = (o: Outcome<Run>[]): Run[] => o.flatMap((x) => ('ok' in x ? [x.ok] : []));
  const fbRate = ok(fb).length === runs ? median(ok(fb).map((x) => x.linesPerSec)) : Number.NaN;
  const rsRate = ok(rs).length === runs ? median(ok(rs).map((x) => x.linesPerSec)) : Number.NaN;
  console.log(`\nmedian of ${runs} runs, lines/s from the first to the last line received:`);
  printTable(
    ['fleetban relp → jails', 'rsyslog imrelp → file', 'ratio', 'target', 'result'],
    [
      [
        Number.isNaN(fbRate) ? 'not measured' : fmtInt(fbRate),
        Number.isNaN(rsRate) ? 'not measured' : fmtInt(rsRate),
        fmtRatio(fbRate / rsRate),
        `≥ ${fmtInt(TARGET)}`,
        verdict(Number.isNaN(fbRate) ? null : fbRate >= TARGET),
      ],
    ],
  );
  console.log(
    `results: ${writeResult('pipeline-relp', { lines, runs, cores, fleetban: fb, rsyslog: rs, medianFleetbanLinesPerSec: fbRate, medianRsyslogLinesPerSec: rsRate, ratio: fbRate / rsRate, target: TARGET })}`,
  );
}

await main();
