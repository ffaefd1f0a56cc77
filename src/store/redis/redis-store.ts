// The Redis ban store: several fleetban servers share one truth on Redis Cluster (or one Redis); each keeps the active bans in memory.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, type Result } from 'ioredis';
import type { EpochMs } from '../../core/clock.js';
import { describeError, ErrorCode, FleetbanError, isFleetbanError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import type {
  AttackerHistory,
  Ban,
  BanDetails,
  Change,
  DetailedBan,
  HeldBan,
  Notice,
} from '../../core/types.js';
import { ActiveBans } from '../active-bans.js';
import { encodeBan } from '../codec.js';
import { GroupCommit } from '../group-commit.js';
import { HeldSet } from '../held.js';
import { outboxRecordOf, planGroup, type GroupPlan, type StoreOp } from '../plan.js';
import {
  ChangeSubscribers,
  type BanStore,
  type ChangeListener,
  type NewBan,
  type SentMail,
  type StoreStats,
  type UnbanRequest,
} from '../store.js';
import {
  createRedisClient,
  describeTarget,
  type RedisClient,
  type RedisConnectionOptions,
} from './client.js';
import { feedId, storeKeys, type StoreKeys } from './keys.js';
import { changeOf, readView, SCAN_COUNT } from './read-view.js';
import {
  ACK_SCRIPT,
  COMMIT_SCRIPT,
  LEASE_SCRIPT,
  PLAN_READ_SCRIPT,
  PRUNE_SCRIPT,
  RAISE_SEQ_SCRIPT,
  RELEASE_SCRIPT,
} from './scripts.js';

export const REDIS_SCHEMA_VERSION = 1;

/** What planning a group reads: the store's sequence number, histories and feed as of it. */
interface PlanRead {
  /** This server's last known sequence number when the read was sent. */
  readonly before: number;
  readonly seq: number;
  readonly histories: readonly (string | null)[];
  readonly entries: readonly [string, string[]][];
}

/** COMMIT_SCRIPT's answer: written (outbox size), or a conflict with what the next plan needs. */
type CommitReply = [1, number] | [0, number, (string | null)[], [string, string[]][]];

/** The attackers whose history a group of calls needs. */
function attackersOf(ops: readonly StoreOp[]): string[] {
  const attackers = new Set<string>();
  for (const op of ops)
    if (op.kind === 'ban')
      for (const b of op.bans) if (b.attacker !== '') attackers.add(b.attacker);
  return [...attackers];
}
const DEFAULT_FEED_RETENTION = 1_000_000;
/** The outbox lease: the server holding it mails; a dead holder's lease runs out after this. */
const OUTBOX_LEASE_MS = 30_000;
/** How long the follower blocks on the feed before it looks after the rest (regression, probe). */
const FOLLOW_BLOCK_MS = 1_000;
/** Durability marks kept (roughly): readers only need the newest. */
const MARKS_KEPT = 1_000;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    fleetbanCommit(...args: (string | Buffer | number)[]): Result<CommitReply, Context>;
    fleetbanRaiseSeq(key: string, seq: number): Result<number, Context>;
    fleetbanPlanRead(
      ...args: (string | number)[]
    ): Result<[number, (string | null)[], [string, string[]][]], Context>;
    fleetbanAck(...args: (string | number)[]): Result<number, Context>;
    fleetbanLease(key: string, id: string, ms: number): Result<number, Context>;
    fleetbanRelease(key: string, id: string): Result<number, Context>;
    fleetbanPrune(...args: (string | number)[]): Result<number, Context>;
  }
}

export interface RedisBanStoreOptions {
  readonly connection: RedisConnectionOptions;
  /** Prefix (and hash tag) of every key: several deployments can share one Redis. */
  readonly keyPrefix: string;
  /**
   * Replicas that must acknowledge a write (WAIT) before its changes are announced: to this
   * server's subscribers, and through a durability mark to the other servers'. 'auto': 1 on
   * Redis Cluster, 0 on a standalone server.
   */
  readonly waitReplicas: number | 'auto';
  /** How long WAIT waits; past it the changes are announced anyway, logged and counted. */
  readonly waitTimeoutMs: number;
  /** Change-feed entries kept: the last N. Readers further behind must resync. */
  readonly feedRetention?: number;
  /** How long a write keeps retrying while Redis is unreachable before its calls fail. */
  readonly retryForMs?: number;
  /** This server's name in the outbox lease (default: hostname, pid and a random tag). */
  readonly serverId?: string;
  readonly logger?: Logger;
}

