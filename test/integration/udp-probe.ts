// Real packets for enforcement tests: a UDP receiver in one namespace counts datagrams per source address; a sender in another sends them from chosen sources.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { waitFor } from '../helpers/wait.js';

/** The receiver: binds UDP on every address of its namespace and prints each sender's address. */
const RECEIVER = `
const dgram = require('node:dgram');
const port = Number(process.argv[1]);
let bound = 0;
for (const type of ['udp4', 'udp6']) {
  const s = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
  s.on('message', (_m, r) => process.stdout.write(r.address + '\\n'));
  s.bind(port, () => { if (++bound === 2) process.stdout.write('ready\\n'); });
}`;

/** The sender: from each source to its target, `count` datagrams, one every everyMs. */
const SENDER = `
const dgram = require('node:dgram');
const { pairs, port, everyMs, count } = JSON.parse(process.argv[1]);
let open = 0;
const sockets = pairs.map(([from, to]) => {
  const s = dgram.createSocket(from.includes(':') ? 'udp6' : 'udp4');
  s.bind({ address: from }, () => { if (++open === pairs.length) start(); });
  return { s, to };
});
function start() {
  let left = count;
  const tick = () => {
    for (const { s, to } of sockets) s.send('probe', port, to);
    if (--left > 0) setTimeout(tick, everyMs);
    else setTimeout(() => { for (const { s } of sockets) s.close(); }, 50);
  };
  tick();
}`;

/** Counts the datagrams a namespace receives, per source address. */
export class UdpCounter {
  readonly received = new Map<string, number>();
  readonly #child: ChildProcess;

  private constructor(child: ChildProcess) {
    this.#child = child;
  }

  static async start(ns: string, port: number): Promise<UdpCounter> {
    const child = spawn(
      'ip',
      ['netns', 'exec', ns, process.execPath, '-e', RECEIVER, String(port)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const counter = new UdpCounter(child);
    let ready = false;
    let partial = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line === 'ready') ready = true;
        else counter.received.set(line, (counter.received.get(line) ?? 0) + 1);
      }
    });
    await waitFor(() => ready, { what: 'the UDP receiver bound', timeoutMs: 10_000 });
    return counter;
  }

  count(source: string): number {
    return this.received.get(source) ?? 0;
  }

  /** Source addresses heard from, sorted. */
  sources(): string[] {
    return [...this.received.keys()].sort();
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#child.kill('SIGKILL');
    await once(this.#child, 'exit');
  }
}

/** A sender process in `ns`; `done` resolves when it has sent its last datagram and exited. */
export function sendUdp(
  ns: string,
  pairs: readonly (readonly [from: string, to: string])[],
  options: { readonly port: number; readonly everyMs: number; readonly count: number },
): { readonly done: Promise<void> } {
  const args = JSON.stringify({ pairs, ...options });
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', SENDER, args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const done = once(child, 'exit').then(([code]) => {
    assert.equal(code, 0, `the UDP sender failed: ${stderr}`);
  });
  return { done };
}
