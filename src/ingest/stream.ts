// TCP and TLS (RFC 5425) syslog listener: connection limits, allowlist at connect, idle timeout, RFC 6587 framing.
import { readFile } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { ErrorCode, FleetbanError, describeError } from '../core/errors.js';
import { FrameSplitter } from './framing.js';
import { formatEndpoint, type ListenerOptions, type TlsListenerOptions } from './options.js';
import type { ListenerContext } from './udp.js';

export type StreamTransport = 'tcp' | 'tls';

/**
 * Accepts with a plain net.Server in both cases, so the allowlist and the connection limit are
 * applied before any TLS work; accepted TLS connections are handed to a tls.Server that never
 * listens itself, which keeps Node's own handshake and certificate checks.
 */
export class StreamListener {
  readonly #transport: StreamTransport;
  readonly #options: ListenerOptions | TlsListenerOptions;
  readonly #ctx: ListenerContext;
  readonly #server: net.Server;
  /** Accepted socket → the socket that carries the messages (itself, or its TLS wrapper once secure). */
  readonly #open = new Map<net.Socket, net.Socket>();
  /** `address|port` → accepted socket, to find it again under its TLS wrapper. */
  readonly #byPeer = new Map<string, net.Socket>();
  /** Resolved each time the last open connection closes. */
  #emptyWaiters: (() => void)[] = [];
  #tlsServer: tls.Server | null = null;
  #listening = false;
  #closing: Promise<void> | null = null;

