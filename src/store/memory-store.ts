// An in-memory ban store with the same contract as the LevelDB one and no persistence: for tests.
import type { EpochMs } from '../core/clock.js';
import { ErrorCode, FleetbanError } from '../core/errors.js';
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
import { HeldSet } from './held.js';
import { outboxRecordOf, planGroup, type StoreOp } from './plan.js';
import {
  ChangeSubscribers,
  type BanStore,
  type ChangeListener,
  type NewBan,
  type SentMail,
  type StoreStats,
  type UnbanRequest,
} from './store.js';

export interface MemoryBanStoreOptions {
  /** Change-feed entries kept: the last N. */
  readonly feedRetention?: number;
}

export class MemoryBanStore implements BanStore {
  readonly #retention: number;
  readonly #active = new ActiveBans();
  readonly #details = new Map<string, BanDetails>();
  readonly #history = new Map<string, AttackerHistory>();
  /** id → pending mail notice; ids only grow, so insertion order is id order. */
  readonly #outbox = new Map<number, Notice>();
  #sentMail: SentMail[] = [];
  /** Kept feed entries; feed[0] has sequence number #feedFirst. */
  #feed: Change[] = [];
  readonly #held = new HeldSet();
  #feedFirst = 1;
  #lastSeq = 0;
  #batches = 0;
  #records = 0;
  #state: 'new' | 'open' | 'closed' = 'new';
  readonly #subscribers = new ChangeSubscribers();

  constructor(options: MemoryBanStoreOptions = {}) {
    this.#retention = Math.max(1, Math.trunc(options.feedRetention ?? 1_000_000));
  }

  open(): Promise<void> {
    if (this.#state !== 'new')
      return Promise.reject(new TypeError('the memory ban store was already opened'));
    this.#state = 'open';
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#state = 'closed';
    return Promise.resolve();
  }

  async ban(bans: readonly NewBan[]): Promise<DetailedBan[]> {
    return (await this.#write({ kind: 'ban', bans })) as DetailedBan[];
  }

  async unban(requests: readonly UnbanRequest[]): Promise<Ban[]> {
    return this.#write({ kind: 'unban', requests });
  }

  get(target: string): Ban | undefined {
    return this.#active.get(target);
  }

  endOf(target: string): EpochMs | null | undefined {
    return this.#active.endOf(target);
  }

  async details(target: string): Promise<BanDetails | null> {
    await this.#ready();
    return this.#active.get(target) === undefined ? null : (this.#details.get(target) ?? null);
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
    return this.#history.get(attacker) ?? null;
  }

  async pruneHistory(before: EpochMs): Promise<number> {
    await this.#ready();
    let pruned = 0;
    for (const [attacker, h] of this.#history) {
      if (h.lastBanAt < before) {
        this.#history.delete(attacker);
        pruned++;
      }
    }
    return pruned;
  }

  async changesSince(after: number, limit: number): Promise<Change[] | null> {
    await this.#ready();
    if (after < this.#feedFirst - 1 || after > this.#lastSeq) return null;
    if (limit <= 0) return [];
    const from = after + 1 - this.#feedFirst;
    return this.#feed.slice(from, from + limit);
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
    return [...this.#outbox.values()].slice(0, Math.max(0, limit));
  }

  async ackOutbox(ids: readonly number[], sent?: SentMail): Promise<void> {
    await this.#ready();
    let deleted = 0;
    for (const id of ids) if (this.#outbox.delete(id)) deleted++;
    if (sent !== undefined) this.#sentMail.push({ route: sent.route, at: sent.at });
    const records = deleted + (sent === undefined ? 0 : 1);
    if (records > 0) {
      this.#batches++;
      this.#records += records;
    }
  }

  async sentMail(since: EpochMs): Promise<SentMail[]> {
    await this.#ready();
    this.#sentMail = this.#sentMail.filter((m) => m.at >= since).sort((a, b) => a.at - b.at);
    return [...this.#sentMail];
  }

  outboxSize(): number {
    return this.#outbox.size;
  }

  async hold(entries: readonly HeldBan[]): Promise<void> {
    await this.#ready();
    this.#held.put(entries);
    if (entries.length > 0) {
      this.#batches++;
      this.#records += entries.length;
    }
  }

  held(): HeldBan[] {
    return this.#held.list();
  }

  heldSize(): number {
    return this.#held.size;
  }

  async dropHeld(targets: readonly string[]): Promise<HeldBan[]> {
    await this.#ready();
    const dropped = this.#held.take(targets);
    if (dropped.length > 0) {
      this.#batches++;
      this.#records += dropped.length;
    }
    return dropped;
  }

  #ready(): Promise<void> {
    if (this.#state === 'open') return Promise.resolve();
    return Promise.reject(
      new FleetbanError(
        ErrorCode.STORE_CLOSED,
        `the memory ban store is not open (${this.#state})`,
      ),
    );
  }

  async #write(op: StoreOp): Promise<DetailedBan[] | Ban[]> {
    await this.#ready();
    const plan = planGroup(
      [op],
      this.#lastSeq,
      (t) => this.#active.get(t),
      (a) => this.#history.get(a) ?? null,
    );
    if (plan.effects.length === 0) return plan.results[0] ?? [];
    for (const e of plan.effects) {
      if (e.kind === 'ban') this.#details.set(e.target, e.details);
      else this.#details.delete(e.target);
      this.#feed.push(e.change);
      const notice = outboxRecordOf(e);
      if (notice !== null) this.#outbox.set(notice.id, notice);
    }
    for (const [attacker, h] of plan.histories) this.#history.set(attacker, h);
    const changes = plan.effects.map((e) => e.change);
    this.#active.apply(changes);
    this.#lastSeq = plan.lastSeq;
    const excess = this.#feed.length - this.#retention;
    if (excess > 0) {
      this.#feed = this.#feed.slice(excess);
      this.#feedFirst += excess;
    }
    this.#batches++;
    this.#records += plan.effects.length + plan.histories.size;
    this.#subscribers.emit(changes);
    return plan.results[0] ?? [];
  }
}
