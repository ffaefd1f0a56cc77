// The control-plane facade: everything the admin API may ask of a running server, and the reports it gets back.
import type { EpochMs } from '../core/clock.js';
import type { Seconds } from '../core/duration.js';
import type { Ban, BanDetails, Transport } from '../core/types.js';
import type { MetricFamily } from './metrics.js';

/** One jail's configuration and counters since the server started (counters survive reloads). */
export interface JailStatusReport {
  readonly name: string;
  readonly enabled: boolean;
  readonly filter: string;
  readonly maxretry: number;
  readonly findtime: Seconds;
  /** Seconds, or null when the jail bans permanently. */
  readonly bantime: Seconds | null;
  /** Lines routed to this jail. */
  readonly linesSeen: number;
  /** Lines a failregex matched. */
  readonly matched: number;
  /** Matches dropped by ignoreregex or ignoreip. */
  readonly ignored: number;
  /** Failures counted towards maxretry. */
  readonly failures: number;
  /** Times an attacker crossed maxretry and a ban was asked for. */
  readonly banRequests: number;
  readonly activeBans: number;
  /** Attackers with failures inside the current findtime window. */
  readonly trackedAttackers: number;
}

/** One ingest listener as bound (port 0 resolved). */
export interface ListenerReport {
  readonly transport: Transport;
  readonly address: string;
  readonly port: number;
  /** UDP: how the socket is read, `recvmmsg` or (addon not built) `dgram`. */
  readonly reader?: string;
}

export interface IngestReport {
  readonly listening: readonly ListenerReport[];
  readonly messages: number;
  readonly bytes: number;
  /** Messages refused before parsing (sender not allowed, connection limit, …). */
  readonly dropped: number;
  readonly oversized: number;
  readonly framingErrors: number;
  readonly invalidUtf8: number;
  readonly parseErrors: number;
  /** Messages parsed and handed to the jails. */
  readonly parsed: number;
  /** UDP datagrams dropped because the jails fell behind the receiving thread. */
  readonly backlogDropped: number;
  readonly connectionsOpen: number;
}

export interface StatusReport {
  readonly version: string;
  readonly startedAt: EpochMs;
  readonly uptimeSec: Seconds;
  readonly jails: readonly JailStatusReport[];
  /** All active bans, manual ones included. */
  readonly activeBans: number;
  readonly ingest: IngestReport;
  readonly store: { readonly activeBans: number; readonly lastSeq: number };
  /** The mail outbox; absent from servers that predate mail. */
  readonly outbox?: OutboxReport;
  /** The ban-rate brake; absent from servers that predate it. */
  readonly brake?: BrakeReport;
  /** What no ban may cover, and what that stopped; absent from older servers. */
  readonly neverBan?: NeverBanReport;
  /** The servers sharing this server's Redis store; absent on the level store. */
  readonly cluster?: ClusterSummary;
  /** Senders flagged silent; absent from older servers. */
  readonly silentSenders?: SilentSendersReport;
  /** Each of notify.webhooks, in config order; absent from older servers. */
  readonly webhooks?: readonly WebhookReport[];
}

/** One webhook: where it is in the change feed, and how its last deliveries went. */
export interface WebhookReport {
  /** `webhook 1 (hooks.example.net)`: never the URL, whose path is often the secret. */
  readonly name: string;
  /** The last feed sequence number delivered (or skipped as filtered out). */
  readonly position: number;
  /** Feed entries after the position (some may be filtered out). */
  readonly pending: number;
  /** POSTs answered 2xx, retried after a failure, refused with a 4xx, since start. */
  readonly sent: number;
  readonly failed: number;
  readonly dropped: number;
  readonly lastDeliveryAt: EpochMs | null;
  readonly lastError: string | null;
  readonly lastErrorAt: EpochMs | null;
  /** Set while a failed POST waits for its retry. */
  readonly nextRetryAt: EpochMs | null;
}

/** One server of a Redis deployment, as its last heartbeat told. */
export interface ClusterServerReport {
  /** host:pid:random, unique per run. */
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly version: string;
  readonly startedAt: EpochMs;
  readonly seenAt: EpochMs;
  /** The last sequence number it had announced then. */
  readonly lastSeq: number;
  /** Digest of its jail definitions: servers that differ count failures differently. */
  readonly jails: string;
  /** Heard of within the last three heartbeats. */
  readonly alive: boolean;
  /** The server answering. */
  readonly self: boolean;
}

