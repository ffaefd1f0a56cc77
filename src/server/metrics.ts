// Gathers the live counters of every part into Prometheus metric families for GET /metrics.
import type { MetricFamily, MetricSample } from '../control/metrics.js';
import { TRANSPORTS } from '../core/types.js';
import type { IngestStats, TransportCounters } from '../ingest/stats.js';
import type { JailStats } from '../jails/engine.js';
import type { StoreStats } from '../store/store.js';
import type { BanManagerStats } from './ban-manager.js';
import type { PipelineStats } from './pipeline.js';

export interface MetricSources {
  readonly ingest: IngestStats;
  readonly pipeline: PipelineStats;
  readonly jails: readonly JailStats[];
  readonly engineTotals: { readonly trackedAttackers: number; readonly evictions: number };
  readonly store: StoreStats;
  readonly bans: BanManagerStats;
  readonly senders: number;
  /** Senders flagged silent (ingest.silentAfter). */
  readonly silentSenders: number;
}

type Kind = MetricFamily['type'];

function family(name: string, type: Kind, help: string, samples: MetricSample[]): MetricFamily {
  return { name: `fleetban_${name}`, type, help, samples };
}

function one(name: string, type: Kind, help: string, value: number): MetricFamily {
  return family(name, type, help, [{ value }]);
}

function perTransport(
  name: string,
  type: Kind,
  help: string,
  pick: (c: TransportCounters) => number,
  s: IngestStats,
): MetricFamily {
  return family(
    name,
    type,
    help,
    TRANSPORTS.map((t) => ({ labels: { transport: t }, value: pick(s.of(t)) })),
  );
}

function perJail(
  name: string,
  type: Kind,
  help: string,
  pick: (j: JailStats) => number,
  jails: readonly JailStats[],
): MetricFamily {
  return family(
    name,
    type,
    help,
    jails.map((j) => ({ labels: { jail: j.name }, value: pick(j) })),
  );
}

