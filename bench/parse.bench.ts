// Parser throughput on one core (messages/s), RFC 3164, RFC 5424 and relayed lines, against a one-regex parser as anchor.
// Run: npx tsc -p . && node dist/bench/parse.bench.js
import os from 'node:os';
import {
  isParseError,
  parseSyslog,
  SyslogTimeZone,
  type ParseOptions,
} from '../src/parse/syslog.js';

const LINES = 4096;
const MESSAGES = 3_000_000;
const RUNS = 3;
const start = Date.UTC(2026, 10, 25, 19, 56, 21);
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * A fleet's sshd lines: 8 messages per second, varying host, pid, user and attacker. `relayed`
 * cycles through what relays send: busybox -R (no HOSTNAME), svlogd -tt in front of socklog -R,
 * socklog's names, metalog, FreeBSD's "Forwarded from".
 */
function lines(kind: '3164' | '5424' | 'relayed'): string[] {
  const out: string[] = [];
  for (let i = 0; i < LINES; i++) {
    const d = new Date(start + Math.floor(i / 8) * 1000);
    const host = `web-${String(i % 40).padStart(2, '0')}`;
    const msg = `Failed password for invalid user admin${i % 13} from 198.51.${i % 256}.${(i * 7) % 256} port ${40000 + i} ssh2`;
    const day = String(d.getUTCDate()).padStart(2, ' ');
    const stamp = `${MONTHS[d.getUTCMonth()] ?? 'Jan'} ${day} ${d.toISOString().slice(11, 19)}`;
    if (kind === '3164') {
      out.push(`<38>${stamp} ${host} sshd[${1000 + i}]: ${msg}`);
    } else if (kind === 'relayed') {
      const svlogd = `${d.toISOString().slice(0, 19).replace('T', '_')}.00000`;
      const relayed = [
        `<38>${stamp} sshd[${1000 + i}]: ${msg}\n`,
        `${svlogd} <38>${stamp} sshd[${1000 + i}]: ${msg}\n`,
        `auth.info: ${stamp} sshd[${1000 + i}]: ${msg}\n`,
        `[sshd] ${msg}\n`,
        `<38>${stamp} Forwarded from ${host}: sshd[${1000 + i}]: ${msg}`,
      ];
      out.push(relayed[i % relayed.length] ?? '');
    } else {
      const ts = d.toISOString().replace('Z', '+00:00');
      out.push(`<38>1 ${ts} ${host} sshd ${1000 + i} - - ${msg}`);
    }
  }
  return out;
}

/** The anchor: how parsing is usually written, one regex per line with a Date per message. */
const NAIVE_3164 =
  /^<(\d{1,3})>(\w{3}) +(\d{1,2}) (\d\d):(\d\d):(\d\d) (\S+) ([^:[\s]+)(?:\[(\d+)\])?: ?(.*)$/s;
function naive3164(text: string): number {
  const m = NAIVE_3164.exec(text);
  if (m === null) return 0;
  const when = Date.parse(
    `${m[2] ?? ''} ${m[3] ?? ''} 2026 ${m[4] ?? ''}:${m[5] ?? ''}:${m[6] ?? ''} UTC`,
  );
  return when + (m[10]?.length ?? 0);
}

function measure(name: string, input: readonly string[], parse: (text: string) => number): number {
  const rates: number[] = [];
  for (let run = 0; run < RUNS + 1; run++) {
    let sink = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < MESSAGES; i++) sink += parse(input[i & (LINES - 1)] ?? '');
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (sink === 0) throw new Error(`${name}: nothing parsed`);
    if (run > 0) rates.push(MESSAGES / seconds); // run 0 warms the JIT
  }
  rates.sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)] ?? 0;
  console.log(
    `${name.padEnd(34)} ${Math.round(median).toLocaleString('en-US').padStart(12)} msg/s`,
  );
  return median;
}

const options: ParseOptions = { maxSkewMs: 86_400_000, timeZone: new SyslogTimeZone('UTC') };
const localOptions: ParseOptions = { maxSkewMs: 86_400_000, timeZone: new SyslogTimeZone() };
const berlinOptions: ParseOptions = {
  maxSkewMs: 86_400_000,
  timeZone: new SyslogTimeZone('Europe/Berlin'),
};
const receivedAt = start + 5000;
const parsed =
  (opts: ParseOptions) =>
  (text: string): number => {
    const r = parseSyslog(text, '192.0.2.1', receivedAt, opts);
    return isParseError(r) ? 0 : r.message.length;
  };

console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} cpus`);
const rfc3164 = lines('3164');
const rfc5424 = lines('5424');
const fast = measure('parseSyslog RFC 3164 (UTC zone)', rfc3164, parsed(options));
measure('parseSyslog RFC 3164 (local zone)', rfc3164, parsed(localOptions));
measure('parseSyslog RFC 3164 (Europe/Berlin)', rfc3164, parsed(berlinOptions));
measure('parseSyslog RFC 5424', rfc5424, parsed(options));
measure('parseSyslog relayed senders (mix)', lines('relayed'), parsed(options));
const anchor = measure('anchor: one regex + Date.parse, 3164', rfc3164, naive3164);
console.log(`RFC 3164 speed-up over the anchor: ${(fast / anchor).toFixed(1)}x`);