export interface ClusterSummary {
  /** Where the shared store is ("Redis Cluster (seeds …)"). */
  readonly store: string;
  readonly self: string;
  readonly servers: readonly ClusterServerReport[];
  /** The server that does what must happen once (counting bans for recidive); null: none yet. */
  readonly leader: string | null;
  /** The live servers run different jail definitions. */
  readonly jailsDiffer: boolean;
}

/** One Redis node as CLUSTER NODES tells it. */
export interface RedisNodeReport {
  readonly id: string;
  readonly address: string;
  readonly role: 'master' | 'replica';
  /** The master a replica follows; null for a master. */
  readonly masterId: string | null;
  readonly healthy: boolean;
  /** Slot ranges served ("0-5460"). */
  readonly slots: readonly string[];
  readonly slotCount: number;
}

/** `fleetban cluster status`: the summary, Redis' layout, and how far each server is behind. */
export interface ClusterDetail extends ClusterSummary {
  /** The store's last sequence number in Redis. */
  readonly seq: number;
  readonly servers: readonly (ClusterServerReport & { readonly lag: number })[];
  /** Empty on a standalone Redis. */
  readonly redis: readonly RedisNodeReport[];
  /** The slot holding the ban state (one shard); null on a standalone Redis. */
  readonly storeSlot: number | null;
  /** Slots served by a healthy master: 16384 when the cluster is whole. */
  readonly slotsCovered: number;
}

/** The never-ban list: every protected address or prefix, and the bans it narrowed, refused or withheld. */
export interface NeverBanReport {
  readonly entries: readonly {
    readonly cidr: string;
    /** self, sender, agent or admin. */
    readonly source: string;
    /** Interface, config key or agent name. */
    readonly note: string;
  }[];
  /** Jail bans narrowed to spare an ignored or protected address. */
  readonly narrowed: number;
  /** Jail bans dropped because the attacker itself is ignored or protected. */
  readonly refused: number;
  /** Admin bans refused with FLEETBAN_BAN_PROTECTED. */
  readonly manualRefused: number;
  /** Stored bans left out of agent streams and nftables documents. */
  readonly withheld: number;
}

/** The mail outbox: what waits, and how the last attempts went. */
export interface OutboxReport {
  /** mail.enabled; when false nothing is queued or sent. */
  readonly enabled: boolean;
  /** Where mail goes, without secrets (`smtp mail.example.net:587 (STARTTLS required)`). */
  readonly transport: string;
  /** Notices waiting (held by flood control, or by a failing mail server). */
  readonly pending: number;
  /** Mails accepted by the mail server since start. */
  readonly sent: number;
  readonly failedAttempts: number;
  readonly lastError: string | null;
  readonly lastErrorAt: EpochMs | null;
  readonly lastSuccessAt: EpochMs | null;
  /** When the next attempt after a failure is due; null when not backing off. */
  readonly nextRetryAt: EpochMs | null;
}

/** What a reload changed. Jail names, sorted. */
export interface ReloadReport {
  readonly jails: readonly string[];
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
  /** Non-fatal remarks (e.g. a jail disabled because its filter matched nothing). */
  readonly warnings: readonly string[];
}

/** What ingest has seen from one sending host since the server started. */
export interface SenderReport {
  readonly address: string;
  readonly messages: number;
  readonly bytes: number;
  readonly parseErrors: number;
  readonly dropped: number;
  readonly invalidUtf8: number;
  readonly oversized: number;
  /** Lines claiming a HOSTNAME bound to other addresses (ingest.senders); absent: older server. */
  readonly spoofedHostname?: number;
  readonly firstSeen: EpochMs;
  readonly lastSeen: EpochMs;
  readonly transports: readonly Transport[];
  /** When the sender was flagged silent (ingest.silentAfter); null: it is not; absent: older server. */
  readonly silentSince?: EpochMs | null;
}

/** Senders that sent logs and then fell silent for ingest.silentAfter. */
export interface SilentSendersReport {
  /** false when ingest.silentAfter is 0. */
  readonly enabled: boolean;
  readonly silentAfterSec: Seconds;
  /** Flagged now, longest silent first; `name` is the host bound in ingest.senders, or ''. */
  readonly senders: readonly {
    readonly address: string;
    readonly name: string;
    readonly lastSeen: EpochMs;
    readonly since: EpochMs;
  }[];
}

export interface HealthReport {
  readonly ok: boolean;
  /** One line per checked part, e.g. `{ store: 'ok', ingest: 'udp 127.0.0.1:5514 not bound' }`. */
  readonly checks: Readonly<Record<string, string>>;
}

