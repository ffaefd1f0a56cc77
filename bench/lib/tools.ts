// Prepares the shared load tools at bench time: compiles the C senders and generates the auth logs into bench/out/.
import { createReadStream, createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';
import { outDir, toolsDir } from './paths.js';
import { runOk } from './proc.js';

export type Sender = 'udpblast' | 'tcpblast';

function isFresh(target: string, source: string): boolean {
  return existsSync(target) && statSync(target).mtimeMs >= statSync(source).mtimeMs;
}

function requireSource(name: string): string {
  const source = join(toolsDir, name);
  if (!existsSync(source)) {
    throw new Error(`${source} not found: set FLEETBAN_TOOLS_DIR to the folder of the load tools`);
  }
  return source;
}

/** Compiles udpblast.c / tcpblast.c into bench/out/ (again only when the source is newer). */
export async function ensureSender(name: Sender): Promise<string> {
  const source = requireSource(`${name}.c`);
  mkdirSync(outDir, { recursive: true });
  const binary = join(outDir, name);
  if (!isFresh(binary, source)) {
    await runOk('gcc', ['-O2', '-o', binary, source], { timeoutMs: 60_000 });
  }
  return binary;
}

/** The mixed auth log of `lines` lines (gen_authlog.py, fixed seed), generated once. */
export async function ensureAuthLog(lines: number): Promise<string> {
  const source = requireSource('gen_authlog.py');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `auth${lines}.log`);
  if (!isFresh(file, source)) {
    const tmp = `${file}.tmp`;
    await runOk('python3', [source, String(lines), tmp], { timeoutMs: 300_000 });
    await rename(tmp, file);
  }
  return file;
}

/** PRI 38 = facility auth (4), severity info (6): what sshd's lines carry on the wire. */
const PRI = '<38>';

/**
 * Turns the file-format auth log (`Oct 10 00:00:01 web01 sshd[1234]: …`) into RFC 3164 wire
 * lines (`<38>Oct 10 00:00:01 web01 sshd[1234]: …`), padded with trailing spaces to one length
 * because tcpblast frames fixed-length records. Filters end in `\s*$`, so padding changes no match.
 * Returns the file and the common length.
 */
export async function ensureWireLines(authLog: string): Promise<{ file: string; length: number }> {
  const file = authLog.replace(/\.log$/, '.wire');
  let longest = 0;
  for await (const line of createInterface({ input: createReadStream(authLog) })) {
    longest = Math.max(longest, Buffer.byteLength(line) + PRI.length);
  }
  if (!isFresh(file, authLog)) {
    const tmp = `${file}.tmp`;
    const out = createWriteStream(tmp);
    let chunk: string[] = [];
    for await (const line of createInterface({ input: createReadStream(authLog) })) {
      const wire = PRI + line;
      chunk.push(wire + ' '.repeat(longest - Buffer.byteLength(wire)));
      if (chunk.length === 10_000) {
        if (!out.write(`${chunk.join('\n')}\n`)) await once(out, 'drain');
        chunk = [];
      }
    }
    if (chunk.length > 0) out.write(`${chunk.join('\n')}\n`);
    out.end();
    await finished(out);
    await rename(tmp, file);
  }
  return { file, length: longest };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const FILE_LINE = /^(\w{3}) +(\d{1,2}) (\d\d):(\d\d):(\d\d) (\S+) ([^\s[:]+)(?:\[(\d+)\])?: (.*)$/;

/**
 * Turns the file-format auth log into journal export format (`journalctl -o export`, text fields
 * only), one entry a line: the time, host, program and pid journald would record, and the rest of
 * the line as MESSAGE, priority auth.info. Written once beside the log as AUTHLOG.export; returns
 * the file and its entry count.
 */
export async function ensureJournalExport(
  authLog: string,
): Promise<{ file: string; entries: number }> {
  const file = authLog.replace(/\.log$/, '.export');
  const year = new Date().getUTCFullYear();
  let entries = 0;
  const fresh = isFresh(file, authLog);
  const tmp = `${file}.tmp`;
  const out = fresh ? null : createWriteStream(tmp);
  let chunk: string[] = [];
  for await (const line of createInterface({ input: createReadStream(authLog) })) {
    const m = FILE_LINE.exec(line);
    if (m === null) throw new Error(`${authLog}: not a syslog file line: ${line.slice(0, 120)}`);
    entries++;
    if (out === null) continue;
    const [, mon, day, hh, mm, ss, host, app, pid, message] = m;
    const ms = Date.UTC(
      year,
      MONTHS.indexOf(mon ?? ''),
      Number(day),
      Number(hh),
      Number(mm),
      Number(ss),
    );
    chunk.push(
      `__REALTIME_TIMESTAMP=${ms * 1000 + (entries % 1000)}\n` +
        `__MONOTONIC_TIMESTAMP=${entries}\n` +
        '_BOOT_ID=0123456789abcdef0123456789abcdef\n' +
        `_HOSTNAME=${host}\n_TRANSPORT=syslog\nSYSLOG_FACILITY=4\nPRIORITY=6\n` +
        `SYSLOG_IDENTIFIER=${app}\n` +
        (pid === undefined ? '' : `_PID=${pid}\n`) +
        `MESSAGE=${message}\n\n`,
    );
    if (chunk.length === 10_000) {
      if (!out.write(chunk.join(''))) await once(out, 'drain');
      chunk = [];
    }
  }
  if (out !== null) {
    if (chunk.length > 0) out.write(chunk.join(''));
    out.end();
    await finished(out);
    await rename(tmp, file);
  }
  return { file, entries };
}