/** What the Redis store can say of its health, for status and /healthz. */
export interface RedisStoreHealth {
  readonly target: string;
  readonly connected: boolean;
  /** The last Redis error while it is failing, else null. */
  readonly lastError: string | null;
  readonly waitReplicas: number;
  /** Writes announced without their replicas' acknowledgement (WAIT timed out). */
  readonly unreplicatedWrites: number;
  /** Writes planned again because another server wrote first. */
  readonly conflicts: number;
  /** Changes read from Redis or written here, not yet known to be on a replica. */
  readonly pendingChanges: number;
  /** Whether this server mails the outbox now. */
  readonly outboxLeader: boolean;
}

/**
 * The BanStore contract on Redis, for several servers at once.
 *
 * Layout: every key carries the hash tag {keyPrefix} (keys.ts), so a group of bans/unbans is one
 * Lua script on one shard: bans, details, history, feed entries and outbox notices at once. The
 * group is planned here with planGroup (as on LevelDB) against this server's view, and written
 * only if no other server wrote since (compare-and-set on the sequence number); otherwise the
 * view catches up and the group is planned again. So sequence numbers are one gapless series for
 * the whole cluster, valid on every server, and a target is unbanned exactly once.
 *
 * Each server keeps the active bans in memory (ActiveBans), fed by its own writes and by a
 * follower reading the feed stream (XREAD BLOCK). A change is announced (applied to memory and
 * emitted to subscribers: agents, mail, ban log) only once it is durable: its writer waited for
 * `waitReplicas` replicas (WAIT) and then added a durability mark that the other servers read.
 */
export class RedisBanStore implements BanStore {
  readonly #o: RedisBanStoreOptions;
  readonly #keys: StoreKeys;
  readonly #logger: Logger;
  readonly #retention: number;
  readonly #serverId: string;
  readonly #client: RedisClient;
  /** The follower's connection: XREAD BLOCK holds it. */
  readonly #reader: RedisClient;
  #waitReplicas = 0;
  #state: 'new' | 'opening' | 'open' | 'closing' | 'closed' = 'new';
  #closing: Promise<void> | null = null;
  #following: Promise<void> = Promise.resolve();
  #active = new ActiveBans();
  /** Last announced sequence number: every change up to it is in #active. */
  #lastSeq = 0;
  /** Changes after #lastSeq, in order and gapless, read or written but not yet durable. */
  #pending: Change[] = [];
  /** When the oldest pending change was first seen. */
  #pendingSince = 0;
  /** Every change up to this sequence number is known to be on `waitReplicas` replicas. */
  #durable = 0;
  #markId = '0-0';
  #outboxSize = 0;
  #held = new HeldSet();
  #batches = 0;
  #records = 0;
  #unreplicated = 0;
  #conflicts = 0;
  #lastError: string | null = null;
  #outboxLeader = false;
  /** This server's write on its way to Redis. */
  #inFlight: Promise<unknown> | null = null;
  readonly #writer = new GroupCommit<StoreOp, DetailedBan[] | Ban[]>((ops) => this.#commit(ops));
  readonly #subscribers: ChangeSubscribers;

