// UDP syslog listener: a receiving thread owns the socket; batches of datagrams are delivered on the main thread.
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { Clock } from '../core/clock.js';
import { ErrorCode, FleetbanError, describeError } from '../core/errors.js';
import { formatCidr } from '../core/ip.js';
import type { Logger } from '../core/logger.js';
import type { Delivery } from './deliver.js';
import { formatEndpoint, type ResolvedLimits, type UdpListenerOptions } from './options.js';
import type { SenderRecord, SenderTable } from './senders.js';
import type { IngestStats } from './stats.js';
import {
  KIND_BITS,
  KIND_MASK,
  RecordKind,
  SHARED_SLOTS,
  SharedSlot,
  type Batch,
  type FromReceiver,
  type ReceiverSetup,
  type ToReceiver,
  type UdpReader,
} from './udp-protocol.js';

/** What every listener shares: where messages go and what gets counted. */
export interface ListenerContext {
  readonly delivery: Delivery;
  readonly senders: SenderTable;
  readonly stats: IngestStats;
  readonly clock: Clock;
  readonly log: Logger;
  readonly limits: ResolvedLimits;
}

const RECEIVER = new URL('./udp-receiver.js', import.meta.url);
/**
 * Datagrams received and not yet delivered, at most: about 1.3 s at 200,000/s, some 50 MB of
 * short lines. Beyond it the thread drops and counts instead of queueing without bound.
 */
const MAX_BACKLOG = 1 << 18;
/** A thread that dies again within this time after starting is restarted after a growing pause. */
const STABLE_AFTER_MS = 10_000;
const MAX_RESTART_DELAY_MS = 5000;
/** How long close() waits for the thread to hand over its last batch before ending it. */
const CLOSE_TIMEOUT_MS = 5000;
const BACKLOG_WARN_EVERY_MS = 10_000;

/** Settings tests change. */
export interface UdpListenerTuning {
  /** Default MAX_BACKLOG. */
  readonly maxBacklog?: number;
  /** Default `recvmmsg` (falling back to `dgram` when the addon is not built). */
  readonly reader?: UdpReader;
}

/**
 * Lifecycle: `listen()` once, then `close()` (idempotent). A receiving thread that dies is
 * reported and replaced on the same address and port; ingest keeps running meanwhile (datagrams
 * sent while no thread is bound are lost, as on any restart of a UDP receiver).
 */
export class UdpListener {
  readonly #options: UdpListenerOptions;
  readonly #ctx: ListenerContext;
  #thread: Worker | null = null;
  /** The current thread's shared slots (see SharedSlot). */
  #shared: Int32Array | null = null;
  #reader: UdpReader | null = null;
  #bound: AddressInfo | null = null;
  #startedAt = 0;
  #quickDeaths = 0;
  #restartTimer: NodeJS.Timeout | null = null;
  #closing: Promise<void> | null = null;
  #lastBacklogWarn = -Infinity;

  readonly #maxBacklog: number;
  readonly #wantedReader: UdpReader;

  constructor(options: UdpListenerOptions, ctx: ListenerContext, tuning: UdpListenerTuning = {}) {
    this.#options = options;
    this.#ctx = ctx;
    this.#maxBacklog = tuning.maxBacklog ?? MAX_BACKLOG;
    this.#wantedReader = tuning.reader ?? 'recvmmsg';
  }

  /** Binds; resolves with the bound address, rejects with LISTEN_FAILED. */
  async listen(): Promise<AddressInfo> {
    const bound = await this.#spawn(this.#options.port);
    this.#bound = bound;
    return bound;
  }

  /** The receiving thread's id, or null while none runs: for health checks and tests. */
  get threadId(): number | null {
    return this.#thread?.threadId ?? null;
  }

  /** How the current thread reads its socket, or null while none is bound. */
  get reader(): UdpReader | null {
    return this.#reader;
  }

  /** Datagrams the thread has read and handed over that are not delivered yet. */
  get pending(): number {
    return this.#shared === null ? 0 : Atomics.load(this.#shared, SharedSlot.backlog);
  }

  /**
   * Ends the receiving thread abruptly, as a crash would; the listener reports it and starts a
   * new one. For tests of that recovery.
   */
  async killThread(): Promise<void> {
    await this.#thread?.terminate();
  }

