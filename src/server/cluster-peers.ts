// The servers of a Redis deployment see each other: heartbeats, which are alive, whether they run the same jails, how Redis is laid out.
import { createHash } from 'node:crypto';
import { Cluster, type Result } from 'ioredis';
import type { Clock, EpochMs } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type {
  ClusterDetail,
  ClusterServerReport,
  ClusterSummary,
  RedisNodeReport,
} from '../control/plane.js';
import type { RedisClient } from '../store/redis/client.js';
import { RELEASE_SCRIPT } from '../store/redis/scripts.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    fleetbanLeader(key: string, id: string, ms: number): Result<string, Context>;
  }
}

/** What a server says of itself in each heartbeat. */
export interface SelfReport {
  readonly host: string;
  readonly pid: number;
  readonly version: string;
  readonly startedAt: EpochMs;
  /** Last sequence number this server has announced. */
  readonly lastSeq: number;
  /** Digest of the jail definitions it runs (jailsDigest). */
  readonly jails: string;
}

export interface ClusterPeersOptions {
  readonly client: RedisClient;
  readonly keyPrefix: string;
  readonly serverId: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly self: () => SelfReport;
  /** Where the store is, for reports. */
  readonly store: string;
  readonly intervalMs?: number;
}

const DEFAULT_INTERVAL_MS = 2_000;
/** A server not heard of for this many intervals is taken for dead. */
const DEAD_AFTER = 3;
/** Takes or keeps the leader lease. KEYS: the lease. ARGV: this server, lease ms. Returns the leader. */
const LEADER_SCRIPT = `
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
return holder
`;

/** Records of servers dead this long are deleted. */
const FORGET_AFTER_MS = 3_600_000;

/** The digest of a set of jail definitions: equal on two servers exactly when they count alike. */
export function jailsDigest(jails: readonly unknown[]): string {
  return createHash('sha256').update(canonicalJson(jails)).digest('hex').slice(0, 16);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return value === undefined ? 'null' : JSON.stringify(value);
}

/**
 * Every `intervalMs` each server writes its record into the hash `{keyPrefix}:servers` and reads
 * all of them, so `fleetban status` on any server lists the servers alive, synchronously, and
 * warns (there and in the log) when they run different jail definitions: then an attacker's
 * failures would count differently depending on where its lines arrive.
 */
export class ClusterPeers {
  readonly #o: ClusterPeersOptions;
  readonly #key: string;
  #timer: NodeJS.Timeout | undefined;
  #servers: ClusterServerReport[] = [];
  #warnedDigests = '';
  #leader = false;
  #leaderId: string | null = null;
  #beating: Promise<void> = Promise.resolve();

  constructor(options: ClusterPeersOptions) {
    this.#o = options;
    this.#key = `{${options.keyPrefix}}:servers`;
    options.client.defineCommand('fleetbanLeader', { lua: LEADER_SCRIPT, numberOfKeys: 1 });
    options.client.defineCommand('fleetbanRelease', { lua: RELEASE_SCRIPT, numberOfKeys: 1 });
  }

  /**
   * Whether this server leads: one server of the deployment does what must happen once, not once
   * per server (the jails that count bans, such as recidive: each server sees every ban, and
   * each would ask for the same longer ban). The lease is renewed with each heartbeat and runs
   * out after three missed ones; a new leader starts those counts afresh.
   */
  isLeader(): boolean {
    return this.#leader;
  }