  constructor(options: RedisBanStoreOptions) {
    this.#o = options;
    this.#keys = storeKeys(options.keyPrefix);
    this.#logger = options.logger ?? silentLogger;
    this.#retention = Math.max(1, Math.trunc(options.feedRetention ?? DEFAULT_FEED_RETENTION));
    this.#serverId =
      options.serverId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.#subscribers = new ChangeSubscribers((e) => {
      this.#logger.error({ err: e }, `a change subscriber failed: ${describeError(e)}`);
    });
    this.#client = createRedisClient(options.connection);
    this.#reader = createRedisClient(options.connection);
    for (const c of [this.#client, this.#reader]) {
      // ioredis reports every failed reconnect as an 'error' event; the store reports outages itself.
      c.on('error', (e: unknown) => {
        this.#noteError(e);
      });
    }
    this.#client.defineCommand('fleetbanCommit', { lua: COMMIT_SCRIPT });
    this.#client.defineCommand('fleetbanRaiseSeq', { lua: RAISE_SEQ_SCRIPT, numberOfKeys: 1 });
    this.#client.defineCommand('fleetbanPlanRead', { lua: PLAN_READ_SCRIPT, numberOfKeys: 3 });
    this.#client.defineCommand('fleetbanAck', { lua: ACK_SCRIPT, numberOfKeys: 3 });
    this.#client.defineCommand('fleetbanLease', { lua: LEASE_SCRIPT, numberOfKeys: 1 });
    this.#client.defineCommand('fleetbanRelease', { lua: RELEASE_SCRIPT, numberOfKeys: 1 });
    this.#client.defineCommand('fleetbanPrune', { lua: PRUNE_SCRIPT, numberOfKeys: 1 });
  }

  /** "Redis Cluster (seeds …)" or "Redis at …", for messages. */
  get target(): string {
    return describeTarget(this.#o.connection);
  }

  async open(): Promise<void> {
    if (this.#state !== 'new')
      throw new TypeError(`the ban store on ${this.target} was already opened`);
    this.#state = 'opening';
    try {
      await this.#client.connect();
      await this.#reader.connect();
      await this.#checkSchema();
      this.#waitReplicas =
        this.#o.waitReplicas === 'auto'
          ? this.#client instanceof Cluster
            ? 1
            : 0
          : this.#o.waitReplicas;
      await this.#reload();
      const lastMark = await this.#client.xrevrange(this.#keys.marks, '+', '-', 'COUNT', 1);
      this.#markId = lastMark[0]?.[0] ?? '0-0';
      this.#outboxSize = await this.#client.zcard(this.#keys.outboxIds);
      await this.#loadHeld();
    } catch (e) {
      this.#state = 'closed';
      this.#client.disconnect();
      this.#reader.disconnect();
      if (isFleetbanError(e)) throw e;
      // "Connection is closed." says little: the error the connection reported says why.
      const said = describeError(e);
      const why =
        this.#lastError !== null && this.#lastError !== said
          ? `${said} (${this.#lastError})`
          : said;
      throw new FleetbanError(
        ErrorCode.STORE_OPEN_FAILED,
        `cannot open the ban store on ${this.target}: ${why}`,
        { cause: e },
      );
    }
    this.#state = 'open';
    this.#following = this.#follow();
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#state === 'open') {
        this.#state = 'closing';
        await this.#writer.idle();
        this.#reader.disconnect();
        await this.#following;
        // Hand the outbox over at once rather than after the lease runs out.
        if (this.#outboxLeader)
          await this.#client
            .fleetbanRelease(this.#keys.outboxLease, this.#serverId)
            .catch(() => undefined);
        await this.#client.quit().catch(() => undefined);
      }
      this.#state = 'closed';
    })();
    return this.#closing;
  }

  ban(bans: readonly NewBan[]): Promise<DetailedBan[]> {
    if (this.#state !== 'open' || bans.length === 0) return this.#ready().then(() => []);
    return this.#writer.submit({ kind: 'ban', bans }) as Promise<DetailedBan[]>;
  }

  unban(requests: readonly UnbanRequest[]): Promise<Ban[]> {
    if (this.#state !== 'open' || requests.length === 0) return this.#ready().then(() => []);
    return this.#writer.submit({ kind: 'unban', requests });
  }

  get(target: string): Ban | undefined {
    return this.#active.get(target);
  }

  endOf(target: string): EpochMs | null | undefined {
    return this.#active.endOf(target);
  }

  async details(target: string): Promise<BanDetails | null> {
    await this.#ready();
    return this.#reach(() => this.#details(target));
  }

  async #details(target: string): Promise<BanDetails | null> {
    if (this.#active.get(target) === undefined) return null;
    const raw = await this.#client.hget(this.#keys.details, target);
    return raw === null ? { hosts: {}, lines: [] } : (JSON.parse(raw) as BanDetails);
  }

  active(): IterableIterator<Ban> {
    return this.#active.values();
  }

  activeTargets(): IterableIterator<string> {
    return this.#active.targets();
  }

  due(now: EpochMs): Ban[] {
    return this.#active.due(now);
  }

  nextExpiry(): EpochMs | null {
    return this.#active.nextExpiry();
  }

  async history(attacker: string): Promise<AttackerHistory | null> {
    await this.#ready();
    return this.#reach(() => this.#history(attacker));
  }

  async #history(attacker: string): Promise<AttackerHistory | null> {
    const raw = await this.#client.hget(this.#keys.history, attacker);
    return raw === null ? null : (JSON.parse(raw) as AttackerHistory);
  }

  async pruneHistory(before: EpochMs): Promise<number> {
    await this.#ready();
    return this.#reach(() => this.#pruneHistory(before));
  }

  async #pruneHistory(before: EpochMs): Promise<number> {
    let pruned = 0;
    let cursor = '0';
    do {
      const [next, flat] = await this.#client.hscan(
        this.#keys.history,
        cursor,
        'COUNT',
        SCAN_COUNT,
      );
      cursor = next;
      const old: string[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const h = JSON.parse(flat[i + 1] as string) as AttackerHistory;
        if (h.lastBanAt < before) old.push(flat[i] as string);
      }
      if (old.length > 0) {
        // The script reads each record again: a ban in between keeps it.
        pruned += await this.#client.fleetbanPrune(this.#keys.history, before, ...old);
        this.#batches++;
        this.#records += old.length;
      }
    } while (cursor !== '0');
    return pruned;
  }

  async changesSince(after: number, limit: number): Promise<Change[] | null> {
    await this.#ready();
    return this.#reach(() => this.#changesSince(after, limit));
  }

  async #changesSince(after: number, limit: number): Promise<Change[] | null> {
    if (after < 0 || after > this.#lastSeq) return null;
    if (limit <= 0 || after === this.#lastSeq) return [];
    const entries = await this.#client.xrange(
      this.#keys.feed,
      feedId(after + 1),
      feedId(this.#lastSeq),
      'COUNT',
      limit,
    );
    const changes = entries.map(([, fields]) => changeOf(fields));
    // Trimmed (or lost with a master) past the reader's position: it must resync.
    if (changes[0]?.seq !== after + 1) return null;
    return changes;
  }

  subscribe(listener: ChangeListener): () => void {
    return this.#subscribers.add(listener);
  }

  stats(): StoreStats {
    return {
      activeBans: this.#active.size,
      lastSeq: this.#lastSeq,
      batchesWritten: this.#batches,
      recordsWritten: this.#records,
    };
  }

  health(): RedisStoreHealth {
    return {
      target: this.target,
      connected: this.#lastError === null && this.#client.status === 'ready',
      lastError: this.#lastError,
      waitReplicas: this.#waitReplicas,
      unreplicatedWrites: this.#unreplicated,
      conflicts: this.#conflicts,
      pendingChanges: this.#pending.length,
      outboxLeader: this.#outboxLeader,
    };
  }

  /**
   * Pending notices, but only on the server that holds the outbox lease (taken or renewed here):
   * the others see none, so each notice is mailed by one server. A dead holder's lease runs out
   * and the next server to look takes its notices over.
   */
  async outbox(limit: number): Promise<Notice[]> {
    await this.#ready();
    return this.#reach(() => this.#outbox(limit));
  }

  async #outbox(limit: number): Promise<Notice[]> {
    const k = this.#keys;
    this.#outboxLeader =
      (await this.#client.fleetbanLease(k.outboxLease, this.#serverId, OUTBOX_LEASE_MS)) === 1;
    if (!this.#outboxLeader || limit <= 0) return [];
    const ids = await this.#client.zrange(k.outboxIds, '0', String(limit - 1));
    if (ids.length === 0) return [];
    const raws = await this.#client.hmget(k.outbox, ...ids);
    return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as Notice);
  }

  async ackOutbox(ids: readonly number[], sent?: SentMail): Promise<void> {
    await this.#ready();
    return this.#reach(() => this.#ackOutbox(ids, sent));
  }

  async #ackOutbox(ids: readonly number[], sent?: SentMail): Promise<void> {
    if (ids.length === 0 && sent === undefined) return;
    const k = this.#keys;
    const member =
      sent === undefined ? '' : `${sent.at}/${sent.route}/${randomBytes(4).toString('hex')}`;
    this.#outboxSize = await this.#client.fleetbanAck(
      k.outbox,
      k.outboxIds,
      k.sentMail,
      sent === undefined ? '' : sent.at,
      member,
      ...ids,
    );
    this.#batches++;
    this.#records += ids.length + (sent === undefined ? 0 : 1);
  }

  outboxSize(): number {
    return this.#outboxSize;
  }

  async sentMail(since: EpochMs): Promise<SentMail[]> {
    await this.#ready();
    return this.#reach(() => this.#sentMail(since));
  }

  async #sentMail(since: EpochMs): Promise<SentMail[]> {
    const k = this.#keys.sentMail;
    await this.#client.zremrangebyscore(k, '-inf', `(${Math.max(0, since)}`);
    const members = await this.#client.zrangebyscore(k, Math.max(0, since), '+inf');
    return members.map((m) => {
      const first = m.indexOf('/');
      return { at: Number(m.slice(0, first)), route: m.slice(first + 1, m.lastIndexOf('/')) };
    });
  }

  async hold(entries: readonly HeldBan[]): Promise<void> {
    await this.#ready();
    return this.#reach(() => this.#hold(entries));
  }

  async #hold(entries: readonly HeldBan[]): Promise<void> {
    if (entries.length === 0) return;
    const fields: string[] = [];
    for (const e of entries) fields.push(e.target, JSON.stringify(e));
    await this.#client.hset(this.#keys.held, ...fields);
    this.#batches++;
    this.#records += entries.length;
    this.#held.put(entries);
  }

  held(): HeldBan[] {
    return this.#held.list();
  }

  heldSize(): number {
    return this.#held.size;
  }

  async dropHeld(targets: readonly string[]): Promise<HeldBan[]> {
    await this.#ready();
    return this.#reach(() => this.#dropHeld(targets));
  }

  async #dropHeld(targets: readonly string[]): Promise<HeldBan[]> {
    const known = [...new Set(targets)].filter((t) => this.#held.get(t) !== undefined);
    if (known.length === 0) return [];
    await this.#client.hdel(this.#keys.held, ...known);
    this.#batches++;
    this.#records += known.length;
    return this.#held.take(known);
  }

  /** Runs a read or a small write, turning a Redis failure into an error that names Redis. */
  async #reach<T>(call: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + (this.#o.retryForMs ?? 30_000);
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await call();
        this.#noteOk();
        return result;
      } catch (e) {
        if (isFleetbanError(e)) throw e;
        this.#noteError(e);
        // A cluster between a master's death and its replica's promotion: wait it out, as writes do.
        if (failingOver(e) && Date.now() < deadline && this.#state === 'open') {
          await sleep(Math.min(100 * 2 ** Math.min(attempt, 4), 1_000));
          continue;
        }
        throw new FleetbanError(
          ErrorCode.STORE_UNAVAILABLE,
          `cannot reach the ban store on ${this.target}: ${describeError(e)}`,
          { cause: e },
        );
      }
    }
  }

  /** A call, not a field read: the store may close during any await, which narrowing cannot see. */
  #stopped(): boolean {
    return this.#state !== 'open';
  }

  #ready(): Promise<void> {
    if (this.#state === 'open') return Promise.resolve();
    return Promise.reject(
      new FleetbanError(
        ErrorCode.STORE_CLOSED,
        `the ban store on ${this.target} is not open (${this.#state})`,
      ),
    );
  }

  async #checkSchema(): Promise<void> {
    const k = this.#keys.schema;
    await this.#client.set(k, String(REDIS_SCHEMA_VERSION), 'NX');
    const found = Number(await this.#client.get(k));
    if (found !== REDIS_SCHEMA_VERSION)
      throw new FleetbanError(
        ErrorCode.STORE_OPEN_FAILED,
        `the ban store under key prefix "${this.#o.keyPrefix}" on ${this.target} has schema version ${found}; this fleetban reads version ${REDIS_SCHEMA_VERSION}`,
      );
  }

  async #loadHeld(): Promise<void> {
    const all = await this.#client.hvals(this.#keys.held);
    const held = new HeldSet();
    held.put(all.map((raw) => JSON.parse(raw) as HeldBan));
    this.#held = held;
  }

  /**
   * Rebuilds the memory view from Redis: the sequence number first, then every ban (HSCAN), then
   * the feed after that number, which mends whatever changed during the scan. What Redis holds is
   * taken as announced. Subscribers are not told: a reader that follows changes finds a gap at the
   * next one and resyncs (AgentStream does).
   */
  async #reload(): Promise<void> {
    const view = await readView(this.#client, this.#keys);
    if (view.skipped > 0)
      this.#logger.warn(
        { skipped: view.skipped },
        `skipped ${view.skipped} unreadable ban records on ${this.target}`,
      );
    this.#active = view.active;
    this.#lastSeq = view.lastSeq;
    this.#pending = [];
    this.#durable = view.lastSeq;
  }

  #lastKnown(): number {
    return this.#pending[this.#pending.length - 1]?.seq ?? this.#lastSeq;
  }

  /**
   * Takes changes read from the feed or written here, in order. Returns false on a gap (the
   * feed lost entries: trimmed, or a failed master's last writes): the caller reloads.
   */
  #accept(changes: readonly Change[]): boolean {
    for (const c of changes) {
      const known = this.#lastKnown();
      if (c.seq <= known) continue;
      if (c.seq !== known + 1) return false;
      if (this.#pending.length === 0) this.#pendingSince = Date.now();
      this.#pending.push(c);
    }
    if (this.#waitReplicas === 0) this.#durable = this.#lastKnown();
    this.#release();
    return true;
  }

  /** Announces the pending changes that are durable: into memory, then to subscribers. */
  #release(): void {
    let n = 0;
    while (n < this.#pending.length && (this.#pending[n]?.seq ?? Infinity) <= this.#durable) n++;
    if (n === 0) return;
    const changes = this.#pending.splice(0, n);
    this.#pendingSince = Date.now();
    this.#active.apply(changes);
    this.#lastSeq = changes[changes.length - 1]?.seq ?? this.#lastSeq;
    this.#subscribers.emit(changes);
  }

  /**
   * The feed does not continue where this server's view ends. When Redis is behind what this
   * server announced (a master failed before its replica had the last writes), the sequence
   * number is raised past everything announced, so no number is ever given twice, and the bans
   * this server announced that Redis lost are written again. Then the view is rebuilt.
   */
  async #recover(why: string): Promise<void> {
    const announced = this.#lastKnown();
    const stored = Number((await this.#client.get(this.#keys.seq)) ?? 0);
    const before =
      stored < announced ? new Map([...this.#active.values()].map((b) => [b.target, b])) : null;
    if (before !== null) await this.#client.fleetbanRaiseSeq(this.#keys.seq, announced);
    await this.#reload();
    if (before === null) {
      this.#logger.warn(
        { why, seq: this.#lastSeq },
        `rebuilt the ban view from ${this.target} after ${why}`,
      );
      return;
    }
    const now = Date.now();
    const lost = [...before.values()].filter(
      (b) => this.#active.get(b.target) === undefined && (b.end === null || b.end > now),
    );
    this.#logger.error(
      { storedSeq: stored, announcedSeq: announced, lost: lost.length },
      `${this.target} lost changes ${stored + 1}..${announced} that this server had announced (a master failed before its replica had them); sequence numbers continue after ${announced}, and ${lost.length} lost bans are written again`,
    );
    if (lost.length > 0)
      // After this group: the writer is busy with it now.
      queueMicrotask(() => {
        this.ban(lost.map((b) => ({ ...b, hosts: {}, lines: [] }))).catch((e: unknown) => {
          this.#logger.error({ err: e }, `cannot write the lost bans again: ${describeError(e)}`);
        });
      });
  }

  /** Writes one group, retrying while Redis is unreachable, up to `retryForMs`. */
  async #commit(ops: readonly StoreOp[]): Promise<(DetailedBan[] | Ban[])[]> {
    const deadline = Date.now() + (this.#o.retryForMs ?? 30_000);
    const names = attackersOf(ops);
    let read: PlanRead | null = null;
    for (let attempt = 0; ; attempt++) {
      try {
        read ??= await this.#planRead(names);
        const outcome = await this.#tryCommit(ops, names, read);
        if (outcome.kind === 'written') {
          this.#noteOk();
          return outcome.results;
        }
        this.#conflicts++;
        read = outcome.next;
      } catch (e) {
        read = null;
        this.#noteError(e);
        if (Date.now() >= deadline || this.#state !== 'open')
          throw new FleetbanError(
            ErrorCode.STORE_UNAVAILABLE,
            `cannot write to the ban store on ${this.target}: ${describeError(e)}`,
            { cause: e },
          );
        await sleep(Math.min(100 * 2 ** Math.min(attempt, 4), 1_000));
      }
    }
  }

  /** One round trip: the store's sequence number, these histories as of it, and the feed up to it. */
  async #planRead(names: readonly string[]): Promise<PlanRead> {
    const before = this.#lastKnown();
    const [seq, histories, entries] = await this.#client.fleetbanPlanRead(
      this.#keys.seq,
      this.#keys.history,
      this.#keys.feed,
      before + 1,
      SCAN_COUNT,
      ...names,
    );
    return { before, seq, histories, entries };
  }

  /**
   * One attempt on what `read` answered. 'again' (with what the next attempt reads, or null to
   * read afresh) when the view cannot be planned on or another server wrote first.
   */
  async #tryCommit(
    ops: readonly StoreOp[],
    names: readonly string[],
    read: PlanRead,
  ): Promise<
    | { readonly kind: 'written'; readonly results: (DetailedBan[] | Ban[])[] }
    | { readonly kind: 'again'; readonly next: PlanRead | null }
  > {
    const again = { kind: 'again', next: null } as const;
    if (read.seq < read.before) {
      await this.#recover('a write found Redis behind this server');
      return again;
    }
    if (!this.#accept(read.entries.map(([, fields]) => changeOf(fields)))) {
      await this.#recover('a gap in the change feed');
      return again;
    }
    // Far behind (more than a page), or the follower read newer entries while this read was on
    // its way back (the histories may be older than the view): plan again from a fresh read.
    if (this.#lastKnown() !== read.seq) return again;
    const known = new Map<string, AttackerHistory>();
    names.forEach((name, i) => {
      const raw = read.histories[i];
      if (typeof raw === 'string') known.set(name, JSON.parse(raw) as AttackerHistory);
    });
    const base = read.seq;
    const overlay = new Map<string, Ban | null>();
    for (const c of this.#pending)
      overlay.set(c.kind === 'ban' ? c.ban.target : c.target, c.kind === 'ban' ? c.ban : null);
    const plan = planGroup(
      ops,
      base,
      (t) => {
        const o = overlay.get(t);
        return o === null ? undefined : (o ?? this.#active.get(t));
      },
      (a) => known.get(a) ?? null,
    );
    if (plan.effects.length === 0) return { kind: 'written', results: plan.results };

    // The follower waits for this write: its changes are announced here, outbox count and all.
    const write = this.#write(plan, base, names);
    this.#inFlight = write;
    try {
      const next = await write;
      return next === true ? { kind: 'written', results: plan.results } : { kind: 'again', next };
    } finally {
      this.#inFlight = null;
    }
  }

  /**
   * Writes a plan made on top of `base`: true when written; when another server wrote first,
   * what the next attempt needs (read by the same script), or null to read afresh.
   */
  async #write(
    plan: GroupPlan,
    base: number,
    names: readonly string[],
  ): Promise<true | PlanRead | null> {
    const { keys, args } = this.#commitArgs(plan, base, names);
    const pipeline = this.#client.pipeline().fleetbanCommit(keys.length, ...keys, ...args);
    if (this.#waitReplicas > 0) pipeline.wait(this.#waitReplicas, this.#o.waitTimeoutMs);
    const replies = (await pipeline.exec()) ?? [];
    const [commitErr, written] = replies[0] ?? [new Error('no reply'), null];
    if (commitErr !== null) throw commitErr;
    const reply = written as CommitReply;
    if (reply[0] === 0) {
      const [, current, histories, entries] = reply;
      if (current < base) {
        await this.#recover('a write found Redis behind this server');
        return null;
      }
      return { before: base, seq: current, histories, entries };
    }
    const value = reply[1];
    this.#batches++;
    this.#records += args.length;
    this.#outboxSize = value;
    if (this.#waitReplicas > 0) {
      const [waitErr, acks] = replies[1] ?? [new Error('no reply'), 0];
      if (waitErr !== null || (acks as number) < this.#waitReplicas) {
        this.#unreplicated++;
        this.#logger.warn(
          {
            seq: plan.lastSeq,
            replicas: waitErr === null ? acks : null,
            wanted: this.#waitReplicas,
          },
          `changes up to ${plan.lastSeq} are announced without ${this.#waitReplicas} replica(s) of ${this.target} acknowledging them within ${this.#o.waitTimeoutMs} ms${waitErr === null ? '' : `: ${describeError(waitErr)}`}`,
        );
      }
      // WAIT covers every earlier write on that master too.
      this.#durable = Math.max(this.#durable, plan.lastSeq);
    }
    this.#accept(plan.effects.map((e) => e.change));
    if (this.#waitReplicas > 0) void this.#mark(plan.lastSeq);
    return true;
  }

  /** The keys and arguments of COMMIT_SCRIPT for one plan. */
  #commitArgs(
    plan: GroupPlan,
    base: number,
    names: readonly string[],
  ): { keys: string[]; args: (string | Buffer | number)[] } {
    const k = this.#keys;
    const keys = [k.seq, k.feed, k.outboxIds, k.bans, k.details, k.history, k.outbox];
    const BANS = 4;
    const DETAILS = 5;
    const HISTORY = 6;
    const OUTBOX = 7;
    const keepFrom = plan.lastSeq - this.#retention + 1;
    const args: (string | Buffer | number)[] = [
      base,
      plan.lastSeq,
      keepFrom,
      SCAN_COUNT,
      names.length,
      ...names,
    ];
    for (const e of plan.effects) {
      if (e.kind === 'ban') {
        args.push('h', BANS, e.target, encodeBan(e.ban));
        args.push('h', DETAILS, e.target, JSON.stringify(e.details));
      } else {
        args.push('d', BANS, e.target, 'd', DETAILS, e.target);
      }
      args.push('x', e.change.seq, JSON.stringify(e.change));
      const notice = outboxRecordOf(e);
      if (notice !== null)
        args.push('h', OUTBOX, notice.id, JSON.stringify(notice), 'o', notice.id);
    }
    for (const [attacker, h] of plan.histories)
      args.push('h', HISTORY, attacker, JSON.stringify(h));
    return { keys, args };
  }

  /** Tells the other servers that every change up to `seq` is on a replica. */
  async #mark(seq: number): Promise<void> {
    try {
      await this.#client.xadd(this.#keys.marks, 'MAXLEN', '~', MARKS_KEPT, '*', 's', String(seq));
    } catch (e) {
      this.#noteError(e);
    }
  }

  /**
   * The follower: reads new feed entries and durability marks as they come (XREAD BLOCK on both
   * streams, one shard), announces what is durable, and between reads looks for trouble: Redis
   * behind this server, changes left unmarked by a writer that died after writing.
   */
  async #follow(): Promise<void> {
    const k = this.#keys;
    while (this.#state === 'open') {
      try {
        const reply = await this.#reader.xread(
          'COUNT',
          SCAN_COUNT,
          'BLOCK',
          FOLLOW_BLOCK_MS,
          'STREAMS',
          k.feed,
          k.marks,
          feedId(this.#lastKnown()),
          this.#markId,
        );
        if (this.#stopped()) return;
        // Our own write may be among them: let it announce its changes (with its outbox count) first.
        if (this.#inFlight !== null) await this.#inFlight.catch(() => undefined);
        for (const [key, entries] of reply ?? []) {
          if (key === k.marks) {
            for (const [id, fields] of entries) {
              this.#markId = id;
              this.#durable = Math.max(this.#durable, Number(fields[1]));
            }
          }
        }
        for (const [key, entries] of reply ?? []) {
          if (key === k.feed && !this.#accept(entries.map(([, fields]) => changeOf(fields))))
            await this.#writer.exclusive(() => this.#recover('a gap in the change feed'));
        }
        this.#release();
        if (reply === null) await this.#writer.exclusive(() => this.#lookAround());
        this.#noteOk();
      } catch (e) {
        if (this.#stopped()) return;
        this.#noteError(e);
        await sleep(500);
      }
    }
  }

  /** Between reads: Redis behind this server? Changes unmarked too long? Outbox size, held bans. */
  async #lookAround(): Promise<void> {
    const stored = Number((await this.#client.get(this.#keys.seq)) ?? 0);
    if (stored < this.#lastKnown()) {
      await this.#recover('Redis went behind this server');
      return;
    }
    if (
      this.#pending.length > 0 &&
      Date.now() - this.#pendingSince > 2 * this.#o.waitTimeoutMs + 1_000
    ) {
      // The writer died between its write and its mark: make sure of replication here.
      const upTo = this.#lastKnown();
      const replies =
        (await this.#client
          .pipeline()
          .set(this.#keys.probe, this.#serverId)
          .wait(this.#waitReplicas, this.#o.waitTimeoutMs)
          .exec()) ?? [];
      const acks = replies[1]?.[1] as number | undefined;
      if ((acks ?? 0) < this.#waitReplicas) this.#unreplicated++;
      this.#durable = Math.max(this.#durable, upTo);
      this.#release();
      await this.#mark(upTo);
    }
    this.#outboxSize = await this.#client.zcard(this.#keys.outboxIds);
    await this.#loadHeld();
  }

  #noteError(e: unknown): void {
    const text = describeError(e);
    if (this.#lastError === null)
      this.#logger.error(
        { err: e },
        `lost ${this.target}: ${text} (retrying; bans wait until it is back)`,
      );
    this.#lastError = text;
  }

  #noteOk(): void {
    if (this.#lastError === null) return;
    this.#logger.info(`${this.target} is reachable again`);
    this.#lastError = null;
  }
}

/**
 * Whether a Redis error is a cluster failing over (a slot without a master for a few seconds),
 * which passes by itself, rather than Redis being unreachable, which a caller should hear of now.
 */
function failingOver(e: unknown): boolean {
  return /CLUSTERDOWN|TRYAGAIN|MASTERDOWN|LOADING|Too many Cluster redirections/.test(
    describeError(e),
  );
}
