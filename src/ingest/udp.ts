// UDP syslog listener: one datagram is one message; IPv4 or IPv6 by bind address.
import dgram from 'node:dgram';
import { isIPv6, type AddressInfo } from 'node:net';
import type { Clock } from '../core/clock.js';
import { ErrorCode, FleetbanError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Delivery } from './deliver.js';
import { formatEndpoint, type ResolvedLimits, type UdpListenerOptions } from './options.js';
import type { SenderTable } from './senders.js';
import type { IngestStats } from './stats.js';

const LF = 10;
const CR = 13;
const NUL = 0;

/** What every listener shares: where messages go and what gets counted. */
export interface ListenerContext {
  readonly delivery: Delivery;
  readonly senders: SenderTable;
  readonly stats: IngestStats;
  readonly clock: Clock;
  readonly log: Logger;
  readonly limits: ResolvedLimits;
}

export class UdpListener {
  readonly #options: UdpListenerOptions;
  readonly #ctx: ListenerContext;
  #socket: dgram.Socket | null = null;

  constructor(options: UdpListenerOptions, ctx: ListenerContext) {
    this.#options = options;
    this.#ctx = ctx;
  }

  /** Binds; resolves with the bound address, rejects with LISTEN_FAILED. */
  listen(): Promise<AddressInfo> {
    const { address, port } = this.#options;
    const { limits, log, stats } = this.#ctx;
    const socket = dgram.createSocket({
      type: isIPv6(address) ? 'udp6' : 'udp4',
      recvBufferSize: limits.recvBufferSize,
    });
    this.#socket = socket;
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => {
        this.#socket = null;
        socket.close();
        reject(
          new FleetbanError(
            ErrorCode.LISTEN_FAILED,
            `cannot listen on udp ${formatEndpoint(address, port)}: ${e.message}`,
            { cause: e },
          ),
        );
      };
      socket.once('error', onError);
      socket.bind({ address, port, exclusive: true }, () => {
        socket.off('error', onError);
        socket.on('error', (e) => {
          stats.udp.socketErrors++;
          log.warn({ err: e, transport: 'udp' }, 'udp socket error');
        });
        socket.on('message', (msg, rinfo) => {
          this.#onMessage(msg, rinfo.address);
        });
        const bound = socket.address();
        const obtained = socket.getRecvBufferSize();
        stats.udpRecvBufferSize[formatEndpoint(bound.address, bound.port)] = obtained;
        if (obtained < limits.recvBufferSize) {
          log.warn(
            { requested: limits.recvBufferSize, obtained, transport: 'udp' },
            `udp receive buffer capped by the kernel at ${obtained} bytes ` +
              `(requested ${limits.recvBufferSize}); bursts may be lost: ` +
              `raise net.core.rmem_max to at least ${limits.recvBufferSize}`,
          );
        }
        resolve(bound);
      });
    });
  }

  /** Stops receiving; resolves once the socket is closed. Idempotent. */
  close(): Promise<void> {
    const socket = this.#socket;
    this.#socket = null;
    if (socket === null) return Promise.resolve();
    return new Promise((resolve) => {
      socket.close(() => {
        resolve();
      });
    });
  }

  #onMessage(msg: Buffer, peer: string): void {
    const { senders, stats, clock, limits } = this.#ctx;
    const counters = stats.udp;
    const now = clock.now();
    const sender = senders.touch(peer, now);
    const allowed = limits.allowedSenders;
    if (allowed.size > 0 && !allowed.has(sender.address)) {
      sender.dropped++;
      counters.droppedNotAllowed++;
      return;
    }
    let end = msg.length;
    for (let c = msg[end - 1]; c === LF || c === NUL || c === CR; c = msg[end - 1]) end--;
    if (end > limits.maxMessageSize) {
      sender.oversized++;
      counters.oversized++;
      return;
    }
    if (end > 0) this.#ctx.delivery.deliver(msg, 0, end, sender, counters, 'udp', now);
  }
}