  constructor(
    transport: StreamTransport,
    options: ListenerOptions | TlsListenerOptions,
    ctx: ListenerContext,
  ) {
    this.#transport = transport;
    this.#options = options;
    this.#ctx = ctx;
    this.#server = net.createServer({ allowHalfOpen: false }, (socket) => {
      this.#onConnection(socket);
    });
  }

  /** Binds; resolves with the bound address. Rejects with TLS_CONFIG_INVALID or LISTEN_FAILED. */
  async listen(): Promise<AddressInfo> {
    if (this.#transport === 'tls') this.#tlsServer = await this.#createTlsServer();
    const { address, port } = this.#options;
    const server = this.#server;
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error): void => {
        reject(
          new FleetbanError(
            ErrorCode.LISTEN_FAILED,
            `cannot listen on ${this.#transport} ${formatEndpoint(address, port)}: ${e.message}`,
            { cause: e },
          ),
        );
      };
      server.once('error', onError);
      server.listen({ host: address, port, exclusive: true }, () => {
        server.off('error', onError);
        resolve();
      });
    });
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
    this.#closing ??= this.#listening ? this.#drain() : Promise.resolve();
    return this.#closing;
  }

  async #drain(): Promise<void> {
    const stopped = new Promise<void>((resolve) => {
      this.#server.close(() => {
        resolve();
      });
    });
    for (const carrier of this.#open.values()) carrier.end();
    const timer = setTimeout(() => {
      for (const [raw, carrier] of this.#open) {
        carrier.destroy();
        raw.destroy();
      }
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
      raw.destroy();
      return;
    }
    if (this.#open.size >= limits.maxConnections) {
      counters.connectionsRefused++;
      log.debug(
        { peer: sender.address, transport: this.#transport },
        'connection refused: too many open',
      );
      raw.destroy();
      return;
    }
    counters.connectionsTotal++;
    counters.connectionsOpen++;
    this.#open.set(raw, raw);
    const key = `${peer}|${raw.remotePort ?? 0}`;
    this.#byPeer.set(key, raw);
    raw.on('close', () => {
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
      this.#serve(raw, raw, peer);
    } else {
      this.#tlsServer.emit('connection', raw);
    }
  }

  /** Reads frames from `carrier` (the raw socket, or its TLS wrapper) until it closes. */
  #serve(raw: net.Socket, carrier: net.Socket, peer: string): void {
    const { senders, stats, clock, limits, log, delivery } = this.#ctx;
    const transport = this.#transport;
    const counters = stats[transport];
    let sender = senders.touch(peer, clock.now());
    let receivedAt = clock.now();
    const splitter = new FrameSplitter(
      { maxFrameSize: limits.maxStreamFrame },
      {
        frame: (buf, start, end) => {
          delivery.deliver(buf, start, end, sender, counters, transport, receivedAt);
        },
        oversized: () => {
          sender.oversized++;
          counters.oversized++;
        },
        framingError: (reason) => {
          counters.framingErrors++;
          log.debug({ peer: sender.address, transport, reason }, 'framing error, resynchronising');
        },
      },
    );
    this.#open.set(raw, carrier);
    if (carrier !== raw) {
      // After the handshake, TLS errors surface on the wrapper: unheard, they would be thrown.
      carrier.on('error', (e) => {
        counters.socketErrors++;
        log.debug({ err: e, peer, transport }, 'connection error');
      });
    }
    if (this.#closing !== null) carrier.end();
    carrier.on('data', (chunk: Buffer) => {
      receivedAt = clock.now();
      // Looked up per read rather than kept: a long connection must not outlive its record's eviction.
      sender = senders.touch(peer, receivedAt);
      splitter.push(chunk);
    });
    carrier.on('end', () => {
      splitter.end();
    });
    if (limits.idleTimeoutMs > 0) {
      carrier.setTimeout(limits.idleTimeoutMs, () => {
        counters.idleTimeouts++;
        carrier.destroy();
      });
    }
  }

  async #createTlsServer(): Promise<tls.Server> {
    const o = this.#options as TlsListenerOptions;
    const read = async (what: string, path: string | undefined): Promise<Buffer | undefined> => {
      if (path === undefined || path === '') return undefined;
      try {
        return await readFile(path);
      } catch (e) {
        throw new FleetbanError(
          ErrorCode.TLS_CONFIG_INVALID,
          `cannot read TLS ${what} ${path}: ${describeError(e)}`,
          {
            cause: e,
          },
        );
      }
    };
    const [cert, key, ca] = await Promise.all([
      read('cert', o.cert),
      read('key', o.key),
      read('ca', o.ca),
    ]);
    if (cert === undefined || key === undefined) {
      throw new FleetbanError(
        ErrorCode.TLS_CONFIG_INVALID,
        'the TLS listener needs both cert and key files',
      );
    }
    const requireCert = o.requestClientCert === true;
    if (requireCert && ca === undefined) {
      throw new FleetbanError(
        ErrorCode.TLS_CONFIG_INVALID,
        'requestClientCert needs a ca file to verify clients',
      );
    }
    let server: tls.Server;
    try {
      server = tls.createServer({
        cert,
        key,
        ...(ca === undefined ? {} : { ca }),
        requestCert: requireCert,
        // Checked below instead, so that refused clients are counted and logged.
        rejectUnauthorized: false,
        handshakeTimeout: this.#ctx.limits.handshakeTimeoutMs,
      });
    } catch (e) {
      throw new FleetbanError(
        ErrorCode.TLS_CONFIG_INVALID,
        `invalid TLS cert/key/ca: ${describeError(e)}`,
        { cause: e },
      );
    }
    const { log, stats } = this.#ctx;
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      const raw = this.#byPeer.get(`${socket.remoteAddress ?? ''}|${socket.remotePort ?? 0}`);
      const peer = raw?.remoteAddress;
      if (raw === undefined || peer === undefined) {
        socket.destroy();
        return;
      }
      if (requireCert && !socket.authorized) {
        stats.tls.handshakeErrors++;
        log.warn(
          { peer, transport: 'tls', reason: String(socket.authorizationError) },
          'TLS client refused: no valid client certificate',
        );
        socket.destroy();
        return;
      }
      this.#serve(raw, socket, peer);
    });
    server.on('tlsClientError', (e, socket) => {
      stats.tls.handshakeErrors++;
      log.warn({ err: e, peer: socket.remoteAddress, transport: 'tls' }, 'TLS handshake failed');
    });
    return server;
  }
}
