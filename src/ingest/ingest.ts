// The ingest stage: starts the UDP, TCP, TLS, RELP and journal-upload listeners that feed one MessageSink, and stops them.
import type { AddressInfo } from 'node:net';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { Delivery } from './deliver.js';
import { resolveLimits, type IngestOptions, type ResolvedLimits } from './options.js';
import type { SenderTable } from './senders.js';
import type { MessageSink } from './sink.js';
import { journalStream } from './journal.js';
import { relpStream } from './relp.js';
import { IngestStats } from './stats.js';
import { syslogStream } from './stream-protocol.js';
import { StreamListener } from './stream.js';
import { UdpListener, type ListenerContext } from './udp.js';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
  readonly family: string;
}

/** Where each enabled listener is bound (ports are the real ones when 0 was configured). */
export interface ListeningAddresses {
  readonly udp?: Endpoint;
  readonly tcp?: Endpoint;
  readonly tls?: Endpoint;
  readonly relp?: Endpoint;
  readonly journal?: Endpoint;
}

export interface IngestDeps {
  readonly sink: MessageSink;
  readonly senders: SenderTable;
  readonly clock: Clock;
  readonly log: Logger;
  /** Counters to add to; a fresh set when absent. */
  readonly stats?: IngestStats;
}

/**
 * Lifecycle: `start()` once, then `close()` (idempotent). Option errors throw a TypeError from
 * the constructor; bind and TLS file errors reject `start()` with a coded FleetbanError, after
 * closing whatever listeners had already started.
 */
export class Ingest {
  readonly stats: IngestStats;
  readonly limits: ResolvedLimits;
  readonly #options: IngestOptions;
  readonly #ctx: ListenerContext;
  #udp: UdpListener | null = null;
  #tcp: StreamListener | null = null;
  #tls: StreamListener | null = null;
  #relp: StreamListener | null = null;
  #journal: StreamListener | null = null;
  #closing: Promise<void> | null = null;

  constructor(options: IngestOptions, deps: IngestDeps) {
    this.#options = options;
    this.limits = resolveLimits(options);
    this.stats = deps.stats ?? new IngestStats();
    this.#ctx = {
      delivery: new Delivery(deps.sink, deps.log),
      senders: deps.senders,
      stats: this.stats,
      clock: deps.clock,
      log: deps.log,
      limits: this.limits,
    };
  }

  /** Binds every enabled listener; resolves once all are bound. */
  async start(): Promise<ListeningAddresses> {
    const o = this.#options;
    if (o.udp.enabled) this.#udp = new UdpListener(o.udp, this.#ctx);
    if (o.tcp.enabled) this.#tcp = new StreamListener('tcp', o.tcp, this.#ctx, syslogStream('tcp'));
    const tlsFiles = { options: o.tls, configKey: 'ingest.tls' };
    if (o.tls.enabled)
      this.#tls = new StreamListener('tls', o.tls, this.#ctx, syslogStream('tls'), tlsFiles);
    if (o.relp?.enabled === true) {
      const secure = o.relp.tls === true ? tlsFiles : null;
      this.#relp = new StreamListener('relp', o.relp, this.#ctx, relpStream(), secure);
    }
    if (o.journal?.enabled === true) {
      const secure = o.journal.tls === true ? tlsFiles : null;
      this.#journal = new StreamListener('journal', o.journal, this.#ctx, journalStream(), secure);
    }
    const bound = await Promise.allSettled([
      this.#udp?.listen(),
      this.#tcp?.listen(),
      this.#tls?.listen(),
      this.#relp?.listen(),
      this.#journal?.listen(),
    ]);
    const failed = bound.find((r) => r.status === 'rejected');
    if (failed !== undefined) {
      await this.close();
      throw failed.reason;
    }
    const [udp, tcp, tls, relp, journal] = bound.map((r) =>
      r.status === 'fulfilled' ? endpoint(r.value) : undefined,
    );
    const addresses = {
      ...(udp === undefined ? {} : { udp }),
      ...(tcp === undefined ? {} : { tcp }),
      ...(tls === undefined ? {} : { tls }),
      ...(relp === undefined ? {} : { relp }),
      ...(journal === undefined ? {} : { journal }),
    };
    this.#ctx.log.info({ ...addresses }, 'ingest listening');
    return addresses;
  }

  /** Stops accepting, drains and ends connections; resolves when every socket is closed. */
  close(): Promise<void> {
    this.#closing ??= Promise.all([
      this.#udp?.close(),
      this.#tcp?.close(),
      this.#tls?.close(),
      this.#relp?.close(),
      this.#journal?.close(),
    ]).then(() => undefined);
    return this.#closing;
  }

  /** Open TCP, TLS, RELP and journal-upload connections right now. */
  get connections(): {
    readonly tcp: number;
    readonly tls: number;
    readonly relp: number;
    readonly journal: number;
  } {
    return {
      tcp: this.#tcp?.connections ?? 0,
      tls: this.#tls?.connections ?? 0,
      relp: this.#relp?.connections ?? 0,
      journal: this.#journal?.connections ?? 0,
    };
  }

  /** Resolves once no stream connection is open: for shutdown and for tests. */
  async whenNoConnections(): Promise<void> {
    const streams = [this.#tcp, this.#tls, this.#relp, this.#journal].filter((s) => s !== null);
    while (streams.some((s) => s.connections > 0)) {
      await Promise.all(streams.map((s) => s.whenNoConnections()));
    }
  }
}

function endpoint(a: AddressInfo | undefined): Endpoint | undefined {
  return a === undefined ? undefined : { address: a.address, port: a.port, family: a.family };
}
