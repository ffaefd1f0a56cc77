// Benchmark: the whole pipeline over TCP (ingest → parse → jails → bans) against rsyslogd imtcp → file, same stream, same run.
// Run: npx tsc -p . && node dist/bench/pipeline-tcp.bench.js [--lines 1000000] [--runs 3] [--framing both|lf|octet] [--dashboard]
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { FleetbanServer, type StatusView } from './lib/fleetban-server.js';
import { benchCores, printMachine } from './lib/machine.js';
import { pollUntil } from './lib/proc.js';
import {
  fmtInt,
  fmtRatio,
  median,
  medianRun,
  printTable,
  verdict,
  writeResult,
} from './lib/report.js';
import { Rsyslog } from './lib/rsyslog.js';
import { attempt, withTempDir, type Outcome } from './lib/scratch.js';
import { watchDashboard, type Watcher } from './lib/dashboard-watcher.js';
import { tcpblast, type SenderReport } from './lib/senders.js';
import { ensureAuthLog, ensureSender, ensureWireLines } from './lib/tools.js';

const TARGET = 500_000;
const DASHBOARD_TOKEN = 'bench-dashboard-token-0123456789abcdef';
const SENDER_MAX_SEC = 60;
const DRAIN_TIMEOUT_MS = 120_000;

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '3' },
    framing: { type: 'string', default: 'both' },
    'poll-ms': { type: 'string', default: '25' },
    // Also run fleetban with an open Bans page following the live events (target: within 5 %).
    dashboard: { type: 'boolean', default: false },
  },
});
const lines = Number(values.lines);
const runs = Number(values.runs);
const framings = (values.framing === 'both' ? ['lf', 'octet'] : [values.framing]) as (
  'lf' | 'octet'
)[];
const cores = benchCores();
/** How often the status is asked for: each answer costs the server a little, each gap blurs the end time. */
const pollMs = Number(values['poll-ms']);

interface FleetbanRun {
  readonly linesPerSec: number;
  readonly processed: number;
  readonly seconds: number;
  readonly sent: number;
  readonly activeBans: number;
  readonly sshd: StatusView['jails'][number] | null;
  /** With an open dashboard: the events it got and the bans pages it fetched. */
  readonly dashboard?: { readonly events: number; readonly pages: number };
}

interface RsyslogRun {
  readonly linesPerSec: number;
  readonly written: number;
  readonly seconds: number;
  readonly sent: number;
}

/** Waits until the active ban count has stopped moving (bans are written after the lines are counted). */
async function settledStatus(server: FleetbanServer): Promise<StatusView> {
  let last = await server.status();
  let still = 0;
  const deadline = performance.now() + 15_000;
  while (still < 3 && performance.now() < deadline) {
    await delay(100);
    const now = await server.status();
    still = now.activeBans === last.activeBans && now.messages === last.messages ? still + 1 : 0;
    last = now;
  }
  return last;
}

