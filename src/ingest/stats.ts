// Fleet-wide ingest counters per transport, for /metrics and `fleetban status`.
import type { Transport } from '../core/types.js';
import type { UdpReader } from './udp-protocol.js';

/** Mutable counters of one transport; ingest increments them in place. */
export interface TransportCounters {
  /** Messages delivered to the sink. */
  messages: number;
  /** Bytes of delivered messages (of a journal entry: its MESSAGE). */
  bytes: number;
  /** Messages (UDP) or connections (TCP/TLS) from senders outside `allowedSenders`. */
  droppedNotAllowed: number;
  /** Messages or frames over `maxMessageSize`, skipped. */
  oversized: number;
  /** Octet counts that could not be trusted, streams cut mid-frame, RELP sessions ended for a protocol error. */
  framingErrors: number;
  /** Messages delivered with replacement characters. */
  invalidUtf8: number;
  connectionsOpen: number;
  connectionsTotal: number;
  /** Connections refused because `maxConnections` were open, none of them evictable. */
  connectionsRefused: number;
  /** Connections refused because their sender already had `maxConnectionsPerSender` open. */
  connectionsRefusedPerSender: number;
  /** Connections still waiting for their first frame, closed to make room for a new one. */
  connectionsEvicted: number;
  /** Connections closed for sending nothing within `idleTimeoutMs`. */
  idleTimeouts: number;
  /** Connections closed for delivering no complete frame within `firstFrameTimeoutMs`. */
  firstFrameTimeouts: number;
  /** Failed TLS handshakes, including clients refused for a missing or untrusted certificate; timeouts apart. */
  handshakeErrors: number;
  /** TLS connections closed for not finishing the handshake within `handshakeTimeoutMs`. */
  handshakeTimeouts: number;
  /** Socket errors on accepted connections (resets and the like). */
  socketErrors: number;
}

export type IngestStatsSnapshot = {
  readonly [T in Transport]: Readonly<TransportCounters>;
} & {
  /** Each UDP socket, by address:port. */
  readonly udpSockets: Readonly<Record<string, UdpSocketReport>>;
  readonly udpReceiver: Readonly<UdpReceiverCounters>;
};

export interface UdpSocketReport {
  /** Receive buffer the kernel granted (bytes, as Linux reports it). */
  readonly recvBufferSize: number;
  /** `recvmmsg` (fleetban's addon) or `dgram` (Node's socket, when the addon is not built). */
  readonly reader: UdpReader;
}

/** The UDP receiving thread's own counters. */
export interface UdpReceiverCounters {
  /** Times the receiving thread died and was replaced. */
  restarts: number;
  /** Datagrams dropped because the jails fell too far behind the receiving thread. */
  backlogDropped: number;
}

export class IngestStats {
  readonly udp: TransportCounters = newCounters();
  readonly tcp: TransportCounters = newCounters();
  readonly tls: TransportCounters = newCounters();
  readonly relp: TransportCounters = newCounters();
  readonly journal: TransportCounters = newCounters();
  readonly udpSockets: Record<string, UdpSocketReport> = {};
  readonly udpReceiver: UdpReceiverCounters = { restarts: 0, backlogDropped: 0 };

  of(transport: Transport): TransportCounters {
    return this[transport];
  }

  snapshot(): IngestStatsSnapshot {
    return {
      udp: { ...this.udp },
      tcp: { ...this.tcp },
      tls: { ...this.tls },
      relp: { ...this.relp },
      journal: { ...this.journal },
      udpSockets: { ...this.udpSockets },
      udpReceiver: { ...this.udpReceiver },
    };
  }
}

function newCounters(): TransportCounters {
  return {
    messages: 0,
    bytes: 0,
    droppedNotAllowed: 0,
    oversized: 0,
    framingErrors: 0,
    invalidUtf8: 0,
    connectionsOpen: 0,
    connectionsTotal: 0,
    connectionsRefused: 0,
    connectionsRefusedPerSender: 0,
    connectionsEvicted: 0,
    idleTimeouts: 0,
    firstFrameTimeouts: 0,
    handshakeErrors: 0,
    handshakeTimeouts: 0,
    socketErrors: 0,
  };
}
