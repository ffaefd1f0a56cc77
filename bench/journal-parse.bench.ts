// The journal upload's CPU path on one core, stage by stage (export parser, entry → fields, fields → event), against writing each entry as an RFC 5424 line and parsing it back.
// Run: npx tsc -p . && node dist/bench/journal-parse.bench.js [--lines 200000] [--runs 5]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { JOURNAL_FIELDS, journalMessage, MESSAGE } from '../src/ingest/journal-entry.js';
import { JournalExportParser, type JournalEntry } from '../src/ingest/journal-export.js';
import { fieldEvent } from '../src/parse/fields.js';
import {
  isParseError,
  parseSyslog,
  SyslogTimeZone,
  type ParseOptions,
} from '../src/parse/syslog.js';
import { printMachine } from './lib/machine.js';
import { fmtInt, fmtRatio, median, printTable } from './lib/report.js';
import { ensureAuthLog, ensureJournalExport } from './lib/tools.js';

/** As the listener reads a body: the size of the chunks a loopback socket delivers. */
const CHUNK = 64 * 1024;
const PEER = '192.0.2.10';

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '200000' },
    runs: { type: 'string', default: '5' },
  },
});
const lines = Number(values.lines);
const runs = Number(values.runs);
const options: ParseOptions = { maxSkewMs: 86_400_000, timeZone: new SyslogTimeZone('UTC') };

/** Entries read from `body` per CPU second, each handed to `use`; the first run warms the JIT. */
function rate(body: Buffer, use: (e: JournalEntry) => number): number {
  const rates: number[] = [];
  for (let run = 0; run <= runs; run++) {
    let entries = 0;
    let sink = 0;
    const p = new JournalExportParser(
      { maxFieldSize: 8192, keep: JOURNAL_FIELDS },
      {
        entry: (e) => {
          entries++;
          sink += use(e);
        },
        oversized: (f) => {
          throw new Error(`oversized ${f}`);
        },
        failed: (r) => {
          throw new Error(r);
        },
      },
    );
    // CPU time, not wall time: the machine is shared, and waiting for a core is not parsing.
    const t0 = process.cpuUsage();
    for (let i = 0; i < body.length; i += CHUNK) p.push(body.subarray(i, i + CHUNK));
    p.end();
    const used = process.cpuUsage(t0);
    const seconds = (used.user + used.system) / 1e6;
    if (entries !== lines || sink === 0) throw new Error(`${entries} entries, sink ${sink}`);
    if (run > 0) rates.push(entries / seconds);
  }
  return median(rates);
}

/** The line the listener wrote of an entry before it built events directly, with its header checks. */
function renderLine(e: JournalEntry): string | null {
  const m = journalMessage(e);
  if (m === null) return null;
  const time = Number.isNaN(m.ownTime) ? '-' : new Date(m.ownTime).toISOString();
  const nil = (s: string): string => (s === '' ? '-' : s);
  const head = `<${m.facility * 8 + m.severity}>1 ${time} ${nil(m.hostname)} ${nil(m.program)} ${nil(m.pid)} - - `;
  const buf = e.buffers[MESSAGE];
  if (buf === undefined) return null;
  return Buffer.concat([
    Buffer.from(head, 'latin1'),
    buf.subarray(e.starts[MESSAGE], e.ends[MESSAGE]),
  ]).toString('utf8');
}

async function main(): Promise<void> {
  printMachine();
  const stream = await ensureJournalExport(await ensureAuthLog(lines));
  const body = readFileSync(stream.file);
  console.log(
    `journal-parse: ${fmtInt(stream.entries)} entries (${fmtInt(body.length)} bytes) in ${CHUNK / 1024} KiB chunks, median of ${runs} runs, one core, per CPU second`,
  );
  const parser = rate(body, () => 1);
  const fields = rate(body, (e) => journalMessage(e)?.message.length ?? 0);
  const event = rate(body, (e) => {
    const m = journalMessage(e);
    return m === null ? 0 : fieldEvent(m, PEER, 1_700_000_000_000, options).message.length;
  });
  const line = rate(body, (e) => {
    const text = renderLine(e);
    if (text === null) return 0;
    const r = parseSyslog(text, PEER, 1_700_000_000_000, options);
    return isParseError(r) ? 0 : r.message.length;
  });
  printTable(
    ['path', 'entries per CPU s', 'CPU µs per entry', 'vs line path'],
    [
      ['export parser alone', parser, line],
      ['+ entry → fields', fields, line],
      ['+ fields → event (the listener)', event, line],
      ['line path: + RFC 5424 line, parsed', line, line],
    ].map(([name, r, anchor]) => [
      String(name),
      fmtInt(Number(r)),
      (1e6 / Number(r)).toFixed(2),
      fmtRatio(Number(r) / Number(anchor)),
    ]),
  );
}

await main();
