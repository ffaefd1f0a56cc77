// What the ingest listeners are configured with, and the defaults that apply when a key is absent.
import { isIPv6 } from 'node:net';
import { CidrSet } from '../core/ip.js';

export interface ListenerOptions {
  readonly enabled: boolean;
  /** Bind address: `127.0.0.1`, `0.0.0.0`, `::1`, or `::` (IPv6 and, on Linux, IPv4 too). */
  readonly address: string;
  /** 0 picks a free port (tests); start() reports the one obtained. */
  readonly port: number;
}

export interface UdpListenerOptions extends ListenerOptions {
  /** SO_RCVBUF requested, bytes. Default 32 MiB; the kernel caps it at 2 × net.core.rmem_max. */
  readonly recvBufferSize?: number;
}

export interface TlsListenerOptions extends ListenerOptions {
  /** PEM certificate chain file (RFC 5425 server certificate). */
  readonly cert?: string;
  /** PEM private key file. */
  readonly key?: string;
  /** PEM CA bundle that client certificates must chain to. */
  readonly ca?: string;
  /** Require a client certificate signed by `ca`; clients without one are refused. */
  readonly requestClientCert?: boolean;
}

export interface RelpListenerOptions extends ListenerOptions {
  /** RELP over TLS, with the certificate files, CA and client-certificate rule of `tls`. */
  readonly tls?: boolean;
}

export interface JournalListenerOptions extends ListenerOptions {
  /** HTTPS, with the certificate files, CA and client-certificate rule of `tls`. */
  readonly tls?: boolean;
}

export interface IngestOptions {
  readonly udp: UdpListenerOptions;
  readonly tcp: ListenerOptions;
  readonly tls: TlsListenerOptions;
  /** RELP (rsyslog omrelp): acknowledged delivery. Off when absent. */
  readonly relp?: RelpListenerOptions;
  /** systemd-journal-upload (`POST /upload`, journal export format). Off when absent. */
  readonly journal?: JournalListenerOptions;
  /** Largest message, bytes. Default 8192 (rsyslog's default). Larger ones are counted and skipped. */
  readonly maxMessageSize?: number;
  /**
   * Open TCP, TLS or RELP connections per listener. When all are taken, the oldest connection still
   * waiting for its first frame makes room for a new one; with none, the new one is refused.
   * Default 1000.
   */
  readonly maxConnections?: number;
  /** Open connections per sender address and listener; more are refused at connect. Default 32. */
  readonly maxConnectionsPerSender?: number;
  /**
   * Close a connection that has not delivered one complete frame this long after connecting
   * (TLS handshake included), ms; 0 = never. Default 10 s. Unlike the idle timeout, trickled
   * bytes do not restart it.
   */
  readonly firstFrameTimeoutMs?: number;
  /**
   * Most bytes held per connection for a frame not yet complete. Default: maxMessageSize.
   * A smaller value caps memory when many connections are allowed, at the price of a smaller
   * largest frame on streams (frames above it count as oversized).
   */
  readonly maxConnectionBuffer?: number;
  /** Close connections silent for this long, ms; 0 = never. Default 1 hour. */
  readonly idleTimeoutMs?: number;
  /** Time a TLS client has to finish its handshake, ms. Default 30 s. */
  readonly handshakeTimeoutMs?: number;
  /** On close(), how long open connections may drain before they are cut, ms. Default 2000. */
  readonly closeGraceMs?: number;
  /** Refused and cut-short connections are summed into one warning per this many ms. Default 60 s. */
  readonly refusalLogIntervalMs?: number;
  /** Senders allowed to send; empty = everyone. */
  readonly allowedSenders?: CidrSet;
}

/** Options with every default applied, checked once. */
export interface ResolvedLimits {
  readonly maxMessageSize: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerSender: number;
  readonly maxStreamFrame: number;
  readonly idleTimeoutMs: number;
  readonly firstFrameTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly closeGraceMs: number;
  readonly refusalLogIntervalMs: number;
  readonly recvBufferSize: number;
  readonly allowedSenders: CidrSet;
}

export const DEFAULT_RECV_BUFFER_SIZE = 32 * 1024 * 1024;

export function resolveLimits(o: IngestOptions): ResolvedLimits {
  const maxMessageSize = positive('maxMessageSize', o.maxMessageSize ?? 8192, 16);
  const maxConnectionBuffer = positive(
    'maxConnectionBuffer',
    o.maxConnectionBuffer ?? maxMessageSize,
    16,
  );
  return {
    maxMessageSize,
    maxConnections: positive('maxConnections', o.maxConnections ?? 1000, 1),
    maxConnectionsPerSender: positive(
      'maxConnectionsPerSender',
      o.maxConnectionsPerSender ?? 32,
      1,
    ),
    maxStreamFrame: Math.min(maxMessageSize, maxConnectionBuffer),
    idleTimeoutMs: positive('idleTimeoutMs', o.idleTimeoutMs ?? 3_600_000, 0),
    firstFrameTimeoutMs: positive('firstFrameTimeoutMs', o.firstFrameTimeoutMs ?? 10_000, 0),
    handshakeTimeoutMs: positive('handshakeTimeoutMs', o.handshakeTimeoutMs ?? 30_000, 1),
    closeGraceMs: positive('closeGraceMs', o.closeGraceMs ?? 2000, 0),
    refusalLogIntervalMs: positive('refusalLogIntervalMs', o.refusalLogIntervalMs ?? 60_000, 1),
    recvBufferSize: positive(
      'udp.recvBufferSize',
      o.udp.recvBufferSize ?? DEFAULT_RECV_BUFFER_SIZE,
      1,
    ),
    allowedSenders: o.allowedSenders ?? new CidrSet(),
  };
}

/** `127.0.0.1:514`, `[::1]:514`: how logs and errors name an endpoint. */
export function formatEndpoint(address: string, port: number): string {
  return isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

function positive(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new TypeError(`ingest option ${name} must be an integer >= ${min}, got ${value}`);
  }
  return value;
}
