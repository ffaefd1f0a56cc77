// Connects to Redis for the ban store: Redis Cluster from seed nodes, or one standalone server; auth and TLS from the config.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Cluster, Redis } from 'ioredis';
import { describeError, ErrorCode, FleetbanError } from '../../core/errors.js';

/** A connection to either kind of deployment; both speak the commands the store uses. */
export type RedisClient = Redis | Cluster;

export interface RedisConnectionOptions {
  /** Redis Cluster seed nodes, "host:port"; empty for a standalone server. */
  readonly nodes: readonly string[];
  /** The standalone server, "host:port", when `nodes` is empty. */
  readonly address: string;
  readonly username: string;
  readonly password: string;
  readonly tls: {
    readonly enabled: boolean;
    readonly ca: string;
    readonly cert: string;
    readonly key: string;
  };
}

/** "host:port" (IPv6 in brackets) as ioredis wants it. */
export function hostPort(text: string): { host: string; port: number } {
  const colon = text.lastIndexOf(':');
  const host = text.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(text.slice(colon + 1)) };
}

/** Where this connection goes, for messages: "Redis Cluster (seeds a, b)" or "Redis at a". */
export function describeTarget(o: RedisConnectionOptions): string {
  return o.nodes.length > 0
    ? `Redis Cluster (seeds ${o.nodes.join(', ')})`
    : `Redis at ${o.address}`;
}

function tlsOptions(o: RedisConnectionOptions): ConnectionOptions | undefined {
  if (!o.tls.enabled) return undefined;
  const read = (what: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw new FleetbanError(
        ErrorCode.CONFIG_INVALID,
        `store.redis.tls.${what}: cannot read ${file}: ${describeError(e)}`,
        { cause: e },
      );
    }
  };
  return {
    ...(o.tls.ca !== '' ? { ca: read('ca', o.tls.ca) } : {}),
    ...(o.tls.cert !== '' ? { cert: read('cert', o.tls.cert), key: read('key', o.tls.key) } : {}),
  };
}

/**
 * Makes a client that connects lazily (`connect()` or the first command). Commands issued while
 * Redis is unreachable wait in ioredis' offline queue and are retried a few times before they
 * fail; the store above decides how long to keep trying.
 */
export function createRedisClient(
  o: RedisConnectionOptions,
  extra: { readonly autoPipelining?: boolean } = {},
): RedisClient {
  const tls = tlsOptions(o);
  const common = {
    // Commands issued in one tick go out together, grouped per node on a cluster.
    enableAutoPipelining: extra.autoPipelining === true,
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    connectTimeout: 5_000,
    ...(o.username !== '' ? { username: o.username } : {}),
    ...(o.password !== '' ? { password: o.password } : {}),
    ...(tls !== undefined ? { tls } : {}),
  };
  if (o.nodes.length > 0) {
    return new Cluster(o.nodes.map(hostPort), {
      lazyConnect: true,
      enableAutoPipelining: extra.autoPipelining === true,
      redisOptions: common,
      scaleReads: 'master',
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 300,
      retryDelayOnTryAgain: 200,
      maxRedirections: 32,
      slotsRefreshTimeout: 2_000,
      clusterRetryStrategy: (times) => Math.min(100 * times, 2_000),
      // Other servers' addresses come from CLUSTER SLOTS: TLS then checks them by that name.
      ...(tls !== undefined
        ? {
            dnsLookup: (address: string, callback: (e: null, a: string) => void) => {
              callback(null, address);
            },
          }
        : {}),
    });
  }
  return new Redis({
    ...hostPort(o.address),
    ...common,
    retryStrategy: (times: number) => Math.min(100 * times, 2_000),
  });
}
