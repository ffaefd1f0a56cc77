// Benchmark: the access-log filters (http-4xx, http-badpaths) through `fleetban test-filter` on a 200,000-line nginx log sent over syslog, against fail2ban-regex with its nginx-botsearch filter on the same lines.
// Run: npx tsc -p . && node dist/bench/access-log.bench.js [--lines 200000] [--runs 3]
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchCores, printMachine } from './lib/machine.js';
import { fleetbanBin } from './lib/paths.js';
import { runOk } from './lib/proc.js';
import { fmtInt, fmtRatio, median, printTable, writeResult } from './lib/report.js';
import { attempt, withTempDir, type Outcome } from './lib/scratch.js';

const FAIL2BAN_FILTER = '/etc/fail2ban/filter.d/nginx-botsearch.conf';

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '200000' },
    runs: { type: 'string', default: '3' },
  },
});
const lines = Number(values.lines);
const runs = Number(values.runs);
const core = benchCores().receiver;

const UA = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'curl/8.5.0',
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
];
const BAD = ['/.env', '/.git/config', '/phpmyadmin/index.php', '/wp-login.php', '/cgi-bin/luci'];

/**
 * nginx "combined" lines, a fifth from IPv6 clients: 88 % answered 200, 5 % 404, 2 % 403, 1 % 401,
 * 3 % bad-path probes answered 404, 1 % 304. `raw` without the syslog header (for fail2ban-regex,
 * which reads files), else as the server receives them after `access_log syslog:`.
 */
function accessLog(n: number): { syslog: string; raw: string } {
  let seed = 12345;
  const rnd = (k: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return Math.floor(((seed >>> 8) / 0x1000000) * k);
  };
  const syslog: string[] = [];
  const raw: string[] = [];
  for (let i = 0; i < n; i++) {
    const ip =
      rnd(5) === 0
        ? `2001:db8:${rnd(65536).toString(16)}::${rnd(65536).toString(16)}`
        : `198.51.${rnd(256)}.${rnd(256)}`;
    const x = rnd(100);
    let path = `/blog/${rnd(5000)}/article-${rnd(100000)}?ref=home&page=${rnd(9)}`;
    let status = x < 5 ? 404 : x < 7 ? 403 : x < 8 ? 401 : x < 9 ? 304 : 200;
    if (x >= 9 && x < 12) {
      path = BAD[rnd(BAD.length)] ?? '/.env';
      status = 404;
    }
    const sec = String(i % 60).padStart(2, '0');
    const line = `${ip} - - [02/Dec/2026:17:00:${sec} +0000] "GET ${path} HTTP/1.1" ${status} ${rnd(50000)} "https://www.example.org/blog/" "${UA[rnd(UA.length)] ?? '-'}"`;
    raw.push(line);
    syslog.push(`Dec  2 17:00:${sec} web-01 nginx: ${line}`);
  }
  return { syslog: `${syslog.join('\n')}\n`, raw: `${raw.join('\n')}\n` };
}

interface FilterRun {
  readonly matched: number;
  readonly linesPerSec: number;
  /** Microseconds per line in the tool's own matching loop. */
  readonly usPerLine: number;
}

async function fleetbanRun(log: string, filter: string, mode: string): Promise<FilterRun> {
  const args = [fleetbanBin, 'test-filter', filter, log, '--json'];
  if (mode !== '') args.push('--mode', mode);
  const r = await runOk(process.execPath, args, { timeoutMs: 600_000, core });
  const doc = JSON.parse(r.stdout) as Record<string, unknown>;
  const n = Number(doc['lines']);
  return {
    matched: Number(doc['matched']),
    linesPerSec: n / (r.wallMs / 1000),
    usPerLine: (Number(doc['elapsedMs']) * 1000) / n,
  };
}

async function fail2banRun(log: string): Promise<FilterRun> {
  const r = await runOk('fail2ban-regex', [log, FAIL2BAN_FILTER], { timeoutMs: 600_000, core });
  const m = /^Lines: (\d+) lines, \d+ ignored, (\d+) matched/m.exec(r.stdout);
  const took = /\[processed in ([\d.]+) sec\]/.exec(r.stdout);
  if (m === null) throw new Error(`no "Lines:" summary: ${r.stdout.slice(-400)}`);
  const n = Number(m[1]);
  return {
    matched: Number(m[2]),
    linesPerSec: n / (r.wallMs / 1000),
    usPerLine: took?.[1] === undefined ? Number.NaN : (Number(took[1]) * 1e6) / n,
  };
}

async function main(): Promise<void> {
  printMachine();
  await withTempDir('access-log', async (dir) => {
    const { syslog, raw } = accessLog(lines);
    const syslogFile = join(dir, 'access-syslog.log');
    const rawFile = join(dir, 'access.log');
    await writeFile(syslogFile, syslog);
    await writeFile(rawFile, raw);
    console.log(`${fmtInt(lines)} nginx combined lines, ${runs} runs, core ${core ?? 'any'}`);
    const cases: [string, string, string][] = [
      ['http-4xx', 'denied', syslogFile],
      ['http-4xx', 'notfound', syslogFile],
      ['http-badpaths', 'normal', syslogFile],
      ['http-badpaths', 'wordpress', syslogFile],
      ['nginx-botsearch', '', syslogFile],
    ];
    const rows: string[][] = [];
    const results: Record<string, Outcome<FilterRun>[]> = {};
    const summarise = (name: string, outs: Outcome<FilterRun>[]): FilterRun | null => {
      results[name] = outs;
      const ok = outs.flatMap((o) => ('ok' in o ? [o.ok] : []));
      if (ok.length !== outs.length) return null;
      return {
        matched: ok[0]?.matched ?? 0,
        linesPerSec: median(ok.map((x) => x.linesPerSec)),
        usPerLine: median(ok.map((x) => x.usPerLine)),
      };
    };
    const f2bOuts: Outcome<FilterRun>[] = [];
    for (let i = 0; i < runs; i++) f2bOuts.push(await attempt(() => fail2banRun(rawFile)));
    const anchor = summarise('fail2ban-regex nginx-botsearch', f2bOuts);
    for (const [filter, mode, file] of cases) {
      const outs: Outcome<FilterRun>[] = [];
      for (let i = 0; i < runs; i++)
        outs.push(await attempt(() => fleetbanRun(file, filter, mode)));
      const name = mode === '' ? filter : `${filter}[mode=${mode}]`;
      const s = summarise(name, outs);
      rows.push(
        s === null
          ? [name, 'not measured', '', '', '']
          : [
              name,
              fmtInt(s.matched),
              fmtInt(s.linesPerSec),
              s.usPerLine.toFixed(2),
              anchor === null ? 'n/a' : fmtRatio(anchor.usPerLine / s.usPerLine),
            ],
      );
    }
    rows.push(
      anchor === null
        ? ['fail2ban-regex nginx-botsearch', 'not measured', '', '', '']
        : [
            'fail2ban-regex nginx-botsearch (raw lines)',
            fmtInt(anchor.matched),
            fmtInt(anchor.linesPerSec),
            anchor.usPerLine.toFixed(2),
            'anchor',
          ],
    );
    console.log(`\nmedian of ${runs} runs:`);
    printTable(
      ['filter', 'matched', 'lines/s (wall)', 'µs/line (own timing)', 'vs fail2ban (own)'],
      rows,
    );
    console.log(`results: ${writeResult('access-log', { lines, runs, core, results })}`);
  });
}

await main();
