// Benchmark: the whole pipeline over a journal upload (POST /upload → parse → jails → bans) against systemd-journal-remote → journal file, same stream, same run.
// Run: npx tsc -p . && node dist/bench/pipeline-journal.bench.js [--lines 200000] [--runs 3] [--cpu-prof DIR: the server's profiles]
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { FleetbanServer } from './lib/fleetban-server.js';
import { benchCores, printMachine } from './lib/machine.js';
import { pinned, pollUntil, portBound, runOk, stopChild } from './lib/proc.js';
import { fmtInt, fmtRatio, median, printTable, verdict, writeResult } from './lib/report.js';
import { attempt, withTempDir, type Outcome } from './lib/scratch.js';
import { ensureAuthLog, ensureJournalExport } from './lib/tools.js';

const TARGET = 100_000;
const DRAIN_TIMEOUT_MS = 180_000;
const JOURNAL_REMOTE = '/lib/systemd/systemd-journal-remote';
const CONTENT_TYPE = 'application/vnd.fdo.journal';

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '200000' },
    runs: { type: 'string', default: '3' },
    'cpu-prof': { type: 'string' },
  },
});
const lines = Number(values.lines);
const runs = Number(values.runs);
const cores = benchCores();
const profileDir = values['cpu-prof'];

interface Run {
  readonly linesPerSec: number;
  readonly received: number;
  readonly seconds: number;
  /** The HTTP status the receiver answered the upload with. */
  readonly status: number;
}

/**
 * POSTs the export file to `port` as one chunked body (no Content-Length, as
 * systemd-journal-upload sends it); resolves with the status and the time the answer was read.
 */
function upload(port: number, file: string): Promise<{ status: number; body: string; at: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/upload',
        method: 'POST',
        agent: false,
        headers: { 'Content-Type': CONTENT_TYPE, 'Transfer-Encoding': 'chunked' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8').trim(),
            at: performance.now(),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    pipeline(createReadStream(file, { highWaterMark: 256 * 1024 }), req).catch(reject);
  });
}

function fleetbanRun(file: string): Promise<Run> {
  return withTempDir('journal', async (dir) => {
    const server = await FleetbanServer.start({
      dir,
      core: cores.receiver,
      journal: true,
      ...(profileDir === undefined
        ? {}
        : { nodeFlags: ['--cpu-prof', '--cpu-prof-dir', profileDir] }),
    });
    try {
      const port = server.ready.journal?.port;
      if (port === undefined) throw new Error('the ready file names no journal listener');
      const seen: { first: number | null; answer: { status: number; body: string } | null } = {
        first: null,
        answer: null,
      };
      const posted = upload(port, file).then((a) => (seen.answer = a));
      posted.catch(() => undefined);
      const end = await pollUntil(
        `fleetban to parse ${lines} entries`,
        async () => {
          if (seen.answer !== null && seen.answer.status !== 202) {
            throw new Error(`fleetban answered ${seen.answer.status}: ${seen.answer.body}`);
          }
          const n = (await server.status()).parsed;
          const t = performance.now();
          if (seen.first === null && n > 0) seen.first = t;
          return n >= lines ? { t, n } : undefined;
        },
        { intervalMs: 10, timeoutMs: DRAIN_TIMEOUT_MS },
      );
      const answer = await posted;
      if (answer.status !== 202) throw new Error(`fleetban answered ${answer.status}`);
      const seconds = (end.t - (seen.first ?? end.t)) / 1000;
      return {
        linesPerSec: seconds > 0 ? end.n / seconds : Number.NaN,
        received: end.n,
        seconds,
        status: answer.status,
      };
    } finally {
      await server.close();
    }
  });
}

