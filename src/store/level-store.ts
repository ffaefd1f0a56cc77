// The LevelDB ban store: every ban/unban is one atomic batch, group-committed, with bans held in memory.
import { join } from 'node:path';
import { Level } from 'level';
import type { EpochMs } from '../core/clock.js';
import { describeError, ErrorCode, FleetbanError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type {
  AttackerHistory,
  Ban,
  BanDetails,
  Change,
  DetailedBan,
  HeldBan,
  Notice,
} from '../core/types.js';
import { ActiveBans } from './active-bans.js';
import type { StoreRecord } from './records.js';
import { decodeBan, encodeBan, expiryKey, makeInterner, seqKey } from './codec.js';
import { CoalescedReads } from './coalesced-reads.js';
import { GroupCommit } from './group-commit.js';
import { encodeSnapshot, readSnapshot, writeSnapshot } from './snapshot.js';
import { HeldSet } from './held.js';
import { outboxRecordOf, planGroup, type GroupPlan, type StoreOp } from './plan.js';
import {
  ChangeSubscribers,
  type BanStore,
  type ChangeListener,
  type NewBan,
  type SentMail,
  type StoreStats,
  type UnbanRequest,
} from './store.js';

export const SCHEMA_VERSION = 1;
export const DEFAULT_FEED_RETENTION = 1_000_000;
/** The active-ban snapshot's name inside the store folder (LevelDB leaves names it does not own alone). */
const SNAPSHOT_FILE = 'fleetban-active.snapshot';
/** Store calls per write (see GroupCommit): a jail ban is one call. */
const MAX_GROUP = 1000;

export interface LevelBanStoreOptions {
  /**
   * false (default): a batch is handed to the OS before its call resolves, so it survives the
   * process being killed (even `kill -9`) but not a power loss or kernel crash. true: each batch
   * is fsynced as well and survives those too; group commit shares one fsync among many calls.
   */
  readonly sync?: boolean;
  /** Change-feed entries kept: the last N. Readers further behind must resync. */
  readonly feedRetention?: number;
  readonly logger?: Logger;
}

interface Meta {
  readonly schema: number;
  readonly lastSeq: number;
}

type Op =
  | { type: 'put'; sublevel: Sub | BinarySub; key: string; value: string | Buffer }
  | { type: 'del'; sublevel: Sub | BinarySub; key: string };
type Sub = ReturnType<typeof textSublevel>;
type BinarySub = ReturnType<typeof binarySublevel>;

function textSublevel(db: Level, name: string) {
  return db.sublevel(name, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
}

function binarySublevel(db: Level, name: string) {
  return db.sublevel<string, Buffer>(name, { keyEncoding: 'utf8', valueEncoding: 'buffer' });
}

export class LevelBanStore implements BanStore {
  readonly path: string;
  readonly #sync: boolean;
  readonly #retention: number;
  readonly #logger: Logger;
  readonly #db: Level;
  /** target → binary core record */
  readonly #bans: BinarySub;
  /** target → JSON BanDetails */
  readonly #details: Sub;
  /** expiryKey(end, target) → '' */
  readonly #expiry: Sub;
  /** attacker → JSON AttackerHistory */
  readonly #history: Sub;
  /** seqKey(seq) → JSON Change */
  readonly #feed: Sub;
  /** 'meta' → JSON Meta */
  readonly #meta: Sub;
  /** seqKey(id) → JSON Notice: mail notices written with their ban, deleted once sent. */
  readonly #outbox: Sub;
  /** seqKey(at) + '/' + route → '': mails sent in the last hour, for the hourly cap. */
  readonly #sentMail: Sub;
  #outboxSize = 0;
  /** target → JSON HeldBan: jail bans the ban brake held back for an admin's review. */
  readonly #heldDb: Sub;
  readonly #held = new HeldSet();
  #active = new ActiveBans();
  readonly #historyReads = new CoalescedReads<string>((keys) => this.#history.getMany(keys));
  readonly #writer = new GroupCommit<StoreOp, DetailedBan[] | Ban[]>(
    (ops) => this.#commit(ops),
    MAX_GROUP,
  );
  #state: 'new' | 'opening' | 'open' | 'closing' | 'closed' = 'new';
  #opening: Promise<void> | null = null;
  #closing: Promise<void> | null = null;
  #lastSeq = 0;
  /** The active-ban snapshot beside LevelDB's own files, and the sequence number it holds. */
  readonly #snapshotFile: string;
  #snapshotSeq = -1;
  /** Oldest sequence number still in the feed (lastSeq + 1 when the feed is empty). */
  #feedFirst = 1;
  #batches = 0;
  #records = 0;
  readonly #subscribers: ChangeSubscribers;

  constructor(path: string, options: LevelBanStoreOptions = {}) {
    this.path = path;
    this.#sync = options.sync ?? false;
    this.#retention = Math.max(1, Math.trunc(options.feedRetention ?? DEFAULT_FEED_RETENTION));
    this.#logger = options.logger ?? silentLogger;
    this.#subscribers = new ChangeSubscribers((e) => {
      this.#logger.error({ err: e }, `a change subscriber failed: ${describeError(e)}`);
    });
    this.#db = new Level(path, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    this.#bans = binarySublevel(this.#db, 'bans');
    this.#details = textSublevel(this.#db, 'details');
    this.#expiry = textSublevel(this.#db, 'expiry');
    this.#history = textSublevel(this.#db, 'history');
    this.#feed = textSublevel(this.#db, 'feed');
    this.#meta = textSublevel(this.#db, 'meta');
    this.#outbox = textSublevel(this.#db, 'outbox');
    this.#sentMail = textSublevel(this.#db, 'sent-mail');
    this.#snapshotFile = join(path, SNAPSHOT_FILE);
    this.#heldDb = textSublevel(this.#db, 'held');
  }

  open(): Promise<void> {
    if (this.#state !== 'new') {
      return Promise.reject(new TypeError(`the ban store at ${this.path} was already opened`));
    }
    this.#state = 'opening';
    this.#opening = this.#open();
    return this.#opening;
  }

  async #open(): Promise<void> {
    try {
      await this.#db.open();
    } catch (e) {
      this.#state = 'closed';
      throw new FleetbanError(
        ErrorCode.STORE_OPEN_FAILED,
        `cannot open the ban store at ${this.path}: ${causeChain(e)}`,
        {
          cause: e,
        },
      );
    }
    try {
      await this.#load();
    } catch (e) {
      this.#state = 'closed';
      await this.#db.close().catch(() => undefined);
      throw e instanceof FleetbanError
        ? e
        : new FleetbanError(
            ErrorCode.STORE_OPEN_FAILED,
            `cannot load the ban store at ${this.path}: ${causeChain(e)}`,
            {
              cause: e,
            },
          );
    }
    this.#state = 'open';
  }

  close(): Promise<void> {
    if (this.#closing !== null) return this.#closing;
    const opening = this.#opening;
    if (this.#state === 'open') this.#state = 'closing';
    this.#closing = (async () => {
      // A close during open waits for the open, then closes what it opened.
      if (opening !== null) await opening.catch(() => undefined);
      if (this.#state === 'open' || this.#state === 'closing') {
        this.#state = 'closing';
        await this.#writer.idle();
        await this.#saveSnapshot();
        await this.#db.close();
      }
      this.#state = 'closed';
    })();
    return this.#closing;
  }

  ban(bans: readonly NewBan[]): Promise<DetailedBan[]> {
    // Queued synchronously, so a close() that follows still waits for this call.
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
    if (this.#active.get(target) === undefined) return null;
    const raw = await this.#details.get(target);
    if (raw === undefined) return { hosts: {}, lines: [] };
    return JSON.parse(raw) as BanDetails;
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
    const raw = await this.#historyReads.get(attacker);
    return raw === undefined ? null : (JSON.parse(raw) as AttackerHistory);
  }

  async pruneHistory(before: EpochMs): Promise<number> {
    await this.#ready();
    // Exclusive with ban batches: they read-modify-write the same records.
    return this.#writer.exclusive(async () => {
      let pruned = 0;
      let ops: Op[] = [];
      const flush = async (): Promise<void> => {
        if (ops.length === 0) return;
        await this.#db.batch(ops, { sync: this.#sync });
        this.#batches++;
        this.#records += ops.length;
        pruned += ops.length;
        ops = [];
      };
      for await (const [key, raw] of this.#history.iterator()) {
        const h = JSON.parse(raw) as AttackerHistory;
        if (h.lastBanAt < before) ops.push({ type: 'del', sublevel: this.#history, key });
        if (ops.length >= 10_000) await flush();
      }
      await flush();
      return pruned;
    });
  }

  async changesSince(after: number, limit: number): Promise<Change[] | null> {
    await this.#ready();
    if (after < this.#feedFirst - 1 || after > this.#lastSeq) return null;
    if (limit <= 0 || after === this.#lastSeq) return [];
    const out: Change[] = [];
    for await (const raw of this.#feed.values({ gt: seqKey(after), limit }))
      out.push(JSON.parse(raw) as Change);
    // Pruned between the check above and the read: the reader is too far behind after all.
    if (out.length > 0 && out[0]?.seq !== after + 1) return null;
    return out;
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

  async outbox(limit: number): Promise<Notice[]> {
    await this.#ready();
    if (limit <= 0) return [];
    const out: Notice[] = [];
    for await (const raw of this.#outbox.values({ limit })) out.push(JSON.parse(raw) as Notice);
    return out;
  }

  async ackOutbox(ids: readonly number[], sent?: SentMail): Promise<void> {
    await this.#ready();
    if (ids.length === 0 && sent === undefined) return;
    // Through the writer, so the count stays exact against notices queued by concurrent bans.
    await this.#writer.exclusive(async () => {
      const keys = ids.map(seqKey);
      const present = (await this.#outbox.getMany(keys)).filter((v) => v !== undefined).length;
      const ops = keys.map((key): Op => ({ type: 'del', sublevel: this.#outbox, key }));
      if (sent !== undefined) {
        const key = `${seqKey(sent.at)}/${sent.route}`;
        ops.push({ type: 'put', sublevel: this.#sentMail, key, value: '' });
      }
      await this.#db.batch(ops, { sync: this.#sync });
      this.#batches++;
      this.#records += ops.length;
      this.#outboxSize -= present;
    });
  }

  outboxSize(): number {
    return this.#outboxSize;
  }

  async sentMail(since: EpochMs): Promise<SentMail[]> {
    await this.#ready();
    const bound = seqKey(Math.max(0, since));
    const old = await this.#sentMail.keys({ lt: bound }).all();
    if (old.length > 0) await this.#sentMail.batch(old.map((key) => ({ type: 'del', key })));
    const kept = await this.#sentMail.keys({ gte: bound }).all();
    return kept.map((key) => {
      const slash = key.indexOf('/');
      return { at: Number(key.slice(0, slash)), route: key.slice(slash + 1) };
    });
  }

  async hold(entries: readonly HeldBan[]): Promise<void> {
    await this.#ready();
    if (entries.length === 0) return;
    const ops = entries.map((e): Op => ({
      type: 'put',
      sublevel: this.#heldDb,
      key: e.target,
      value: JSON.stringify(e),
    }));
    await this.#db.batch(ops, { sync: this.#sync });
    this.#batches++;
    this.#records += ops.length;
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
    const known = [...new Set(targets)].filter((t) => this.#held.get(t) !== undefined);
    if (known.length === 0) return [];
    await this.#db.batch(
      known.map((key): Op => ({ type: 'del', sublevel: this.#heldDb, key })),
      { sync: this.#sync },
    );
    this.#batches++;
    this.#records += known.length;
    return this.#held.take(known);
  }

  /**
   * Every record, for a migration: active bans with their evidence, history, pending notices,
   * held bans and the last hour's sent mails. Read while open; the caller keeps writers away.
   */
  async *records(): AsyncGenerator<StoreRecord> {
    await this.#ready();
    for (const ban of this.#active.values()) {
      const raw = await this.#details.get(ban.target);
      const details =
        raw === undefined ? { hosts: {}, lines: [] } : (JSON.parse(raw) as BanDetails);
      yield { kind: 'ban', ban, details };
    }
    for await (const raw of this.#history.values())
      yield { kind: 'history', history: JSON.parse(raw) as AttackerHistory };
    for await (const raw of this.#outbox.values())
      yield { kind: 'notice', notice: JSON.parse(raw) as Notice };
    for (const held of this.#held.list()) yield { kind: 'held', held };
    for await (const key of this.#sentMail.keys()) {
      const slash = key.indexOf('/');
      yield {
        kind: 'sent',
        sent: { at: Number(key.slice(0, slash)), route: key.slice(slash + 1) },
      };
    }
  }

  #ready(): Promise<void> {
    if (this.#state === 'open') return Promise.resolve();
    return Promise.reject(
      new FleetbanError(
        ErrorCode.STORE_CLOSED,
        `the ban store at ${this.path} is not open (${this.#state})`,
      ),
    );
  }

  async #load(): Promise<void> {
    const metaRaw = await this.#meta.get('meta');
    if (metaRaw !== undefined) {
      const meta = JSON.parse(metaRaw) as Meta;
      if (meta.schema !== SCHEMA_VERSION) {
        throw new FleetbanError(
          ErrorCode.STORE_OPEN_FAILED,
          `the ban store at ${this.path} has schema version ${meta.schema}; this fleetban reads version ${SCHEMA_VERSION}`,
        );
      }
      this.#lastSeq = meta.lastSeq;
    }
    const firstKey = (await this.#feed.keys({ limit: 1 }).all())[0];
    this.#feedFirst = firstKey === undefined ? this.#lastSeq + 1 : Number(firstKey);
    const keepFrom = this.#lastSeq - this.#retention + 1;
    if (this.#feedFirst < keepFrom) {
      // The retention was lowered since the last run: trim once here rather than in one huge batch.
      await this.#feed.clear({ lt: seqKey(keepFrom) });
      this.#feedFirst = keepFrom;
    }
    this.#active = (await this.#loadFromSnapshot()) ?? (await this.#scanBans());
    this.#outboxSize = (await this.#outbox.keys().all()).length;
    for await (const raw of this.#heldDb.values()) this.#held.put([JSON.parse(raw) as HeldBan]);
  }

  /**
   * The active bans from the snapshot plus the feed written after it, or null when the snapshot
   * is missing, damaged, newer than the store, older than the feed still reaches, or made of parts
   * that do not hold together (a scan then).
   * Exact because every batch that changes a ban writes its feed entry with it.
   */
  async #loadFromSnapshot(): Promise<ActiveBans | null> {
    const snapshot = await readSnapshot(this.#snapshotFile);
    if (snapshot === null) return null;
    if (snapshot.lastSeq > this.#lastSeq || snapshot.lastSeq < this.#feedFirst - 1) return null;
    const active = ActiveBans.fromColumns(snapshot.columns);
    if (active === null) return null;
    this.#snapshotSeq = snapshot.lastSeq;
    if (snapshot.lastSeq === this.#lastSeq) return active;
    const changes: Change[] = [];
    for await (const raw of this.#feed.values({ gt: seqKey(snapshot.lastSeq) }))
      changes.push(JSON.parse(raw) as Change);
    active.apply(changes);
    return active;
  }

  /** Every active ban read from LevelDB, skipping (and counting) records this version cannot read. */
  async #scanBans(): Promise<ActiveBans> {
    const intern = makeInterner();
    const active = new ActiveBans();
    let skipped = 0;
    // classic-level reads up to this many bytes per nextv(); the default would stop short.
    const options = { highWaterMarkBytes: 4 << 20, keys: true, values: true };
    const it = this.#bans.iterator<string, Buffer>(options);
    try {
      // Read the next chunk while decoding this one: LevelDB works on another thread meanwhile.
      let pending = it.nextv(5000);
      for (let chunk = await pending; chunk.length > 0; chunk = await pending) {
        pending = it.nextv(5000);
        const bans: Ban[] = [];
        for (const [target, value] of chunk) {
          const ban = decodeBan(target, value, intern);
          if (ban === null) skipped++;
          else bans.push(ban);
        }
        active.load(bans);
      }
    } finally {
      await it.close();
    }
    if (skipped > 0)
      this.#logger.warn({ skipped, path: this.path }, `skipped ${skipped} unreadable ban records`);
    return active;
  }

  /** Writes the snapshot at close when bans changed since the last one; a failure only costs speed. */
  async #saveSnapshot(): Promise<void> {
    if (this.#snapshotSeq === this.#lastSeq) return;
    try {
      await writeSnapshot(
        this.#snapshotFile,
        encodeSnapshot(this.#lastSeq, this.#active.columns()),
      );
      this.#snapshotSeq = this.#lastSeq;
    } catch (e) {
      this.#logger.warn(
        { err: e, path: this.#snapshotFile },
        `cannot write the active-ban snapshot (the next start reads the store instead): ${describeError(e)}`,
      );
    }
  }

  /** Writes one group of calls as one batch; memory changes only once the batch is written. */
  async #commit(ops: readonly StoreOp[]): Promise<(DetailedBan[] | Ban[])[]> {
    const attackers = new Set<string>();
    for (const op of ops)
      if (op.kind === 'ban')
        for (const b of op.bans) if (b.attacker !== '') attackers.add(b.attacker);
    const names = [...attackers];
    const stored = names.length === 0 ? [] : await this.#history.getMany(names);
    const known = new Map<string, AttackerHistory>();
    names.forEach((name, i) => {
      const raw = stored[i];
      if (raw !== undefined) known.set(name, JSON.parse(raw) as AttackerHistory);
    });
    const plan = planGroup(
      ops,
      this.#lastSeq,
      (t) => this.#active.get(t),
      (a) => known.get(a) ?? null,
    );
    if (plan.effects.length === 0) return plan.results;

    const batch = this.#toBatch(plan);
    const feedFirst = Math.max(this.#feedFirst, plan.lastSeq - this.#retention + 1);
    for (let s = this.#feedFirst; s < feedFirst; s++)
      batch.push({ type: 'del', sublevel: this.#feed, key: seqKey(s) });
    const meta: Meta = { schema: SCHEMA_VERSION, lastSeq: plan.lastSeq };
    batch.push({ type: 'put', sublevel: this.#meta, key: 'meta', value: JSON.stringify(meta) });

    await this.#db.batch(batch, { sync: this.#sync });
    this.#batches++;
    this.#records += batch.length;
    const changes = plan.effects.map((e) => e.change);
    this.#active.apply(changes);
    this.#lastSeq = plan.lastSeq;
    this.#feedFirst = feedFirst;
    this.#outboxSize += plan.effects.filter((e) => e.notify).length;
    this.#subscribers.emit(changes);
    return plan.results;
  }

  #toBatch(plan: GroupPlan): Op[] {
    const batch: Op[] = [];
    for (const e of plan.effects) {
      const old = e.kind === 'ban' ? e.replaced : e.lifted;
      if (old?.end != null)
        batch.push({ type: 'del', sublevel: this.#expiry, key: expiryKey(old.end, old.target) });
      if (e.kind === 'ban') {
        batch.push({ type: 'put', sublevel: this.#bans, key: e.target, value: encodeBan(e.ban) });
        batch.push({
          type: 'put',
          sublevel: this.#details,
          key: e.target,
          value: JSON.stringify(e.details),
        });
        if (e.ban.end !== null)
          batch.push({
            type: 'put',
            sublevel: this.#expiry,
            key: expiryKey(e.ban.end, e.target),
            value: '',
          });
      } else {
        batch.push({ type: 'del', sublevel: this.#bans, key: e.target });
        batch.push({ type: 'del', sublevel: this.#details, key: e.target });
      }
      batch.push({
        type: 'put',
        sublevel: this.#feed,
        key: seqKey(e.change.seq),
        value: JSON.stringify(e.change),
      });
      const notice = outboxRecordOf(e);
      if (notice !== null)
        batch.push({
          type: 'put',
          sublevel: this.#outbox,
          key: seqKey(notice.id),
          value: JSON.stringify(notice),
        });
    }
    for (const [attacker, h] of plan.histories) {
      batch.push({ type: 'put', sublevel: this.#history, key: attacker, value: JSON.stringify(h) });
    }
    return batch;
  }
}

/** "msg: cause msg: …", because LevelDB wraps the useful part (a lock, EACCES) in a cause. */
function causeChain(e: unknown): string {
  const parts: string[] = [];
  for (let cur: unknown = e; cur !== undefined && parts.length < 5;) {
    if (cur instanceof Error) {
      const code = (cur as { code?: unknown }).code;
      parts.push(typeof code === 'string' ? `${cur.message} (${code})` : cur.message);
      cur = cur.cause;
    } else {
      parts.push(describeError(cur));
      break;
    }
  }
  return parts.join(': ');
}
