// Failure windows shared by every server through Redis (Cluster or one server): failures queued, flushed in short batches, one atomic script per attacker.
import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { formatCidr, type Cidr } from '../core/ip.js';
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';
import type { Failure } from '../core/types.js';
import { MAX_LINES } from '../jails/window.js';
import type {
  CountOutcome,
  SharedCountListener,
  SharedFailureCounter,
  WindowRule,
} from '../jails/shared-counter.js';
import { checkKeyPrefix, windowKeys } from './window-keys.js';
import { parseScriptReply, WINDOW_SCRIPT, type CrossedWindow } from './window-script.js';
import { cutAtCrossing } from './window-cut.js';
import { FailureQueue, type Group, type Pending } from './failure-queue.js';

export interface SharedWindowsOptions {
  /** An ioredis client (Redis or Cluster) owned by the caller, best with enableAutoPipelining. */
  readonly client: Redis | Cluster;
  /** store.redis.keyPrefix. */
  readonly keyPrefix: string;
  /** How long a failure may wait to be batched with others (default 5 ms). */
  readonly flushMs?: number;
  /** Queued failures that start a flush at once (default 5,000). */
  readonly maxBatch?: number;
  /**
   * Most scripts (attackers) in one flush (default 1,000); the rest go in the next flush, right
   * after. Keeps each flush short under a burst, so crossings come back as the burst drains
   * rather than all at its end, and a slow Redis is not mistaken for a dead one.
   */
  readonly maxScripts?: number;
  /** Most failures held at once, queued or in flight; past it new failures are dropped (default 200,000). */
  readonly maxQueued?: number;
  /** Most bytes of text (lines, hosts, senders) held at once, likewise (default 64 MiB). */
  readonly maxQueuedBytes?: number;
  /** A flush whose scripts have not answered by then counts as failed and is retried (default 5,000 ms). */
  readonly timeoutMs?: number;
  /** First and longest pause between flushes while Redis fails (default 50 ms and 2,000 ms). */
  readonly backoffMs?: { readonly first: number; readonly max: number };
  /** How long failures are retried before they are dropped (default 30,000 ms). */
  readonly giveUpMs?: number;
  readonly logger?: Logger;
  /** Monotonic milliseconds (default performance.now): for waits and backoff, never for windows. */
  readonly now?: () => number;
}

/** Counters for /metrics. */
export interface SharedWindowsCounters {
  /** Failures sent to Redis in scripts (a retried failure counts each time it is sent). */
  failuresSent: number;
  scriptsRun: number;
  crossings: number;
  /** Failures not counted because their target had just been decided (here or elsewhere). */
  decidedSkips: number;
  /** Failures of a heavy attacker held back by the cut and settled without being sent. */
  aggregated: number;
  /** Flushes in which at least one script failed or timed out. */
  flushErrors: number;
  /** Failures dropped: queue full, retried past giveUpMs, or added after close. */
  dropped: number;
  /** Failures refused because their target or jail could break a key's hash tag. */
  rejected: number;
  /** Listener calls that threw. */
  listenerErrors: number;
  /** DEL commands sent for forgets: one per target and flush, whatever the number of jails. */
  forgets: number;
  /** Wall time of the last flush, from its first command to its last answer. */
  lastFlushMs: number;
}

/** Redis failing: logged once when retries start, once when failures are first dropped. */
interface Outage {
  readonly since: number;
  retryLogged: boolean;
  droppedLogged: boolean;
  dropped: number;
}

type WindowCommand = (
  window: string,
  decided: string,
  ...args: (string | number)[]
) => Promise<unknown>;

const COMMAND = 'fleetbanSharedWindow';

/** The rule of a group made by a forget alone: it sends no failure, so nothing is counted by it. */
const FORGET_ONLY: WindowRule = { findtimeMs: 1, maxretry: 1, decidedTtlMs: 1 };

