// Stream listener for TCP, TLS (RFC 5425) and RELP: allowlist and connection slots at connect, deadlines, then the protocol's reader.
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { listenOrFail } from '../core/listen.js';
import { formatEndpoint, type ListenerOptions, type TlsListenerOptions } from './options.js';
import { RefusalLog } from './refusal-log.js';
import { ConnectionSlots, type Slot } from './slots.js';
import type { StreamProtocol, StreamReader } from './stream-protocol.js';
import { createTlsServer } from './tls-server.js';
import type { ListenerContext } from './udp.js';

export type StreamTransport = 'tcp' | 'tls' | 'relp' | 'journal';

/** The certificate files of a listener that speaks TLS, and the config key they come from. */
export interface StreamTls {
  readonly options: TlsListenerOptions;
  /** `ingest.tls`: named in errors about the files. */
  readonly configKey: string;
}

/** One accepted connection. */
interface Connection {
  readonly raw: net.Socket;
  /** The socket that carries the messages: the raw one, or its TLS wrapper once secure. */
  carrier: net.Socket;
  readonly slot: Slot<net.Socket>;
  /** Closes the connection if no complete frame has arrived by then; null once one has. */
  firstFrameTimer: NodeJS.Timeout | null;
  /** The protocol's reader, once the connection is served. */
  reader: StreamReader | null;
}

/**
 * Accepts with a plain net.Server in both cases, so the allowlist and the connection slots are
 * applied before any TLS work; accepted TLS connections are handed to a tls.Server that never
 * listens itself, which keeps Node's own handshake and certificate checks.
 */
export class StreamListener {
  readonly #transport: StreamTransport;
  readonly #options: ListenerOptions;
  /** null: the protocol reads the raw socket at once; else after the TLS handshake. */
  readonly #tls: StreamTls | null;
  readonly #ctx: ListenerContext;
  readonly #protocol: StreamProtocol;
  readonly #server: net.Server;
  readonly #slots: ConnectionSlots<net.Socket>;
  readonly #refusals: RefusalLog;
  /** Accepted socket → its connection. */
  readonly #open = new Map<net.Socket, Connection>();
  /** `address|port` → connection, to find it again under its TLS wrapper. */
  readonly #byPeer = new Map<string, Connection>();
  /** Resolved each time the last open connection closes. */
  #emptyWaiters: (() => void)[] = [];
  #tlsServer: tls.Server | null = null;
  #listening = false;
  #closing: Promise<void> | null = null;

