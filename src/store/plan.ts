// Works out what one group of ban/unban calls changes, free of I/O, so both stores share the semantics.
import type {
  AttackerHistory,
  Ban,
  BanDetails,
  Change,
  DetailedBan,
  Notice,
} from '../core/types.js';
import type { NewBan, UnbanRequest } from './store.js';

export type StoreOp =
  | { readonly kind: 'ban'; readonly bans: readonly NewBan[] }
  | { readonly kind: 'unban'; readonly requests: readonly UnbanRequest[] };

/** One change to the active set, in feed order. `replaced`/`lifted` is the ban it displaced. */
export type Effect =
  | {
      readonly kind: 'ban';
      readonly target: string;
      readonly ban: Ban;
      readonly details: BanDetails;
      readonly replaced: Ban | undefined;
      readonly change: Change;
      /** Queue a mail notice in the same batch. */
      readonly notify: boolean;
    }
  | {
      readonly kind: 'unban';
      readonly target: string;
      readonly lifted: Ban;
      readonly change: Change;
      /** Queue a mail notice in the same batch. */
      readonly notify: boolean;
    };

export interface GroupPlan {
  /** Each call's own result, in call order. */
  readonly results: (DetailedBan[] | Ban[])[];
  readonly effects: readonly Effect[];
  /** The new history record of every attacker banned in the group. */
  readonly histories: ReadonlyMap<string, AttackerHistory>;
  readonly lastSeq: number;
}

/**
 * `current` answers from the active set before the group; `history` from the stored history
 * (every attacker named in the group must be answerable). Later calls in the group see the
 * effects of earlier ones.
 */
export function planGroup(
  ops: readonly StoreOp[],
  lastSeq: number,
  current: (target: string) => Ban | undefined,
  history: (attacker: string) => AttackerHistory | null,
): GroupPlan {
  let seq = lastSeq;
  const overlay = new Map<string, Ban | null>();
  const histories = new Map<string, AttackerHistory>();
  const effects: Effect[] = [];
  const results: (DetailedBan[] | Ban[])[] = [];
  const lookup = (target: string): Ban | undefined => {
    const o = overlay.get(target);
    return o === null ? undefined : (o ?? current(target));
  };

  for (const op of ops) {
    if (op.kind === 'ban') {
      const out: DetailedBan[] = [];
      for (const nb of op.bans) {
        const ban = coreOf(nb, ++seq);
        const details: BanDetails = { hosts: nb.hosts, lines: nb.lines };
        const replaced = lookup(ban.target);
        overlay.set(ban.target, ban);
        effects.push({
          kind: 'ban',
          target: ban.target,
          ban,
          details,
          replaced,
          change: { seq, kind: 'ban', ban },
          notify: nb.notify === true,
        });
        if (ban.attacker !== '') {
          const before = histories.get(ban.attacker) ?? history(ban.attacker);
          histories.set(ban.attacker, nextHistory(before, ban));
        }
        out.push({ ...ban, ...details });
      }
      results.push(out);
    } else {
      const out: Ban[] = [];
      for (const req of op.requests) {
        const lifted = lookup(req.target);
        if (lifted === undefined) continue;
        overlay.set(req.target, null);
        effects.push({
          kind: 'unban',
          target: req.target,
          lifted,
          change: {
            seq: ++seq,
            kind: 'unban',
            target: req.target,
            jail: lifted.jail,
            at: req.at,
            reason: req.reason,
          },
          notify: req.notify === true,
        });
        out.push(lifted);
      }
      results.push(out);
    }
  }
  return { results, effects, histories, lastSeq: seq };
}

/** Copies only the core fields, so the bulky details are not kept alive in memory. */
function coreOf(nb: NewBan, seq: number): Ban {
  return {
    target: nb.target,
    family: nb.family,
    jail: nb.jail,
    origin: nb.origin,
    attacker: nb.attacker,
    start: nb.start,
    end: nb.end,
    banCount: nb.banCount,
    failures: nb.failures,
    reason: nb.reason,
    seq,
  };
}

/** The outbox record an effect queues, or null when it asked for no mail. */
export function outboxRecordOf(e: Effect): Notice | null {
  if (!e.notify) return null;
  if (e.kind === 'ban') {
    return { id: e.ban.seq, kind: 'ban', at: e.ban.start, ban: { ...e.ban, ...e.details } };
  }
  const c = e.change;
  return c.kind === 'unban'
    ? { id: c.seq, kind: 'unban', at: c.at, ban: e.lifted, reason: c.reason }
    : null;
}

function nextHistory(before: AttackerHistory | null, ban: Ban): AttackerHistory {
  const perJail = { ...(before?.perJail ?? {}) };
  perJail[ban.jail] = (perJail[ban.jail] ?? 0) + 1;
  return {
    attacker: ban.attacker,
    bans: (before?.bans ?? 0) + 1,
    perJail,
    lastBanAt: ban.start,
    lastBantime: ban.end === null ? null : (ban.end - ban.start) / 1000,
  };
}
