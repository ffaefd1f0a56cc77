// The Prometheus families of a server on a shared Redis store: the store's writes, the shared failure windows, the servers seen.
import type { MetricFamily } from '../control/metrics.js';
import type { SharedWindowsCounters } from '../cluster/shared-windows.js';
import type { RedisStoreHealth } from '../store/redis/redis-store.js';
import type { ClusterSummary } from '../control/plane.js';

export interface ClusterMetricsSources {
  readonly store: RedisStoreHealth;
  readonly windows: Readonly<SharedWindowsCounters>;
  /** Failures waiting in memory for Redis. */
  readonly windowsQueued: number;
  readonly cluster: ClusterSummary | null;
}

function one(name: string, type: MetricFamily['type'], help: string, value: number): MetricFamily {
  return { name: `fleetban_${name}`, type, help, samples: [{ value }] };
}

export function clusterMetrics(s: ClusterMetricsSources): MetricFamily[] {
  const w = s.windows;
  const out = [
    one(
      'redis_connected',
      'gauge',
      'Whether the ban store on Redis answers (1) or not (0).',
      s.store.connected ? 1 : 0,
    ),
    one(
      'redis_unreplicated_writes_total',
      'counter',
      'Ban writes announced although no replica acknowledged them within store.redis.waitTimeout.',
      s.store.unreplicatedWrites,
    ),
    one(
      'redis_write_conflicts_total',
      'counter',
      'Ban writes planned again because another server wrote first.',
      s.store.conflicts,
    ),
    one(
      'redis_pending_changes',
      'gauge',
      'Changes read or written but not yet known to be on a replica (not yet announced).',
      s.store.pendingChanges,
    ),
    one(
      'redis_outbox_leader',
      'gauge',
      'Whether this server mails the shared outbox (1) or not (0).',
      s.store.outboxLeader ? 1 : 0,
    ),
    one(
      'shared_failures_sent_total',
      'counter',
      'Failures sent to the shared windows on Redis.',
      w.failuresSent,
    ),
    one('shared_window_scripts_total', 'counter', 'Window scripts run on Redis.', w.scriptsRun),
    one(
      'shared_window_crossings_total',
      'counter',
      'Thresholds crossed in the shared windows (each one a ban request).',
      w.crossings,
    ),
    one(
      'shared_failures_dropped_total',
      'counter',
      'Failures dropped while Redis was unreachable past its bounds (memory, time).',
      w.dropped,
    ),
    one(
      'shared_failures_queued',
      'gauge',
      'Failures waiting in memory to be sent to Redis.',
      s.windowsQueued,
    ),
  ];
  if (s.cluster !== null)
    out.push(
      one(
        'cluster_servers_alive',
        'gauge',
        'Servers of this deployment heard of within the last three heartbeats.',
        s.cluster.servers.filter((x) => x.alive).length,
      ),
      one(
        'cluster_jails_differ',
        'gauge',
        'Whether the live servers run different jail definitions (1) or not (0).',
        s.cluster.jailsDiffer ? 1 : 0,
      ),
    );
  return out;
}
