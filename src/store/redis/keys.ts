// The Redis keys of one fleetban deployment: the shared ban state under one hash tag, the key prefix.

/**
 * Every key of the ban state carries the hash tag `{prefix}`, so it lives on one shard and one
 * script changes bans, history, feed and outbox atomically. Bans are few next to failures: the
 * failure windows, which take the hot path, are spread over the cluster by attacker instead.
 */
export interface StoreKeys {
  /** Last sequence number given out (string integer). */
  readonly seq: string;
  /** Schema version of the layout below. */
  readonly schema: string;
  /** Hash target → binary core record (codec.ts). */
  readonly bans: string;
  /** Hash target → JSON BanDetails. */
  readonly details: string;
  /** Hash attacker → JSON AttackerHistory. */
  readonly history: string;
  /** Stream of changes, entry id `${seq}-0`, field `c` = JSON Change. */
  readonly feed: string;
  /** Stream of durability marks: field `s` = every change up to this seq is on a replica. */
  readonly marks: string;
  /** Hash notice id → JSON Notice. */
  readonly outbox: string;
  /** Sorted set of pending notice ids (score = id), for oldest-first reads. */
  readonly outboxIds: string;
  /** The server that mails the outbox now, with a lease (PX). */
  readonly outboxLease: string;
  /** Sorted set of sent mails, score = time, member `${at}/${route}/${id}`. */
  readonly sentMail: string;
  /** Hash target → JSON HeldBan. */
  readonly held: string;
  /** A key the follower writes to learn, through WAIT, that earlier writes are replicated. */
  readonly probe: string;
}

export function storeKeys(prefix: string): StoreKeys {
  const k = (name: string): string => `{${prefix}}:${name}`;
  return {
    seq: k('seq'),
    schema: k('schema'),
    bans: k('bans'),
    details: k('details'),
    history: k('history'),
    feed: k('feed'),
    marks: k('marks'),
    outbox: k('outbox'),
    outboxIds: k('outbox-ids'),
    outboxLease: k('outbox-lease'),
    sentMail: k('sent-mail'),
    held: k('held'),
    probe: k('probe'),
  };
}

/** The feed entry id of a sequence number. */
export function feedId(seq: number): string {
  return `${seq}-0`;
}