async function fleetbanRun(
  file: string,
  framing: 'lf' | 'octet',
  sender: string,
  withDashboard = false,
): Promise<FleetbanRun> {
  return withTempDir('tcp', async (dir) => {
    const server = await FleetbanServer.start({
      dir,
      core: cores.receiver,
      tcp: true,
      ...(withDashboard ? { dashboardToken: DASHBOARD_TOKEN } : {}),
    });
    let watcher: Watcher | null = null;
    try {
      if (withDashboard) {
        const url = server.ready.dashboard?.url;
        if (url === undefined) throw new Error('the ready file names no dashboard');
        watcher = await watchDashboard(url, DASHBOARD_TOKEN);
      }
      const port = server.ready.tcp?.port;
      if (port === undefined) throw new Error('the ready file names no tcp listener');
      // Written from inside the polling closure, so held in one object rather than narrowed locals.
      const seen: {
        first: { t: number; messages: number } | null;
        report: SenderReport | null;
        error: Error | null;
      } = { first: null, report: null, error: null };
      const blast = tcpblast({
        binary: sender,
        port,
        total: lines,
        framing,
        file,
        maxSec: SENDER_MAX_SEC,
        core: cores.sender,
      });
      blast.then(
        (r) => {
          seen.report = r;
        },
        (e: unknown) => {
          seen.error = e instanceof Error ? e : new Error(String(e));
        },
      );
      // From the first message counted to the last: the sender's own start-up (reading its file) is not the server's time.
      const end = await pollUntil(
        `fleetban to count ${lines} messages`,
        async () => {
          if (seen.error !== null) throw seen.error;
          const s = await server.status();
          const t = performance.now();
          if (seen.first === null && s.messages > 0) seen.first = { t, messages: s.messages };
          if (s.messages >= lines) return { t, s };
          const r = seen.report;
          if (r !== null && r.sent < lines)
            throw new Error(`tcpblast sent only ${r.sent} of ${lines}`);
          return undefined;
        },
        { intervalMs: pollMs, timeoutMs: DRAIN_TIMEOUT_MS },
      );
      const sent = (await blast).sent;
      const start = seen.first ?? {
        t: end.t,
        messages: end.s.messages,
      };
      const seconds = (end.t - start.t) / 1000;
      const settled = await settledStatus(server);
      return {
        linesPerSec: seconds > 0 ? (end.s.messages - start.messages) / seconds : Number.NaN,
        processed: settled.messages,
        seconds,
        sent,
        activeBans: settled.activeBans,
        sshd: settled.jails.find((j) => j.name === 'sshd') ?? null,
        ...(watcher !== null ? { dashboard: { ...watcher.counts } } : {}),
      };
    } finally {
      await watcher?.stop();
      await server.close();
    }
  });
}

async function rsyslogRun(
  file: string,
  framing: 'lf' | 'octet',
  sender: string,
): Promise<RsyslogRun> {
  return withTempDir('rsyslog-tcp', async (dir) => {
    const rs = await Rsyslog.start({ dir, core: cores.receiver, input: 'tcp' });
    try {
      const blast = tcpblast({
        binary: sender,
        port: rs.port,
        total: lines,
        framing,
        file,
        maxSec: SENDER_MAX_SEC,
        core: cores.sender,
      });
      let done = false;
      void blast.finally(() => (done = true)).catch(() => undefined);
      // rsyslog has no counter to ask: watch its output file grow, and call it done once the
      // sender has finished and the file has not grown for a second.
      const seen: { firstT: number | null; lastT: number; lastSize: number } = {
        firstT: null,
        lastT: 0,
        lastSize: 0,
      };
      await pollUntil(
        'rsyslogd to finish writing',
        async () => {
          const size = await rs.outputBytes();
          const t = performance.now();
          if (size !== seen.lastSize) {
            seen.firstT ??= t;
            seen.lastSize = size;
            seen.lastT = t;
          }
          return done && seen.firstT !== null && t - seen.lastT > 1000 ? true : undefined;
        },
        { intervalMs: 10, timeoutMs: DRAIN_TIMEOUT_MS },
      );
      const sent = (await blast).sent;
      const written = await rs.outputLines();
      const seconds = (seen.lastT - (seen.firstT ?? seen.lastT)) / 1000;
      return { linesPerSec: seconds > 0 ? written / seconds : Number.NaN, written, seconds, sent };
    } finally {
      await rs.close();
    }
  });
}