/**
 * A ban as listed: the ban plus its failures per reporting host. Matched lines stay out of
 * listings (they are in the mail), so listing thousands of bans stays small.
 */
export type ListedBan = Ban & Pick<BanDetails, 'hosts'>;

export interface BanCommand {
  /** An IP address or CIDR prefix as the admin typed it; the facade canonicalises it. */
  readonly target: string;
  /** The jail to record the ban under; omitted = a manual ban outside any jail. */
  readonly jail?: string;
  /** Seconds; null = permanent; undefined = the jail's bantime (or the manual default). */
  readonly durationSec?: Seconds | null;
  readonly reason?: string;
}

export type UnbanCommand = { readonly target: string } | { readonly all: true };

/**
 * What the admin API (and nothing else) calls on the running server. The composition root
 * implements it over the live jails, ingest and ban store.
 *
 * Contract for every method:
 * - returned values are plain JSON-serialisable data, never live objects the caller could mutate;
 * - expected failures throw `FleetbanError` with the code named below; the HTTP layer maps codes
 *   to statuses, so implementations never think about HTTP;
 * - any other throw is a bug: the admin API answers 500 and logs it, the server keeps running.
 * Synchronous methods must be cheap (read counters, no I/O): they serve `/metrics` scrapes.
 */
export interface ControlPlane {
  status(): StatusReport;

  /** Throws JAIL_UNKNOWN when no jail has this name. */
  jailStatus(name: string): JailStatusReport;

  /**
   * Active bans, optionally of one jail, ordered by start time (oldest first), each with its
   * per-host counts (read from the store's details; `{}` for a manual ban).
   * An unknown jail name yields an empty list: bans of a jail removed by reload stay listable.
   */
  bans(query: { readonly jail?: string }): Promise<ListedBan[]>;

  /**
   * Records a manual ban and resolves once the store has written it (agents learn of it from
   * the change feed). Banning an already banned target replaces that ban.
   * Throws BAN_TARGET_INVALID (not an address or prefix), JAIL_UNKNOWN, BAN_IGNORED (the target
   * is on the global or the jail's ignore list: fleetban never bans its own fleet), BAN_PROTECTED
   * (the target covers a never-ban address: the server's own, a sender, an agent, an admin network).
   */
  ban(req: BanCommand): Promise<Ban>;

  /**
   * Lifts one ban (the target must match an active ban exactly, after canonicalisation) or all.
   * Resolves with the lifted bans once written. Throws BAN_TARGET_INVALID, or BAN_NOT_FOUND
   * when a single target is not banned; `{ all: true }` with nothing banned resolves with [].
   */
  unban(req: UnbanCommand): Promise<Ban[]>;

  /**
   * Re-reads the configuration and swaps it in atomically. On a bad config throws
   * CONFIG_INVALID / JAIL_INVALID / FILTER_INVALID with a message naming the file and key, and
   * the running config stays untouched. Counters and bans survive a reload.
   */
  reload(): Promise<ReloadReport>;

  /** Per-sender ingest statistics, most recently seen first. */
  senders(): SenderReport[];

  /** The server's metrics; the admin API appends its own and renders them. */
  metrics(): MetricFamily[];

  /** `ok` false answers 503 on /healthz; each check says what is wrong in one line. */
  health(): HealthReport;

  /** The servers sharing the Redis store and how Redis serves it; throws NOT_FOUND on the level store. */
  cluster(): Promise<ClusterDetail>;
}

/** A budget that is exhausted right now: one sender's, or the fleet's (`scope: 'fleet'`). */
export interface BrakeTripReport {
  readonly scope: 'sender' | 'fleet';
  /** The sender's address; '' for the fleet. */
  readonly sender: string;
  readonly since: EpochMs;
  /** Bans held since this trip began. */
  readonly held: number;
}

export interface BrakeReport {
  readonly enabled: boolean;
  readonly perSenderPerMinute: number;
  readonly fleetPerMinute: number;
  readonly maxHeld: number;
  /** Bans waiting for review now. */
  readonly held: number;
  /** Budgets exhausted now. */
  readonly tripped: readonly BrakeTripReport[];
  /** Since the server started: */
  readonly trips: number;
  readonly heldTotal: number;
  readonly released: number;
  readonly discarded: number;
  /** Bans dropped because `maxHeld` bans were already waiting. */
  readonly overflow: number;
}
