// Starts the C load senders (tcpblast, udpblast) pinned to their core and parses the JSON line they print.
import { run } from './proc.js';

export interface SenderReport {
  readonly sent: number;
  readonly elapsed: number;
  readonly timedOut: boolean;
  readonly sendRate?: number;
}

function parseReport(name: string, stdout: string, stderr: string): SenderReport {
  const line = stdout.trim().split('\n').pop() ?? '';
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new Error(`${name} printed no report: ${stderr.trim().slice(0, 500)}`);
  }
  const n = (k: string): number => (typeof doc[k] === 'number' ? doc[k] : Number.NaN);
  return {
    sent: n('sent'),
    elapsed: n('elapsed'),
    timedOut: doc['timed_out'] === true,
    ...(typeof doc['send_rate'] === 'number' ? { sendRate: doc['send_rate'] } : {}),
  };
}

export interface TcpBlast {
  readonly binary: string;
  readonly port: number;
  readonly total: number;
  readonly framing: 'lf' | 'octet';
  readonly file: string;
  readonly maxSec: number;
  readonly core: number | null;
  readonly connections?: number;
}

export async function tcpblast(o: TcpBlast): Promise<SenderReport> {
  const args = [
    '-H',
    '127.0.0.1',
    '-p',
    String(o.port),
    '-n',
    String(o.total),
    '-c',
    String(o.connections ?? 1),
  ];
  args.push('-m', o.framing, '-t', String(o.maxSec), '-f', o.file);
  const r = await run(o.binary, args, { timeoutMs: (o.maxSec + 30) * 1000, core: o.core });
  return parseReport('tcpblast', r.stdout, r.stderr);
}

export interface UdpBlast {
  readonly binary: string;
  readonly port: number;
  readonly count: number;
  readonly rate: number;
  readonly file: string;
  readonly maxSec: number;
  readonly core: number | null;
}

export async function udpblast(o: UdpBlast): Promise<SenderReport> {
  const args = [
    '-H',
    '127.0.0.1',
    '-p',
    String(o.port),
    '-n',
    String(o.count),
    '-r',
    String(o.rate),
  ];
  args.push('-t', String(o.maxSec), '-f', o.file);
  const r = await run(o.binary, args, { timeoutMs: (o.maxSec + 30) * 1000, core: o.core });
  return parseReport('udpblast', r.stdout, r.stderr);
}
