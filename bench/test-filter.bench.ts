// Benchmark: `fleetban test-filter sshd` against `fail2ban-regex` with Debian's sshd filter on the same 200,000-line auth log.
// Run: npx tsc -p . && node dist/bench/test-filter.bench.js [--lines 200000] [--runs 3]
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchCores, printMachine } from './lib/machine.js';
import { fleetbanBin } from './lib/paths.js';
import { runOk } from './lib/proc.js';
import {
  fmtInt,
  fmtRatio,
  median,
  medianRun,
  printTable,
  verdict,
  writeResult,
} from './lib/report.js';
import { attempt, withTempDir, type Outcome } from './lib/scratch.js';
import { ensureAuthLog } from './lib/tools.js';

const TARGET_RATIO = 20;
const FAIL2BAN_FILTER = '/etc/fail2ban/filter.d/sshd.conf';
const GNU_TIME = '/usr/bin/time';

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '200000' },
    runs: { type: 'string', default: '3' },
  },
});
const lines = Number(values.lines);
const runs = Number(values.runs);
const core = benchCores().receiver;

interface FilterRun {
  readonly lines: number;
  readonly matched: number;
  readonly wallSec: number;
  /** Lines over the whole process life: start-up, reading, matching, printing. */
  readonly linesPerSec: number;
  /** The tool's own figure for its matching loop, when it prints one. */
  readonly selfReportedSec: number | null;
  readonly peakRssMB: number | null;
}

/** Runs the command under GNU time (for peak RSS) when it is installed. */
async function timed(dir: string, cmd: string, args: readonly string[]) {
  const rssFile = join(dir, 'rss');
  const withTime = existsSync(GNU_TIME);
  const r = withTime
    ? await runOk(GNU_TIME, ['-f', '%M', '-o', rssFile, cmd, ...args], { timeoutMs: 600_000, core })
    : await runOk(cmd, args, { timeoutMs: 600_000, core });
  const kib = withTime
    ? Number((await readFile(rssFile, 'utf8')).trim().split('\n').pop())
    : Number.NaN;
  return { ...r, peakRssMB: Number.isFinite(kib) ? Math.round(kib / 1024) : null };
}

function fleetbanRun(log: string): Promise<FilterRun> {
  return withTempDir('test-filter', async (dir) => {
    const r = await timed(dir, process.execPath, [
      fleetbanBin,
      'test-filter',
      'sshd',
      log,
      '--json',
    ]);
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    const n = Number(doc['lines']);
    const internal = Number(doc['elapsedMs']);
    return {
      lines: n,
      matched: Number(doc['matched']),
      wallSec: r.wallMs / 1000,
      linesPerSec: n / (r.wallMs / 1000),
      selfReportedSec: Number.isFinite(internal) ? internal / 1000 : null,
      peakRssMB: r.peakRssMB,
    };
  });
}

function fail2banRun(log: string): Promise<FilterRun> {
  return withTempDir('fail2ban-regex', async (dir) => {
    const r = await timed(dir, 'fail2ban-regex', [log, FAIL2BAN_FILTER]);
    // "Lines: 200000 lines, 0 ignored, 60132 matched, 139868 missed"
    const m = /^Lines: (\d+) lines, (\d+) ignored, (\d+) matched, (\d+) missed/m.exec(r.stdout);
    if (m === null)
      throw new Error(`no "Lines:" summary in fail2ban-regex output: ${r.stdout.slice(-400)}`);
    const took = /\[processed in ([\d.]+) sec\]/.exec(r.stdout);
    const n = Number(m[1]);
    return {
      lines: n,
      matched: Number(m[3]),
      wallSec: r.wallMs / 1000,
      linesPerSec: n / (r.wallMs / 1000),
      selfReportedSec: took?.[1] === undefined ? null : Number(took[1]),
      peakRssMB: r.peakRssMB,
    };
  });
}