  constructor(
    transport: StreamTransport,
    options: ListenerOptions,
    ctx: ListenerContext,
    protocol: StreamProtocol,
    tls: StreamTls | null = null,
  ) {
    this.#transport = transport;
    this.#options = options;
    this.#tls = tls;
    this.#ctx = ctx;
    this.#protocol = protocol;
    this.#slots = new ConnectionSlots(ctx.limits);
    this.#refusals = new RefusalLog(ctx.log, transport, ctx.limits.refusalLogIntervalMs);
    this.#server = net.createServer({ allowHalfOpen: false }, (socket) => {
      this.#onConnection(socket);
    });
  }

  /** Binds; resolves with the bound address. Rejects with TLS_CONFIG_INVALID or LISTEN_FAILED. */
  async listen(): Promise<AddressInfo> {
    if (this.#tls !== null) this.#tlsServer = await this.#wireTlsServer(this.#tls);
    const { address, port } = this.#options;
    const server = this.#server;
    await listenOrFail(
      server,
      { host: address, port, exclusive: true },
      `cannot listen on ${this.#transport} ${formatEndpoint(address, port)}`,
    );
    this.#listening = true;
    server.on('error', (e) => {
      this.#ctx.log.warn({ err: e, transport: this.#transport }, 'listener error');
    });
    return server.address() as AddressInfo;
  }

  /**
   * Stops accepting, half-closes every connection so senders can flush what is in flight, cuts
   * the ones still open after `closeGraceMs`, and resolves once every socket is closed.
   */
  close(): Promise<void> {
    this.#closing ??= (this.#listening ? this.#drain() : Promise.resolve()).then(() => {
      this.#refusals.close();
    });
    return this.#closing;
  }

  async #drain(): Promise<void> {
    const stopped = new Promise<void>((resolve) => {
      this.#server.close(() => {
        resolve();
      });
    });
    for (const c of this.#open.values()) {
      c.reader?.close();
      c.carrier.end();
    }
    const timer = setTimeout(() => {
      for (const c of this.#open.values()) cut(c);
    }, this.#ctx.limits.closeGraceMs);
    // The server reports closed before the last sockets' own 'close' events: wait for both.
    await Promise.all([stopped, this.whenNoConnections()]);
    clearTimeout(timer);
  }

  /** Open connections right now (accepted and not yet closed). */
  get connections(): number {
    return this.#open.size;
  }

  /** Resolves once no connection is open (at once if none is). */
  whenNoConnections(): Promise<void> {
    if (this.#open.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#emptyWaiters.push(resolve));
  }

  #onConnection(raw: net.Socket): void {
    const { senders, stats, clock, limits, log } = this.#ctx;
    const counters = stats[this.#transport];
    const peer = raw.remoteAddress;
    if (peer === undefined || this.#closing !== null) {
      raw.destroy();
      return;
    }
    const sender = senders.touch(peer, clock.now());
    if (limits.allowedSenders.size > 0 && !limits.allowedSenders.has(sender.address)) {
      sender.dropped++;
      counters.droppedNotAllowed++;
      this.#refusals.note('notAllowed', sender.address);
      raw.destroy();
      return;
    }
    const admission = this.#slots.admit(raw, sender.address, sender.messages > 0);
    if (!admission.admitted) {
      if (admission.reason === 'perSender') counters.connectionsRefusedPerSender++;
      else counters.connectionsRefused++;
      this.#refusals.note(admission.reason, sender.address);
      log.debug(
        { peer: sender.address, transport: this.#transport, reason: admission.reason },
        'connection refused: no slot',
      );
      raw.destroy();
      return;
    }
    if (admission.evicted !== null) this.#evict(admission.evicted);
    counters.connectionsTotal++;
    counters.connectionsOpen++;
    const conn: Connection = {
      raw,
      carrier: raw,
      slot: admission.slot,
      firstFrameTimer: null,
      reader: null,
    };
    this.#open.set(raw, conn);
    const key = `${peer}|${raw.remotePort ?? 0}`;
    this.#byPeer.set(key, conn);
    if (limits.firstFrameTimeoutMs > 0) {
      // Absolute, unlike the idle timer: a trickle of bytes that never completes a frame must not extend it.
      conn.firstFrameTimer = setTimeout(() => {
        counters.firstFrameTimeouts++;
        this.#refusals.note('firstFrameTimeout', conn.slot.sender);
        cut(conn);
      }, limits.firstFrameTimeoutMs);
    }
    raw.on('close', () => {
      if (conn.firstFrameTimer !== null) clearTimeout(conn.firstFrameTimer);
      this.#slots.release(conn.slot);
      this.#open.delete(raw);
      this.#byPeer.delete(key);
      counters.connectionsOpen--;
      if (this.#open.size === 0 && this.#emptyWaiters.length > 0) {
        const waiters = this.#emptyWaiters;
        this.#emptyWaiters = [];
        for (const w of waiters) w();
      }
    });
    raw.on('error', (e) => {
      counters.socketErrors++;
      log.debug({ err: e, peer: sender.address, transport: this.#transport }, 'connection error');
    });
    if (this.#tlsServer === null) {
      this.#serve(conn, raw, peer);
    } else {
      this.#tlsServer.emit('connection', raw);
    }
  }

  /** Closes a connection that gave up its slot to a newcomer. */
  #evict(raw: net.Socket): void {
    const conn = this.#open.get(raw);
    if (conn === undefined) return;
    this.#ctx.stats[this.#transport].connectionsEvicted++;
    this.#refusals.note('evicted', conn.slot.sender);
    cut(conn);
  }

  /** The connection delivered its first complete frame: it keeps its slot from now on. */
  #framed(conn: Connection): void {
    if (conn.firstFrameTimer !== null) clearTimeout(conn.firstFrameTimer);
    conn.firstFrameTimer = null;
    this.#slots.framed(conn.slot);
  }

  /** Reads the protocol from `carrier` (the raw socket, or its TLS wrapper) until it closes. */
  #serve(conn: Connection, carrier: net.Socket, peer: string): void {
    const { senders, stats, clock, limits, log } = this.#ctx;
    const transport = this.#transport;
    const counters = stats[transport];
    const served = {
      carrier,
      sender: senders.touch(peer, clock.now()),
      receivedAt: clock.now(),
      fail: (reason: string) => {
        counters.framingErrors++;
        this.#refusals.note('protocolError', conn.slot.sender, reason);
        log.debug(
          { peer: conn.slot.sender, transport, reason },
          'protocol error, connection closed',
        );
      },
    };
    const reader = this.#protocol(served, this.#ctx, counters);
    conn.reader = reader;
    let waiting = true;
    conn.carrier = carrier;
    if (carrier !== conn.raw) {
      // After the handshake, TLS errors surface on the wrapper: unheard, they would be thrown.
      carrier.on('error', (e) => {
        counters.socketErrors++;
        log.debug({ err: e, peer, transport }, 'connection error');
      });
    }
    if (this.#closing !== null) {
      reader.close();
      carrier.end();
    }
    carrier.on('data', (chunk: Buffer) => {
      served.receivedAt = clock.now();
      // Looked up per read rather than kept: a long connection must not outlive its record's eviction.
      served.sender = senders.touch(peer, served.receivedAt);
      if (!waiting) {
        reader.push(chunk);
        return;
      }
      // Checked per read rather than in the frame callback, which must stay as lean as it was:
      // the pipeline's speed is bound to it. Only this push can deliver frames meanwhile.
      const delivered = counters.messages;
      reader.push(chunk);
      if (counters.messages !== delivered) {
        waiting = false;
        this.#framed(conn);
      }
    });
    carrier.on('end', () => {
      reader.end();
    });
    if (limits.idleTimeoutMs > 0) {
      carrier.setTimeout(limits.idleTimeoutMs, () => {
        counters.idleTimeouts++;
        carrier.destroy();
      });
    }
  }

  /** The TLS server, with the handlers that serve, refuse and count its connections. */
  async #wireTlsServer(files: StreamTls): Promise<tls.Server> {
    const requireCert = files.options.requestClientCert === true;
    const server = await createTlsServer(
      files.options,
      this.#ctx.limits.handshakeTimeoutMs,
      files.configKey,
    );
    const { log } = this.#ctx;
    const transport = this.#transport;
    const counters = this.#ctx.stats[transport];
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      const conn = this.#connectionOf(socket);
      const peer = conn?.raw.remoteAddress;
      if (conn === undefined || peer === undefined) {
        socket.destroy();
        return;
      }
      if (requireCert && !socket.authorized) {
        const reason = String(socket.authorizationError);
        counters.handshakeErrors++;
        this.#refusals.note('clientCertRefused', conn.slot.sender, reason);
        log.debug({ peer, transport, reason }, 'TLS client refused: no valid client certificate');
        socket.destroy();
        conn.raw.destroy();
        return;
      }
      this.#serve(conn, socket, peer);
    });
    server.on('tlsClientError', (e: Error & { code?: string }, socket) => {
      // Node only reports the failure: the sockets are ours to close, or they stay open for good.
      const conn = this.#connectionOf(socket);
      // A connection already cut (evicted, past its deadline) was counted for that.
      const counted = conn === undefined || conn.raw.destroyed;
      socket.destroy();
      if (counted) return;
      conn.raw.destroy();
      if (e.code === 'ERR_TLS_HANDSHAKE_TIMEOUT') {
        counters.handshakeTimeouts++;
        this.#refusals.note('handshakeTimeout', conn.slot.sender);
      } else {
        counters.handshakeErrors++;
        this.#refusals.note('handshakeFailed', conn.slot.sender, e.message);
      }
      log.debug({ err: e, peer: conn.slot.sender, transport }, 'TLS handshake failed');
    });
    return server;
  }

  /** The connection under a TLS socket (they share the peer's address and port). */
  #connectionOf(socket: tls.TLSSocket): Connection | undefined {
    return this.#byPeer.get(`${socket.remoteAddress ?? ''}|${socket.remotePort ?? 0}`);
  }
}

function cut(c: Connection): void {
  c.carrier.destroy();
  c.raw.destroy();
}