export function collectMetrics(s: MetricSources): MetricFamily[] {
  const i = s.ingest;
  return [
    perTransport(
      'ingest_messages_total',
      'counter',
      'Syslog messages received.',
      (c) => c.messages,
      i,
    ),
    perTransport(
      'ingest_bytes_total',
      'counter',
      'Bytes of syslog messages received.',
      (c) => c.bytes,
      i,
    ),
    perTransport(
      'ingest_dropped_not_allowed_total',
      'counter',
      'Messages or connections refused: sender outside ingest.allowedSenders.',
      (c) => c.droppedNotAllowed,
      i,
    ),
    perTransport(
      'ingest_oversized_total',
      'counter',
      'Messages over ingest.maxMessageSize, skipped.',
      (c) => c.oversized,
      i,
    ),
    perTransport(
      'ingest_framing_errors_total',
      'counter',
      'RFC 6587 framing errors (lying octet counts, streams cut mid-frame).',
      (c) => c.framingErrors,
      i,
    ),
    perTransport(
      'ingest_invalid_utf8_total',
      'counter',
      'Messages with invalid UTF-8, delivered with replacement characters.',
      (c) => c.invalidUtf8,
      i,
    ),
    perTransport(
      'ingest_connections_open',
      'gauge',
      'Open TCP/TLS connections.',
      (c) => c.connectionsOpen,
      i,
    ),
    perTransport(
      'ingest_connections_refused_total',
      'counter',
      'Connections refused over ingest.maxConnections.',
      (c) => c.connectionsRefused,
      i,
    ),
    perTransport(
      'ingest_connections_refused_per_sender_total',
      'counter',
      'Connections refused over ingest.maxConnectionsPerSender.',
      (c) => c.connectionsRefusedPerSender,
      i,
    ),
    perTransport(
      'ingest_connections_evicted_total',
      'counter',
      'Connections closed before their first message to make room for a new one.',
      (c) => c.connectionsEvicted,
      i,
    ),
    perTransport(
      'ingest_first_frame_timeouts_total',
      'counter',
      'Connections closed for delivering no message within ingest.firstFrameTimeout.',
      (c) => c.firstFrameTimeouts,
      i,
    ),
    perTransport(
      'ingest_idle_timeouts_total',
      'counter',
      'Connections closed after ingest.idleTimeout of silence.',
      (c) => c.idleTimeouts,
      i,
    ),
    perTransport(
      'ingest_tls_handshake_errors_total',
      'counter',
      'Failed TLS handshakes.',
      (c) => c.handshakeErrors,
      i,
    ),
    perTransport(
      'ingest_tls_handshake_timeouts_total',
      'counter',
      'TLS connections closed for not finishing the handshake in time.',
      (c) => c.handshakeTimeouts,
      i,
    ),
    one(
      'udp_backlog_dropped_total',
      'counter',
      'UDP datagrams dropped because the jails fell behind the receiving thread.',
      i.udpReceiver.backlogDropped,
    ),
    one(
      'udp_receiver_restarts_total',
      'counter',
      'Times the UDP receiving thread died and was replaced.',
      i.udpReceiver.restarts,
    ),
    one(
      'parse_errors_total',
      'counter',
      'Messages the syslog parser could not read.',
      s.pipeline.parseErrors,
    ),
    one(
      'ingest_spoofed_hostname_total',
      'counter',
      'Messages whose HOSTNAME is bound (ingest.senders) to other sender addresses; they feed no jail scoped to that host.',
      s.pipeline.spoofedHostname,
    ),
    one('senders', 'gauge', 'Senders in the per-sender statistics.', s.senders),
    one(
      'senders_silent',
      'gauge',
      'Senders that sent logs and then nothing for ingest.silentAfter.',
      s.silentSenders,
    ),
    perJail(
      'jail_lines_total',
      'counter',
      'Lines routed to the jail.',
      (j) => j.linesSeen,
      s.jails,
    ),
    perJail(
      'jail_matched_total',
      'counter',
      'Lines a failregex matched.',
      (j) => j.matched,
      s.jails,
    ),
    perJail(
      'jail_ignored_total',
      'counter',
      'Matches dropped by ignoreregex or ignoreip.',
      (j) => j.ignored,
      s.jails,
    ),
    perJail(
      'jail_failures_total',
      'counter',
      'Failures counted towards maxretry.',
      (j) => j.failures,
      s.jails,
    ),
    perJail(
      'jail_ban_requests_total',
      'counter',
      'Times an attacker crossed maxretry.',
      (j) => j.banRequests,
      s.jails,
    ),
    perJail(
      'jail_already_banned_total',
      'counter',
      'Failures of attackers already banned (not counted towards maxretry).',
      (j) => j.alreadyBanned,
      s.jails,
    ),
    perJail(
      'jail_tracked_attackers',
      'gauge',
      'Attackers with failures in the window.',
      (j) => j.trackedAttackers,
      s.jails,
    ),
    one(
      'tracked_attackers_evicted_total',
      'counter',
      'Attacker windows dropped because jails.maxTrackedAttackers was reached.',
      s.engineTotals.evictions,
    ),
    one('active_bans', 'gauge', 'Bans in force.', s.store.activeBans),
    one(
      'store_last_seq',
      'gauge',
      'Sequence number of the newest change-feed entry.',
      s.store.lastSeq,
    ),
    one(
      'store_batches_total',
      'counter',
      'Ban store writes (LevelDB batches, Redis scripts).',
      s.store.batchesWritten,
    ),
    one('bans_total', 'counter', 'Bans written.', s.bans.bansWritten),
    one('unbans_total', 'counter', 'Bans lifted (expired or by an admin).', s.bans.unbansWritten),
    one('bans_expired_total', 'counter', 'Bans lifted because their time was up.', s.bans.expired),
    one('ban_write_errors_total', 'counter', 'Bans that could not be stored.', s.bans.writeErrors),
    one(
      'bans_waiting_for_store',
      'gauge',
      'Jail bans decided while the ban store (Redis) is unreachable, written when it is back.',
      s.bans.waitingForStore,
    ),
  ];
}
