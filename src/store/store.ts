// The ban store contract: what the LevelDB store (and the in-memory one for tests) must guarantee.
import type { EpochMs } from '../core/clock.js';
import type {
  AttackerHistory,
  Ban,
  BanDetails,
  Change,
  DetailedBan,
  HeldBan,
  Notice,
} from '../core/types.js';

/**
 * A new ban with its evidence, before the store gives it a sequence number. `notify`: also queue
 * a notice of it in the mail outbox, in the same atomic batch (so no ban is ever written without
 * its mail, nor a mail queued for a ban that was not written).
 */
export type NewBan = Omit<DetailedBan, 'seq'> & { readonly notify?: boolean };

export interface UnbanRequest {
  readonly target: string;
  readonly at: EpochMs;
  /** Why: 'expired', 'manual', 'manual: --all', … Recorded in the change feed. */
  readonly reason: string;
  /** Also queue a notice of the unban in the mail outbox, in the same batch. */
  readonly notify?: boolean;
}

/** A mail that went out to one set of recipients (`route`); kept an hour for the hourly cap. */
export interface SentMail {
  readonly route: string;
  readonly at: EpochMs;
}

export interface StoreStats {
  readonly activeBans: number;
  readonly lastSeq: number;
  /** Writes issued; with group commit, fewer than the ban/unban calls made under load. */
  readonly batchesWritten: number;
  /** Records put or deleted across all batches. */
  readonly recordsWritten: number;
}

/**
 * The source of truth for bans.
 *
 * Every mutating call is one atomic batch across: active bans, expiry index, attacker history,
 * change feed (one new sequence number per ban/unban). A call resolves only once its batch is
 * written; concurrent calls may share one batch (group commit) but each keeps its own result.
 * The store never decides anything: policy (bantime, ignore lists) belongs to the caller.
 * The caller must not call anything but `open` before `open` resolves, nor after `close`.
 */
export interface BanStore {
  /** Opens (creating if needed) and loads the active bans into memory. */
  open(): Promise<void>;

  /** Flushes pending batches and closes. Idempotent. */
  close(): Promise<void>;

  /**
   * Records bans. A ban whose target is already active replaces it (a new feed entry with the new
   * end time). Attacker history is updated for each ban with a non-empty `attacker`.
   * Resolves with the stored bans, sequence numbers assigned, in input order, each with the
   * details it was given (so the caller can mail them without reading them back).
   */
  ban(bans: readonly NewBan[]): Promise<DetailedBan[]>;

  /**
   * Lifts bans. Targets that are not active are skipped (not an error): the result holds only
   * the bans actually lifted. Each lifted ban gets an 'unban' feed entry (tombstone).
   */
  unban(requests: readonly UnbanRequest[]): Promise<Ban[]>;

  /** The active ban on exactly this target, from memory. */
  get(target: string): Ban | undefined;

  /**
   * When the active ban on exactly this target ends (null: permanent), undefined when there is
   * none: what `get` tells of it, without making a ban object (the jails ask it per failure).
   */
  endOf(target: string): EpochMs | null | undefined;

  /**
   * The evidence (hosts, lines) of the active ban on this target, read from storage; null when
   * the target is not banned. Details are deleted with the ban.
   */
  details(target: string): Promise<BanDetails | null>;

  /** All active bans, from memory, in no particular order. */
  active(): IterableIterator<Ban>;

  /**
   * The targets of all active bans, from memory, in no particular order: what `active()` gives,
   * without making a ban object each (a look at every ban that needs only its target).
   */
  activeTargets(): IterableIterator<string>;

  /** Active bans whose end is at or before `now`, earliest first (the caller unbans them). */
  due(now: EpochMs): Ban[];

  /** The earliest end among active bans, or null if none expires. */
  nextExpiry(): EpochMs | null;

  /** What is known of an attacker's past bans; null if never banned (or pruned by retention). */
  history(attacker: string): Promise<AttackerHistory | null>;

  /** Deletes history records whose last ban is older than `before`. Returns how many. */
  pruneHistory(before: EpochMs): Promise<number>;

  /**
   * Feed entries with a sequence number greater than `after`, in order, at most `limit`.
   * Returns null if `after` is older than the oldest kept entry, or newer than the last one
   * (the reader followed another store): either way the reader must resync from `active()`.
   * Retention keeps the last N entries (an option of each implementation).
   */
  changesSince(after: number, limit: number): Promise<Change[] | null>;

  /**
   * Calls `listener` with the changes of each batch once it is written (durably, as far as the
   * store's sync option promises), in sequence order, without gaps between calls. Returns the
   * unsubscribe function. Listeners must not throw or block: they run on the write path.
   */
  subscribe(listener: ChangeListener): () => void;

  stats(): StoreStats;

  /**
   * Pending outbox notices, oldest (lowest id) first, at most `limit`. Notices are queued only by
   * `ban`/`unban` calls that ask for it, in their own batch; they stay until `ackOutbox`.
   */
  outbox(limit: number): Promise<Notice[]>;

  /**
   * Deletes delivered notices, all in one batch; unknown ids are skipped. `sent`, when given, is
   * recorded in the same batch, so the mail that carried the notices counts towards
   * `mail.maxPerHour` after a restart too. Resolves once written.
   */
  ackOutbox(ids: readonly number[], sent?: SentMail): Promise<void>;

  /**
   * Mails recorded by `ackOutbox` at or after `since`, oldest first. Records older than `since`
   * may be deleted by this call: the caller asks for the last hour only.
   */
  sentMail(since: EpochMs): Promise<SentMail[]>;

  /** How many notices are pending, from memory. */
  outboxSize(): number;

  /**
   * Keeps bans the ban brake held back, one per target (holding a target again replaces its
   * entry), in one batch; resolves once written. Held bans are not active: agents never see
   * them and they have no feed entry. They survive restarts until `dropHeld`. The caller
   * serialises `hold` and `dropHeld` calls (the brake has one write chain).
   */
  hold(entries: readonly HeldBan[]): Promise<void>;

  /** The held bans, from memory, oldest (`heldAt`, then target) first. */
  held(): HeldBan[];

  /** How many bans are held, from memory. */
  heldSize(): number;

  /**
   * Deletes held bans (released or discarded by an admin) in one batch; targets not held are
   * skipped. Resolves with the entries actually removed, once written.
   */
  dropHeld(targets: readonly string[]): Promise<HeldBan[]>;
}

/** Receives the changes of one written batch, in sequence order. */
export type ChangeListener = (changes: readonly Change[]) => void;

/**
 * The change subscription both stores share. Listeners run synchronously right after a batch is
 * written and memory updated (so `active()` and `stats().lastSeq` already include the changes);
 * they must not block or throw: a throwing listener is reported through `onError` and the others
 * still run.
 */
export class ChangeSubscribers {
  readonly #listeners = new Set<ChangeListener>();
  readonly #onError: (e: unknown) => void;

  constructor(onError: (e: unknown) => void = () => undefined) {
    this.#onError = onError;
  }

  add(listener: ChangeListener): () => void {
    // Wrapped so the same function subscribed twice gets two independent subscriptions.
    const entry: ChangeListener = (changes) => {
      listener(changes);
    };
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  emit(changes: readonly Change[]): void {
    if (changes.length === 0) return;
    for (const listener of [...this.#listeners]) {
      try {
        listener(changes);
      } catch (e) {
        this.#onError(e);
      }
    }
  }
}