/**
 * An attacker's failures count together whichever server received them. `add` queues; every
 * `flushMs` (or at `maxBatch` queued) the queue is grouped by (jail, target) and each group goes
 * to Redis as one script (window-script.ts), up to `maxScripts` of them at once so that ioredis
 * pipelines them (a Cluster client per node). The script is atomic for the attacker: of any
 * number of servers, exactly one hears a crossing.
 *
 * One flush is in flight at a time: a group's failures then reach Redis in the order they came,
 * a retried group goes before what came after it, and what is in flight stays bounded.
 *
 * Aggregation: a group is cut right after the failure at which the group alone would cross
 * maxretry (the FailureWindows rule run locally on the group), and at most max(512, maxretry)
 * failures are sent. The failures after the cut wait on this server: when the script reports a
 * crossing or a decided target they are settled as already decided (what one box does with
 * failures that follow a ban); when the window stays open they go back to the head of the queue.
 * So 10,000 failures of one attacker in one flush make one script of maxretry failures.
 *
 * Failures: a script that fails or does not answer within `timeoutMs` is sent again (backoff from
 * `backoffMs.first` to `.max`), ahead of newer failures; every failure carries a unique id, so
 * a script that ran but whose answer was lost adds nothing twice, and a crossing whose answer was
 * lost comes back to the retry under the group's token. Failures retried past `giveUpMs`, or past
 * a cap, are dropped: counted, and logged once per outage.
 *
 * Forgets: a forget drops the target's windows; the just-decided marker stays its TTL (at most
 * 30 s), so an attacker unbanned within that time counts again only once it has passed.
 *
 * The client is the caller's: it should have enableAutoPipelining, and an 'error' listener (a
 * Cluster client emits errors while a node is down). Nothing here closes it.
 */
export class SharedWindows implements SharedFailureCounter {
  readonly #client: Redis | Cluster;
  readonly #run: WindowCommand;
  readonly #prefix: string;
  readonly #flushMs: number;
  readonly #maxBatch: number;
  readonly #maxScripts: number;
  readonly #timeoutMs: number;
  readonly #backoff: { readonly first: number; readonly max: number };
  readonly #giveUpMs: number;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #instance = randomBytes(6).toString('base64url');
  #sequence = 0;
  #listener: SharedCountListener | null = null;
  readonly #queue: FailureQueue;
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> | null = null;
  #pause = 0;
  #closed = false;
  #outage: Outage | null = null;
  #lastFlushFailed = false;
  readonly counters: SharedWindowsCounters = {
    failuresSent: 0,
    scriptsRun: 0,
    crossings: 0,
    decidedSkips: 0,
    aggregated: 0,
    flushErrors: 0,
    dropped: 0,
    rejected: 0,
    listenerErrors: 0,
    forgets: 0,
    lastFlushMs: 0,
  };

  constructor(options: SharedWindowsOptions) {
    checkKeyPrefix(options.keyPrefix);
    this.#client = options.client;
    this.#prefix = options.keyPrefix;
    this.#flushMs = positive(options.flushMs ?? 5, 'flushMs', true);
    this.#maxBatch = positive(options.maxBatch ?? 5000, 'maxBatch');
    this.#maxScripts = positive(options.maxScripts ?? 1000, 'maxScripts');
    this.#timeoutMs = positive(options.timeoutMs ?? 5000, 'timeoutMs');
    this.#backoff = options.backoffMs ?? { first: 50, max: 2000 };
    positive(this.#backoff.first, 'backoffMs.first');
    positive(this.#backoff.max, 'backoffMs.max');
    this.#giveUpMs = positive(options.giveUpMs ?? 30_000, 'giveUpMs');
    this.#log = options.logger ?? silentLogger;
    this.#now = options.now ?? (() => performance.now());
    this.#queue = new FailureQueue(
      positive(options.maxQueued ?? 200_000, 'maxQueued'),
      positive(options.maxQueuedBytes ?? 64 * 2 ** 20, 'maxQueuedBytes'),
      this.#now,
    );
    const client = this.#client as unknown as Record<string, unknown>;
    if (typeof client[COMMAND] !== 'function')
      this.#client.defineCommand(COMMAND, { numberOfKeys: 2, lua: WINDOW_SCRIPT });
    const command = client[COMMAND] as WindowCommand;
    this.#run = (...args) => command.apply(this.#client, args);
  }

  listen(listener: SharedCountListener): void {
    this.#listener = listener;
  }

  /** Failures queued or in flight. */
  get held(): number {
    return this.#queue.held;
  }

  /** Bytes of their text. */
  get heldBytes(): number {
    return this.#queue.heldBytes;
  }

  add(target: Cidr, failure: Failure, rule: WindowRule): void {
    if (this.#closed) {
      this.counters.dropped++;
      return;
    }
    const keys = windowKeys(this.#prefix, formatCidr(target), failure.jail);
    if (keys === null) {
      this.counters.rejected++;
      return;
    }
    const size = 2 * (failure.line.length + failure.host.length + failure.sender.length);
    if (!this.#queue.fits(size)) {
      this.#drop(1);
      return;
    }
    this.#queue.push(keys, failure.jail, target, rule, {
      id: `${this.#instance}.${(this.#sequence++).toString(36)}`,
      time: failure.time,
      attacker: failure.attacker,
      host: failure.host,
      sender: failure.sender,
      line: failure.line,
      size,
    });
    this.#schedule();
  }