  /** Stops receiving; resolves once every datagram the thread had read is delivered. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#stop();
    return this.#closing;
  }

  async #stop(): Promise<void> {
    if (this.#restartTimer !== null) clearTimeout(this.#restartTimer);
    const thread = this.#thread;
    if (thread === null) return;
    const exited = new Promise((resolve) => thread.once('exit', resolve));
    if (this.#shared !== null) {
      Atomics.store(this.#shared, SharedSlot.stop, 1);
      Atomics.notify(this.#shared, SharedSlot.stop);
    }
    thread.postMessage({ type: 'close' } satisfies ToReceiver);
    const timer = setTimeout(() => void thread.terminate(), CLOSE_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  /** Starts a receiving thread bound to `port`; resolves once it is bound. */
  #spawn(port: number): Promise<AddressInfo> {
    const { address } = this.#options;
    const { limits } = this.#ctx;
    const shared = new Int32Array(new SharedArrayBuffer(4 * SHARED_SLOTS));
    const setup: ReceiverSetup = {
      reader: this.#wantedReader,
      address,
      port,
      recvBufferSize: limits.recvBufferSize,
      maxMessageSize: limits.maxMessageSize,
      allowedSenders: limits.allowedSenders.entries().map(formatCidr),
      shared: shared.buffer,
      maxBacklog: this.#maxBacklog,
    };
    const thread = new Worker(RECEIVER, { workerData: setup });
    this.#thread = thread;
    this.#shared = shared;
    this.#reader = null;
    const failed = (message: string, cause: unknown): FleetbanError =>
      new FleetbanError(
        ErrorCode.LISTEN_FAILED,
        `cannot listen on udp ${formatEndpoint(address, port)}: ${message}`,
        { cause },
      );
    return new Promise((resolve, reject) => {
      let ready = false;
      thread.on('message', (m: FromReceiver) => {
        switch (m.type) {
          case 'batch':
            this.#deliver(m, shared);
            break;
          case 'ready':
            ready = true;
            this.#startedAt = Date.now();
            this.#reader = m.reader;
            this.#onBound(m);
            resolve({ address: m.address, port: m.port, family: m.family });
            break;
          case 'bind-failed':
            reject(failed(m.message, new Error(m.message)));
            break;
          case 'socket-error':
            this.#ctx.stats.udp.socketErrors += m.count;
            this.#ctx.log.warn(
              { err: m.message, count: m.count, transport: 'udp' },
              'udp socket error',
            );
            break;
          case 'closed':
            break;
        }
      });
      thread.on('error', (e) => {
        if (!ready) reject(failed(describeError(e), e));
        else this.#ctx.log.error({ err: e, transport: 'udp' }, 'udp receiving thread failed');
      });
      thread.on('exit', (code) => {
        if (!ready) reject(failed(`receiving thread exited (${code}) before binding`, null));
        if (this.#thread === thread) {
          this.#thread = null;
          if (ready && this.#closing === null) this.#onCrash(code);
        }
      });
    });
  }

  #onBound(bound: Extract<FromReceiver, { type: 'ready' }>): void {
    const { limits, log, stats } = this.#ctx;
    const obtained = bound.recvBufferSize;
    const endpoint = formatEndpoint(bound.address, bound.port);
    stats.udpSockets[endpoint] = { recvBufferSize: obtained, reader: bound.reader };
    if (bound.fallbackReason !== undefined) {
      log.warn(
        { transport: 'udp', endpoint, reason: bound.fallbackReason },
        `udp ${endpoint} read with Node's dgram, which keeps up with about a third of the ` +
          `datagram rate: ${bound.fallbackReason}; build the addon with npm run build ` +
          `(needs g++, make and python3)`,
      );
    }
    if (obtained < limits.recvBufferSize) {
      log.warn(
        { requested: limits.recvBufferSize, obtained, transport: 'udp' },
        `udp receive buffer capped by the kernel at ${obtained} bytes ` +
          `(requested ${limits.recvBufferSize}); bursts may be lost: ` +
          `raise net.core.rmem_max to at least ${limits.recvBufferSize}`,
      );
    }
  }

  /** The thread died while serving: report it and start another on the same port. */
  #onCrash(code: number): void {
    const { stats, log } = this.#ctx;
    stats.udpReceiver.restarts++;
    this.#quickDeaths = Date.now() - this.#startedAt < STABLE_AFTER_MS ? this.#quickDeaths + 1 : 0;
    const delayMs = Math.min(MAX_RESTART_DELAY_MS, this.#quickDeaths * this.#quickDeaths * 100);
    log.error(
      { code, transport: 'udp', restartInMs: delayMs },
      'udp receiving thread exited unexpectedly; starting a new one',
    );
    this.#scheduleRestart(delayMs);
  }

  #scheduleRestart(delayMs: number): void {
    const port = this.#bound?.port ?? this.#options.port;
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = null;
      if (this.#closing !== null) return;
      this.#spawn(port).then(
        () => {
          this.#ctx.log.info({ transport: 'udp', port }, 'udp receiving thread restarted');
        },
        (e: unknown) => {
          if (this.#closing !== null) return;
          this.#ctx.log.error(
            { err: e, transport: 'udp' },
            `udp receiving thread could not restart: ${describeError(e)}`,
          );
          this.#quickDeaths++;
          this.#scheduleRestart(MAX_RESTART_DELAY_MS);
        },
      );
    }, delayMs);
    this.#restartTimer.unref();
  }

  #deliver(batch: Batch, shared: Int32Array): void {
    const { senders, stats, clock, delivery } = this.#ctx;
    const counters = stats.udp;
    const now = clock.now();
    // One touch per peer per batch: the batch arrived at one instant.
    const records: SenderRecord[] = batch.senders.map((a) => senders.touch(a, now));
    const bytes = Buffer.from(batch.bytes);
    const meta = batch.meta;
    const n = meta.length >>> 1;
    let start = 0;
    for (let i = 0; i < n; i++) {
      const word = meta[2 * i] ?? 0;
      const end = meta[2 * i + 1] ?? start;
      const sender = records[word >>> KIND_BITS];
      if (sender !== undefined) {
        switch (word & KIND_MASK) {
          case RecordKind.message:
            if (end > start) delivery.deliver(bytes, start, end, sender, counters, 'udp', now);
            break;
          case RecordKind.notAllowed:
            sender.dropped++;
            counters.droppedNotAllowed++;
            break;
          case RecordKind.oversized:
            sender.oversized++;
            counters.oversized++;
            break;
        }
      }
      start = end;
    }
    Atomics.sub(shared, SharedSlot.backlog, n);
    if (batch.backlogDropped > 0) this.#onBacklogDropped(batch.backlogDropped, now);
  }

  #onBacklogDropped(n: number, now: number): void {
    const total = (this.#ctx.stats.udpReceiver.backlogDropped += n);
    if (now - this.#lastBacklogWarn < BACKLOG_WARN_EVERY_MS) return;
    this.#lastBacklogWarn = now;
    this.#ctx.log.warn(
      { dropped: total, maxBacklog: this.#maxBacklog, transport: 'udp' },
      `udp datagrams dropped: the jails fall behind the receiving thread by more than ${this.#maxBacklog} messages`,
    );
  }
}