/** A loopback TCP port free a moment ago (systemd-journal-remote cannot be told port 0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => {
        if (typeof addr === 'object' && addr !== null) resolve(addr.port);
        else reject(new Error('no port'));
      });
    });
  });
}

function journalRemoteRun(file: string): Promise<Run> {
  return withTempDir('journal-remote', async (dir) => {
    const port = await freePort();
    const output = join(dir, 'x.journal');
    const [cmd, args] = pinned(cores.receiver, JOURNAL_REMOTE, [
      `--listen-http=${port}`,
      // One output file, as asked for, needs split mode none (the default, host, wants a folder).
      '--split-mode=none',
      `--output=${output}`,
    ]);
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<never>((_, reject) => {
      child.once('exit', (code, signal) => {
        reject(new Error(`systemd-journal-remote exited (${code ?? signal}): ${stderr.trim()}`));
      });
      child.once('error', reject);
    });
    exited.catch(() => undefined);
    try {
      await Promise.race([
        pollUntil(
          `systemd-journal-remote to listen on ${port}`,
          async () => ((await portBound('tcp', port)) ? true : undefined),
          { intervalMs: 20, timeoutMs: 10_000 },
        ),
        exited,
      ]);
      const start = performance.now();
      const answer = await Promise.race([upload(port, file), exited]);
      if (answer.status !== 202) {
        throw new Error(`systemd-journal-remote answered ${answer.status}: ${answer.body}`);
      }
      const seconds = (answer.at - start) / 1000;
      // Stopped (its journal closed) before its entries are counted, outside the timed part; the
      // whole folder, as it rotates x.journal into x@….journal when the file's header limits are hit.
      await stopChild(child);
      const read = await runOk('journalctl', [`--directory=${dir}`, '--output=cat', '--quiet'], {
        timeoutMs: 120_000,
      });
      const written = read.stdout.split('\n').length - 1;
      if (written < lines)
        throw new Error(`systemd-journal-remote wrote ${written} of ${lines} entries`);
      return { linesPerSec: lines / seconds, received: written, seconds, status: answer.status };
    } finally {
      await stopChild(child);
    }
  });
}

async function main(): Promise<void> {
  printMachine();
  console.log(
    `pipeline-journal: ${fmtInt(lines)} entries, ${runs} runs, receiver core ${cores.receiver ?? 'any'}, uploader (this process) unpinned`,
  );
  const stream = await ensureJournalExport(await ensureAuthLog(lines));
  if (stream.entries !== lines) {
    throw new Error(`${stream.file} holds ${stream.entries} entries, not ${lines}`);
  }
  console.log(`stream: ${stream.file}, journal export format, one chunked POST /upload`);
  const fb: Outcome<Run>[] = [];
  const jr: Outcome<Run>[] = [];
  for (let r = 1; r <= runs; r++) {
    const f = await attempt(() => fleetbanRun(stream.file));
    fb.push(f);
    console.log(
      `  run ${r} fleetban:       ${'ok' in f ? `${fmtInt(f.ok.linesPerSec)} lines/s, ${fmtInt(f.ok.received)} parsed in ${f.ok.seconds.toFixed(2)} s, answered ${f.ok.status}` : `not measured: ${f.error}`}`,
    );
    const a = await attempt(() => journalRemoteRun(stream.file));
    jr.push(a);
    console.log(
      `  run ${r} journal-remote: ${'ok' in a ? `${fmtInt(a.ok.linesPerSec)} lines/s, ${fmtInt(a.ok.received)} accepted (and written) in ${a.ok.seconds.toFixed(2)} s, answered ${a.ok.status}` : `not measured: ${a.error}`}`,
    );
  }
  const ok = (o: Outcome<Run>[]): Run[] => o.flatMap((x) => ('ok' in x ? [x.ok] : []));
  const fbRate = ok(fb).length === runs ? median(ok(fb).map((x) => x.linesPerSec)) : Number.NaN;
  const jrRate = ok(jr).length === runs ? median(ok(jr).map((x) => x.linesPerSec)) : Number.NaN;
  console.log(
    `\nmedian of ${runs} runs; fleetban: lines/s from the first to the last entry parsed; journal-remote: entries / time to accept the whole body (answer included):`,
  );
  printTable(
    ['fleetban journal → jails', 'journal-remote → file', 'ratio', 'target', 'result'],
    [
      [
        Number.isNaN(fbRate) ? 'not measured' : fmtInt(fbRate),
        Number.isNaN(jrRate) ? 'not measured' : fmtInt(jrRate),
        fmtRatio(fbRate / jrRate),
        `≥ ${fmtInt(TARGET)}`,
        verdict(Number.isNaN(fbRate) ? null : fbRate >= TARGET),
      ],
    ],
  );
  console.log(`load at the end: ${(os.loadavg()[0] ?? 0).toFixed(2)}`);
  console.log(
    `results: ${writeResult('pipeline-journal', { lines, runs, cores, fleetban: fb, journalRemote: jr, medianFleetbanLinesPerSec: fbRate, medianJournalRemoteLinesPerSec: jrRate, ratio: fbRate / jrRate, target: TARGET, loadAtEnd: os.loadavg()[0] })}`,
  );
}

await main();