function describe(o: Outcome<FilterRun>): string {
  if ('error' in o) return `not measured: ${o.error}`;
  const r = o.ok;
  const self =
    r.selfReportedSec === null ? '' : `, own timing ${fmtInt(r.lines / r.selfReportedSec)} lines/s`;
  return `${fmtInt(r.linesPerSec)} lines/s (${r.wallSec.toFixed(2)} s wall${self}), ${fmtInt(r.matched)} of ${fmtInt(r.lines)} matched, peak RSS ${r.peakRssMB ?? '?'} MB`;
}

async function main(): Promise<void> {
  printMachine();
  const log = await ensureAuthLog(lines);
  console.log(
    `test-filter: ${log}, ${runs} runs, pinned to core ${core ?? 'any'}; fail2ban filter ${FAIL2BAN_FILTER}`,
  );
  const fb: Outcome<FilterRun>[] = [];
  const f2b: Outcome<FilterRun>[] = [];
  for (let r = 1; r <= runs; r++) {
    const a = await attempt(() => fleetbanRun(log));
    fb.push(a);
    console.log(`  run ${r} fleetban test-filter: ${describe(a)}`);
    const b = await attempt(() => fail2banRun(log));
    f2b.push(b);
    console.log(`  run ${r} fail2ban-regex:       ${describe(b)}`);
  }
  const okOf = (xs: Outcome<FilterRun>[]): FilterRun[] =>
    xs.flatMap((o) => ('ok' in o ? [o.ok] : []));
  const fbRate = okOf(fb).length === runs ? median(okOf(fb).map((x) => x.linesPerSec)) : Number.NaN;
  const f2bRate =
    okOf(f2b).length === runs ? median(okOf(f2b).map((x) => x.linesPerSec)) : Number.NaN;
  const ratio = fbRate / f2bRate;
  const ownRate = (xs: FilterRun[]): number =>
    xs.length === runs && xs.every((x) => x.selfReportedSec !== null)
      ? median(xs.map((x) => x.lines / (x.selfReportedSec ?? Number.NaN)))
      : Number.NaN;
  const fbOwn = ownRate(okOf(fb));
  const f2bOwn = ownRate(okOf(f2b));
  const fbMid = medianRun(okOf(fb), (x) => x.linesPerSec);
  const f2bMid = medianRun(okOf(f2b), (x) => x.linesPerSec);
  const rate = (n: number): string => (Number.isNaN(n) ? 'not measured' : fmtInt(n));
  console.log(`\nmedian of ${runs} runs, wall-clock lines/s (process start to exit):`);
  printTable(
    [
      'tool',
      'lines/s (wall)',
      'lines/s (own timing)',
      'matched',
      'peak RSS MB',
      'ratio wall / own',
      'target',
      'result',
    ],
    [
      [
        'fleetban test-filter',
        rate(fbRate),
        rate(fbOwn),
        fbMid === undefined ? 'n/a' : fmtInt(fbMid.matched),
        String(fbMid?.peakRssMB ?? 'n/a'),
        `${fmtRatio(ratio)} / ${fmtRatio(fbOwn / f2bOwn)}`,
        `≥ ${TARGET_RATIO}× (wall)`,
        verdict(Number.isNaN(ratio) ? null : ratio >= TARGET_RATIO),
      ],
      [
        'fail2ban-regex',
        rate(f2bRate),
        rate(f2bOwn),
        f2bMid === undefined ? 'n/a' : fmtInt(f2bMid.matched),
        String(f2bMid?.peakRssMB ?? 'n/a'),
        'anchor',
        '',
        '',
      ],
    ],
  );
  if (fbMid !== undefined && f2bMid !== undefined && fbMid.matched !== f2bMid.matched) {
    console.log(
      `note: matched counts differ (fleetban ${fbMid.matched}, fail2ban-regex ${f2bMid.matched})`,
    );
  }
  console.log(
    `results: ${writeResult('test-filter', { lines, runs, core, fleetban: fb, fail2ban: f2b, medianLinesPerSec: { fleetban: fbRate, fail2ban: f2bRate }, ratio, ownTiming: { fleetban: fbOwn, fail2ban: f2bOwn, ratio: fbOwn / f2bOwn } })}`,
  );
}

await main();