async function main(): Promise<void> {
  printMachine();
  console.log(
    `pipeline-tcp: ${fmtInt(lines)} lines, ${runs} runs, receiver core ${cores.receiver ?? 'any'}, sender core ${cores.sender ?? 'any'}`,
  );
  const sender = await ensureSender('tcpblast');
  const wire = await ensureWireLines(await ensureAuthLog(lines));
  console.log(`stream: ${wire.file} (${wire.length} bytes a line before framing)`);

  const results: Record<string, unknown> = {};
  const rows: string[][] = [];
  const dashboardRows: string[][] = [];
  for (const framing of framings) {
    const fb: Outcome<FleetbanRun>[] = [];
    const fd: Outcome<FleetbanRun>[] = [];
    const rs: Outcome<RsyslogRun>[] = [];
    for (let r = 1; r <= runs; r++) {
      const f = await attempt(() => fleetbanRun(wire.file, framing, sender));
      fb.push(f);
      console.log(
        `  ${framing} run ${r} fleetban: ${'ok' in f ? `${fmtInt(f.ok.linesPerSec)} lines/s, ${fmtInt(f.ok.processed)} processed in ${f.ok.seconds.toFixed(2)} s, ${f.ok.activeBans} bans, sshd matched ${f.ok.sshd?.matched ?? '?'}` : `not measured: ${f.error}`}`,
      );
      if (values.dashboard) {
        const d = await attempt(() => fleetbanRun(wire.file, framing, sender, true));
        fd.push(d);
        console.log(
          `  ${framing} run ${r} fleetban + open dashboard: ${'ok' in d ? `${fmtInt(d.ok.linesPerSec)} lines/s, ${d.ok.activeBans} bans, ${d.ok.dashboard?.events ?? 0} events, ${d.ok.dashboard?.pages ?? 0} bans pages fetched` : `not measured: ${d.error}`}`,
        );
      }
      const a = await attempt(() => rsyslogRun(wire.file, framing, sender));
      rs.push(a);
      console.log(
        `  ${framing} run ${r} rsyslog:  ${'ok' in a ? `${fmtInt(a.ok.linesPerSec)} lines/s, ${fmtInt(a.ok.written)} written in ${a.ok.seconds.toFixed(2)} s` : `not measured: ${a.error}`}`,
      );
    }
    const fbOk = fb.flatMap((o) => ('ok' in o ? [o.ok] : []));
    const rsOk = rs.flatMap((o) => ('ok' in o ? [o.ok] : []));
    const fbRate = fbOk.length === runs ? median(fbOk.map((x) => x.linesPerSec)) : Number.NaN;
    const rsRate = rsOk.length === runs ? median(rsOk.map((x) => x.linesPerSec)) : Number.NaN;
    const mid = medianRun(fbOk, (x) => x.linesPerSec);
    if (values.dashboard) {
      const fdOk = fd.flatMap((o) => ('ok' in o ? [o.ok] : []));
      const fdRate = fdOk.length === runs ? median(fdOk.map((x) => x.linesPerSec)) : Number.NaN;
      dashboardRows.push([
        framing,
        Number.isNaN(fbRate) ? 'not measured' : fmtInt(fbRate),
        Number.isNaN(fdRate) ? 'not measured' : fmtInt(fdRate),
        fmtRatio(fdRate / fbRate),
        '≥ 0.95×',
        verdict(Number.isNaN(fdRate / fbRate) ? null : fdRate / fbRate >= 0.95),
      ]);
      results[`${framing}-dashboard`] = {
        fleetban: fd,
        medianLinesPerSec: fdRate,
        ratioToWithout: fdRate / fbRate,
      };
    }
    results[framing] = {
      fleetban: fb,
      rsyslog: rs,
      medianFleetbanLinesPerSec: fbRate,
      medianRsyslogLinesPerSec: rsRate,
      ratio: fbRate / rsRate,
      target: TARGET,
    };
    rows.push([
      framing,
      Number.isNaN(fbRate) ? 'not measured' : fmtInt(fbRate),
      Number.isNaN(rsRate) ? 'not measured' : fmtInt(rsRate),
      fmtRatio(fbRate / rsRate),
      mid === undefined ? 'n/a' : String(mid.activeBans),
      `≥ ${fmtInt(TARGET)}`,
      verdict(Number.isNaN(fbRate) ? null : fbRate >= TARGET),
    ]);
  }
  console.log(`\nmedian of ${runs} runs, lines/s from the first to the last line processed:`);
  printTable(
    ['framing', 'fleetban', 'rsyslog imtcp→file', 'ratio', 'bans', 'target', 'result'],
    rows,
  );
  if (values.dashboard) {
    console.log('\nwith one open dashboard (Bans page following the live events):');
    printTable(
      ['framing', 'without', 'with dashboard', 'ratio', 'target', 'result'],
      dashboardRows,
    );
  }
  console.log(`results: ${writeResult('pipeline-tcp', { lines, runs, cores, results })}`);
}

await main();
