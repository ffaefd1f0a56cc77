// Shared fixtures for the ingest integration tests: a sink that can be awaited, a log recorder, real clients.
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../src/core/clock.js';
import type { LogFn, Logger } from '../../src/core/logger.js';
import type { FieldMessage } from '../../src/core/types.js';
import { Ingest, type ListeningAddresses } from '../../src/ingest/ingest.js';
import type { IngestOptions } from '../../src/ingest/options.js';
import { SenderTable } from '../../src/ingest/senders.js';
import type { MessageSink } from '../../src/ingest/sink.js';

export interface Received {
  /** The syslog text, or the message of one that arrived as fields. */
  readonly text: string;
  readonly sender: string;
  readonly receivedAt: number;
  /** Present when the message arrived as fields (a journal entry). */
  readonly fields?: FieldMessage;
}

/** Records messages; `waitFor(n)` resolves once n have arrived, so tests never sleep. */
export class RecordingSink implements MessageSink {
  readonly messages: Received[] = [];
  #waiters: { n: number; resolve: () => void }[] = [];
  #textWaiters: { text: string; resolve: () => void }[] = [];

  accept(text: string, sender: { address: string }, receivedAt: number): void {
    this.#record({ text, sender: sender.address, receivedAt });
  }

  acceptFields(fields: FieldMessage, sender: { address: string }, receivedAt: number): void {
    this.#record({ text: fields.message, sender: sender.address, receivedAt, fields });
  }

  #record(received: Received): void {
    const text = received.text;
    this.messages.push(received);
    this.#waiters = this.#waiters.filter((w) => {
      if (this.messages.length < w.n) return true;
      w.resolve();
      return false;
    });
    this.#textWaiters = this.#textWaiters.filter((w) => {
      if (w.text !== text) return true;
      w.resolve();
      return false;
    });
  }

  waitFor(n: number): Promise<void> {
    if (this.messages.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  /** Resolves once a message with exactly this text has arrived. */
  waitForText(text: string): Promise<void> {
    if (this.messages.some((m) => m.text === text)) return Promise.resolve();
    return new Promise((resolve) => {
      this.#textWaiters.push({ text, resolve });
    });
  }

  texts(): string[] {
    return this.messages.map((m) => m.text);
  }
}

export interface LogEntry {
  readonly level: string;
  readonly obj: object;
  readonly msg: string;
}

export function recordingLogger(entries: LogEntry[] = []): Logger & { entries: LogEntry[] } {
  const at =
    (level: string): LogFn =>
    (a: object | string, b?: string) => {
      entries.push(
        typeof a === 'string' ? { level, obj: {}, msg: a } : { level, obj: a, msg: b ?? '' },
      );
    };
  const log: Logger & { entries: LogEntry[] } = {
    entries,
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    child: () => log,
  };
  return log;
}

const off = { enabled: false, address: '127.0.0.1', port: 0 } as const;

/** Options with every listener disabled; tests switch on what they need. */
export function options(overrides: Partial<IngestOptions>): IngestOptions {
  return { udp: off, tcp: off, tls: off, ...overrides };
}

export interface Running {
  readonly ingest: Ingest;
  readonly sink: RecordingSink;
  readonly senders: SenderTable;
  readonly log: Logger & { entries: LogEntry[] };
  readonly at: ListeningAddresses;
}

export async function startIngest(o: IngestOptions): Promise<Running> {
  const sink = new RecordingSink();
  const senders = new SenderTable();
  const log = recordingLogger();
  const ingest = new Ingest(o, { sink, senders, clock: systemClock, log });
  const at = await ingest.start();
  return { ingest, sink, senders, log, at };
}

export function portOf(e: { port: number } | undefined): number {
  if (e === undefined) throw new Error('listener not started');
  return e.port;
}

/** Sends one datagram from a fresh socket of the family of `host`; resolves once sent. */
export function sendUdp(host: string, port: number, payload: Buffer | string): Promise<void> {
  const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  return new Promise((resolve, reject) => {
    socket.send(payload, port, host, (err) => {
      socket.close();
      if (err === null) resolve();
      else reject(err);
    });
  });
}

export function connectTcp(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port }, () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Resolves when the socket is closed, whichever side closed it; errors (resets) are expected. */
export function closed(socket: net.Socket): Promise<void> {
  socket.on('error', () => undefined);
  if (socket.closed) return Promise.resolve();
  return new Promise((resolve) => {
    socket.once('close', () => {
      resolve();
    });
  });
}

export function write(socket: net.Socket, data: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.write(data, (err) => {
      if (err == null) resolve();
      else reject(err);
    });
  });
}

/** An octet-counted frame as rsyslog sends it: LEN SP MSG LF, the LF counted. */
export function octet(msg: string): string {
  return `${Buffer.byteLength(msg) + 1} ${msg}\n`;
}

/** Deterministic "random" bytes (xorshift32), so a failure can be replayed. */
export function pseudoRandomBytes(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 255;
  }
  return out;
}

export async function tempDir(): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'fleetban-ingest-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A self-signed P-256 certificate made with openssl; returns the cert and key paths. */
export function selfSigned(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
    ].concat(['-subj', `/CN=${name}`, '-keyout', key, '-out', cert]),
    { stdio: 'ignore' },
  );
  return { cert, key };
}