  forget(target: Cidr, jails: readonly string[]): void {
    if (this.#closed) return;
    const text = formatCidr(target);
    for (const jail of jails) {
      const keys = windowKeys(this.#prefix, text, jail);
      if (keys !== null) this.#queue.reset(keys, jail, target, FORGET_ONLY);
    }
    this.#schedule();
  }

  /**
   * Sends what is queued now (and the cut-off failures of windows that stayed open), and
   * resolves once nothing is in flight; stops early, leaving the rest to the retries, after a
   * flush that Redis did not take.
   */
  async flush(): Promise<void> {
    for (;;) {
      while (this.#flushing !== null) await this.#flushing;
      if (this.#queue.size === 0) return;
      if (this.#timer !== null) clearTimeout(this.#timer);
      this.#timer = null;
      await this.#startFlush();
      if (this.#lastFlushFailed) return;
    }
  }

  /** Sends what is queued once more, then refuses (and counts as dropped) further failures. Leaves the client open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.flush();
    } finally {
      this.#closed = true;
      if (this.#timer !== null) clearTimeout(this.#timer);
      this.#timer = null;
      this.#drop(this.#queue.clear());
    }
  }

  #schedule(): void {
    if (this.#flushing !== null || this.#closed || this.#queue.size === 0) return;
    const due =
      this.#pause > 0
        ? this.#pause
        : this.#queue.held >= this.#maxBatch
          ? 0
          : Math.max(0, this.#flushMs - (this.#now() - this.#queue.since));
    if (this.#timer !== null) {
      if (due > 0) return;
      clearTimeout(this.#timer);
    }
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#startFlush();
    }, due);
  }

  #startFlush(): Promise<void> {
    const flushing = this.#flushOnce()
      .catch((err: unknown) => {
        // Not expected (each script's failure is handled where it is sent): logged, never thrown.
        this.#log.error({ err }, 'shared failure windows: a flush failed');
      })
      .finally(() => {
        this.#flushing = null;
        this.#schedule();
      });
    this.#flushing = flushing;
    return flushing;
  }

  async #flushOnce(): Promise<void> {
    const batch = this.#queue.take(this.#maxScripts);
    const started = this.#now();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`Redis did not answer within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
    });
    // Rejections are handled per group; this keeps an unanswered deadline from being unhandled.
    deadline.catch(() => undefined);
    // A forget alone (no failure, no reply to recover) needs no script: one DEL per target.
    const drops = new Map<string, Group[]>();
    const scripts: Group[] = [];
    for (const g of batch) {
      if (g.reset && g.failures.length === 0 && g.token === null) {
        const same = drops.get(g.decided);
        if (same === undefined) drops.set(g.decided, [g]);
        else same.push(g);
      } else scripts.push(g);
    }
    const results = await Promise.all([
      ...scripts.map((g) => this.#send(g, deadline)),
      ...[...drops.values()].map((groups) => this.#dropWindows(groups, deadline)),
    ]);
    clearTimeout(timer);
    this.counters.lastFlushMs = this.#now() - started;
    const failed = results.filter((r) => r !== null);
    this.#lastFlushFailed = failed.length > 0;
    if (failed.length === 0) {
      this.#pause = 0;
      if (this.#outage !== null) this.#recovered();
      return;
    }
    this.counters.flushErrors++;
    this.#pause = Math.min(
      this.#backoff.max,
      this.#pause === 0 ? this.#backoff.first : this.#pause * 2,
    );
    this.#outage ??= this.#newOutage();
    if (!this.#outage.retryLogged) {
      this.#outage.retryLogged = true;
      this.#log.warn(
        { err: failed[0], groups: failed.length },
        'shared failure windows: Redis did not take a batch of failures; retrying with backoff (failures wait in memory, up to maxQueued)',
      );
    }
  }

  /** Sends one group; returns null when Redis answered, else the error (the group is queued again). */
  async #send(group: Group, deadline: Promise<never>): Promise<unknown> {
    const { rule } = group;
    const { send, tail } = cutAtCrossing(group.failures, rule.findtimeMs, rule.maxretry);
    group.token ??= `${this.#instance}.${(this.#sequence++).toString(36)}`;
    const args: (string | number)[] = [
      rule.findtimeMs,
      rule.maxretry,
      Math.max(1, Math.round(rule.decidedTtlMs)),
      MAX_LINES,
      group.token,
      // Idle windows vanish a minute after findtime: nothing in them can count by then.
      Math.max(1, rule.findtimeMs) + 60_000,
      group.reset ? '1' : '0',
    ];
    for (const f of send)
      args.push(
        f.time,
        JSON.stringify([
          f.id,
          f.attacker,
          wellFormed(f.host),
          wellFormed(f.sender),
          wellFormed(f.line),
        ]),
      );
    let reply;
    try {
      reply = parseScriptReply(
        await Promise.race([this.#run(group.window, group.decided, ...args), deadline]),
      );
    } catch (err) {
      this.#retry(group);
      return err ?? new Error('unknown Redis error');
    }
    this.counters.scriptsRun++;
    this.counters.failuresSent += send.length;
    this.#queue.release(send);
    this.#queue.release(tail);
    switch (reply.kind) {
      case 'open':
        this.#report(group.jail, { counted: reply.counted, stale: reply.stale, decided: 0 });
        if (tail.length > 0) this.#queue.putBack(group, tail);
        break;
      case 'decided':
        this.counters.decidedSkips += send.length + tail.length;
        this.counters.aggregated += tail.length;
        this.#report(group.jail, { counted: 0, stale: 0, decided: send.length + tail.length });
        break;
      case 'crossed': {
        const after = Math.max(0, send.length - reply.index - 1) + tail.length;
        this.counters.crossings++;
        this.counters.decidedSkips += after;
        this.counters.aggregated += tail.length;
        this.#report(group.jail, { counted: reply.counted, stale: reply.stale, decided: after });
        const crossing = send[Math.min(reply.index, send.length - 1)];
        this.#cross(group, crossing, reply.window);
        break;
      }
    }
    return null;
  }

  /** Drops the windows of one target's forgotten jails; null when Redis answered, else the error. */
  async #dropWindows(groups: readonly Group[], deadline: Promise<never>): Promise<unknown> {
    const [first, ...rest] = groups.map((g) => g.window);
    if (first === undefined) return null;
    try {
      await Promise.race([this.#client.del(first, ...rest), deadline]);
    } catch (err) {
      for (const g of groups) this.#retry(g);
      return err ?? new Error('unknown Redis error');
    }
    this.counters.forgets++;
    return null;
  }

  #cross(group: Group, crossing: Pending | undefined, window: CrossedWindow): void {
    if (this.#listener === null) return;
    try {
      this.#listener.crossed({
        jail: group.jail,
        attacker: crossing?.attacker ?? '',
        target: group.target,
        time: crossing?.time ?? 0,
        failures: window.failures,
        hosts: window.hosts,
        senders: window.senders,
        lines: window.lines,
      });
    } catch {
      this.counters.listenerErrors++;
    }
  }

  #report(jail: string, outcome: CountOutcome): void {
    if (this.#listener === null) return;
    try {
      this.#listener.counted(jail, outcome);
    } catch {
      this.counters.listenerErrors++;
    }
  }

  /** Queues a group whose script failed again, ahead of what came after it, or drops it past giveUpMs. */
  #retry(group: Group): void {
    const now = this.#now();
    if (group.failingSince < 0) group.failingSince = now;
    if (now - group.failingSince <= this.#giveUpMs) {
      this.#queue.retry(group);
      return;
    }
    this.#queue.release(group.failures);
    this.#drop(group.failures.length);
  }

  #drop(n: number): void {
    if (n <= 0) return;
    this.counters.dropped += n;
    this.#outage ??= this.#newOutage();
    this.#outage.dropped += n;
    if (this.#outage.droppedLogged) return;
    this.#outage.droppedLogged = true;
    this.#log.error(
      {
        dropped: n,
        held: this.#queue.held,
        heldBytes: this.#queue.heldBytes,
        giveUpMs: this.#giveUpMs,
      },
      'shared failure windows: Redis is not taking failures; dropping failures (not counted towards any ban) until it answers again',
    );
  }

  #newOutage(): Outage {
    return { since: this.#now(), retryLogged: false, droppedLogged: false, dropped: 0 };
  }

  #recovered(): void {
    const outage = this.#outage;
    this.#outage = null;
    if (outage === null) return;
    this.#log.warn(
      { afterMs: Math.round(this.#now() - outage.since), dropped: outage.dropped },
      'shared failure windows: Redis answers again',
    );
  }
}

/** Lone surrogates as U+FFFD: Redis's cjson refuses them, and a script that fails half-way is not undone. */
function wellFormed(text: string): string {
  return LONE_SURROGATE_CHECK.test(text) ? text.replace(LONE_SURROGATE, '\uFFFD') : text;
}

const LONE_SURROGATE_CHECK = /[\uD800-\uDFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function positive(value: number, name: string, zeroOk = false): number {
  if (!Number.isFinite(value) || value < 0 || (!zeroOk && value === 0))
    throw new TypeError(`${name} must be a ${zeroOk ? 'non-negative' : 'positive'} number`);
  return value;
}