  get #interval(): number {
    return this.#o.intervalMs ?? DEFAULT_INTERVAL_MS;
  }

  async start(): Promise<void> {
    await this.#beat();
    this.#timer = setInterval(() => {
      this.#beating = this.#beat().catch((e: unknown) => {
        this.#o.logger.warn({ err: e }, `cannot send the cluster heartbeat: ${describeError(e)}`);
      });
    }, this.#interval);
    this.#timer.unref();
  }

  /** Stops beating and deletes this server's record: it left, it did not die. */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#beating;
    await this.#o.client.hdel(this.#key, this.#o.serverId).catch(() => undefined);
    // Hand the lead over at once rather than after the lease runs out.
    if (this.#leader)
      await this.#o.client
        .fleetbanRelease(`{${this.#o.keyPrefix}}:leader`, this.#o.serverId)
        .catch(() => undefined);
    this.#leader = false;
  }

  /** The servers alive as of the last heartbeat, and whether their jails differ. */
  summary(): ClusterSummary {
    const alive = this.#servers.filter((s) => s.alive);
    const digests = new Set(alive.map((s) => s.jails));
    return {
      store: this.#o.store,
      self: this.#o.serverId,
      servers: this.#servers,
      leader: this.#leaderId,
      jailsDiffer: digests.size > 1,
    };
  }

  /** The summary plus how Redis serves it: nodes, roles, slots, and each server's feed lag. */
  async detail(): Promise<ClusterDetail> {
    const client = this.#o.client;
    const seq = Number((await client.get(`{${this.#o.keyPrefix}}:seq`)) ?? 0);
    const summary = this.summary();
    const nodes = client instanceof Cluster ? parseClusterNodes(await clusterNodes(client)) : [];
    const storeSlot = client instanceof Cluster ? keySlot(`{${this.#o.keyPrefix}}:seq`) : null;
    return {
      ...summary,
      seq,
      servers: summary.servers.map((s) => ({ ...s, lag: Math.max(0, seq - s.lastSeq) })),
      redis: nodes,
      storeSlot,
      slotsCovered: nodes.reduce(
        (n, node) => n + (node.role === 'master' && node.healthy ? node.slotCount : 0),
        0,
      ),
    };
  }

  async #beat(): Promise<void> {
    const now = this.#o.clock.now();
    const me = { ...this.#o.self(), seenAt: now };
    const client = this.#o.client;
    await client.hset(this.#key, this.#o.serverId, JSON.stringify(me));
    this.#leaderId = await client.fleetbanLeader(
      `{${this.#o.keyPrefix}}:leader`,
      this.#o.serverId,
      DEAD_AFTER * this.#interval,
    );
    const leading = this.#leaderId === this.#o.serverId;
    if (leading !== this.#leader)
      this.#o.logger.info(
        { server: this.#o.serverId },
        leading
          ? 'this server now leads the deployment (it counts bans for recidive-style jails)'
          : 'another server leads the deployment now',
      );
    this.#leader = leading;
    const all = await client.hgetall(this.#key);
    const servers: ClusterServerReport[] = [];
    const forget: string[] = [];
    for (const [id, raw] of Object.entries(all)) {
      let r: (SelfReport & { seenAt: EpochMs }) | null = null;
      try {
        r = JSON.parse(raw) as SelfReport & { seenAt: EpochMs };
      } catch {
        r = null;
      }
      if (r === null || now - r.seenAt > FORGET_AFTER_MS) {
        forget.push(id);
        continue;
      }
      servers.push({
        id,
        host: r.host,
        pid: r.pid,
        version: r.version,
        startedAt: r.startedAt,
        seenAt: r.seenAt,
        lastSeq: r.lastSeq,
        jails: r.jails,
        alive: now - r.seenAt <= DEAD_AFTER * this.#interval,
        self: id === this.#o.serverId,
      });
    }
    if (forget.length > 0) await client.hdel(this.#key, ...forget);
    servers.sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id));
    this.#servers = servers;
    this.#checkJails();
  }

  #checkJails(): void {
    const alive = this.#servers.filter((s) => s.alive);
    const byDigest = new Map<string, string[]>();
    for (const s of alive) byDigest.set(s.jails, [...(byDigest.get(s.jails) ?? []), s.id]);
    const key = [...byDigest.keys()].sort().join(',');
    if (byDigest.size <= 1 || key === this.#warnedDigests) {
      if (byDigest.size <= 1) this.#warnedDigests = '';
      return;
    }
    this.#warnedDigests = key;
    const groups = [...byDigest.entries()].map(([d, ids]) => `${d}: ${ids.join(', ')}`).join('; ');
    this.#o.logger.warn(
      { groups: Object.fromEntries(byDigest) },
      `the servers of this deployment run different jail definitions (${groups}): an attacker's failures count differently depending on the server its lines reach; give every server the same jails`,
    );
  }
}

async function clusterNodes(client: Cluster): Promise<string> {
  const node = client.nodes('master')[0];
  if (node === undefined) return '';
  return (await node.call('CLUSTER', 'NODES')) as string;
}

/** Redis Cluster's CRC16 key slot, with hash tags, as CLUSTER KEYSLOT computes it. */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  let k = key;
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) k = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(k, 'utf8')) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

/** One line of CLUSTER NODES per node: address, role, health, slot ranges. */
export function parseClusterNodes(text: string): RedisNodeReport[] {
  const out: RedisNodeReport[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(' ');
    if (f.length < 8) continue;
    const flags = (f[2] ?? '').split(',');
    const ranges = f.slice(8).filter((r) => /^\d+(-\d+)?$/.test(r));
    let slotCount = 0;
    for (const r of ranges) {
      const [lo, hi] = r.split('-').map(Number);
      slotCount += (hi ?? lo ?? 0) - (lo ?? 0) + 1;
    }
    out.push({
      id: f[0] ?? '',
      address: (f[1] ?? '').split('@')[0] ?? '',
      role: flags.includes('master') ? 'master' : 'replica',
      masterId: f[3] === '-' ? null : (f[3] ?? null),
      healthy: !flags.some((x) => x === 'fail' || x === 'fail?') && f[7] === 'connected',
      slots: ranges,
      slotCount,
    });
  }
  return out.sort((a, b) => a.address.localeCompare(b.address));
}
