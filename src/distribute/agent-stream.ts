// One agent's live stream: snapshot or resume first, then every change pushed in seq order, pings, and a bound on what a slow reader may queue.
import type { ServerResponse } from 'node:http';
import type { Change } from '../core/types.js';
import type { BanStore } from '../store/store.js';
import { changeMessage, toBanEntry } from './ban-entry.js';
import { encodeStreamMessage, type BanEntry, type StreamMessage } from './protocol.js';

/** Why a stream ended: a metric label and a log field. */
export const StreamEnd = {
  /** The agent closed the connection (or it broke). */
  CLIENT: 'client',
  /** More than `maxQueued` changes waited for a reader that does not read. */
  SLOW: 'slow',
  /** Nothing drained for two ping intervals. */
  STALLED: 'stalled',
  /** The feed was pruned under a catching-up agent: it reconnects and gets a snapshot. */
  RESYNC: 'resync',
  /** The never-ban list grew over an active ban: the agent reconnects and gets a snapshot without it. */
  NEVER_BAN: 'never-ban',
  /** The agent was removed (`fleetban agents remove`). */
  REMOVED: 'removed',
  /** The same agent opened a newer stream. */
  REPLACED: 'replaced',
  SHUTDOWN: 'shutdown',
  ERROR: 'error',
} as const;
export type StreamEnd = (typeof StreamEnd)[keyof typeof StreamEnd];

export interface AgentStreamOptions {
  readonly store: BanStore;
  readonly res: ServerResponse;
  /** The agent's last applied seq; null (or 0) asks for a snapshot. */
  readonly since: number | null;
  readonly maxQueued: number;
  readonly pingIntervalMs: number;
  /** Begin with a snapshot even if `since` is still in the feed (the never-ban list changed since). */
  readonly forceSnapshot?: boolean;
  /** Whether a target must not reach the agent (never-ban list), told of each one left out; absent = none. */
  readonly withhold?: (target: string) => boolean;
  /** Called once, when the stream has ended for whatever reason. */
  readonly onEnd: (reason: StreamEnd, error?: unknown) => void;
}

/** Feed entries read per catch-up step: large enough to be quick, small enough to pace by drain. */
const PAGE = 5000;

/**
 * Contract: the stream subscribes to the store before it reads anything, so no change can fall
 * between the snapshot (or the catch-up read) and the live feed; changes that arrive meanwhile
 * wait in a bounded buffer and duplicates are skipped by seq. Lines go out in strictly increasing
 * seq. The stream never waits on a slow reader while live: it counts what the socket holds
 * undrained and cuts the connection past `maxQueued`, because the agent can always catch up
 * from the feed or a snapshot, while server memory cannot grow without bound.
 */
export class AgentStream {
  readonly #o: AgentStreamOptions;
  readonly #unsubscribe: () => void;
  #buffer: Change[] = [];
  #live = false;
  #ended = false;
  #lastSent = 0;
  #queued = 0;
  #stalledTicks = 0;
  #messages = 0;
  #ping: NodeJS.Timeout | undefined;
  #drainWaiter: (() => void) | undefined;
  /** How the stream began, once it has: a full snapshot or a resume from the feed. */
  #start: 'snapshot' | 'resume' | undefined;

  constructor(options: AgentStreamOptions) {
    this.#o = options;
    this.#unsubscribe = options.store.subscribe((changes) => {
      this.#onChanges(changes);
    });
    options.res.on('drain', () => {
      this.#queued = 0;
      this.#stalledTicks = 0;
      this.#drainWaiter?.();
    });
    options.res.on('close', () => {
      this.end(StreamEnd.CLIENT);
    });
  }

  /** Last seq written to this stream. */
  get lastSent(): number {
    return this.#lastSent;
  }

  get messages(): number {
    return this.#messages;
  }

  get start(): 'snapshot' | 'resume' | undefined {
    return this.#start;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Sends the first line and any catch-up, then goes live. Never throws: failures end the stream. */
  async run(): Promise<void> {
    try {
      await this.#begin();
    } catch (e) {
      this.end(StreamEnd.ERROR, e);
    }
  }

  /** Ends the stream (idempotent). Slow or stalled readers are cut; others get a clean end. */
  end(reason: StreamEnd, error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#unsubscribe();
    this.#buffer = [];
    if (this.#ping !== undefined) clearInterval(this.#ping);
    this.#drainWaiter?.();
    const res = this.#o.res;
    if (reason === StreamEnd.SLOW || reason === StreamEnd.STALLED || reason === StreamEnd.ERROR) {
      res.destroy();
    } else if (reason !== StreamEnd.CLIENT) {
      res.end();
      // A keep-alive connection would outlive the stream; the agent reconnects afresh anyway.
      res.once('finish', () => res.socket?.destroySoon());
    }
    this.#o.onEnd(reason, error);
  }

  async #begin(): Promise<void> {
    const { store, since } = this.#o;
    const res = this.#o.res;
    res.writeHead(200, {
      'content-type': 'application/x-ndjson',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    let first =
      since === null || since === 0 || this.#o.forceSnapshot === true
        ? null
        : await store.changesSince(since, PAGE);
    if (this.#ended) return;
    if (first === null || since === null) {
      this.#start = 'snapshot';
      // Synchronous with the store's memory: every change up to lastSeq is in active(), every later one reaches the buffer.
      const seq = store.stats().lastSeq;
      const bans: BanEntry[] = [];
      for (const ban of store.active()) if (!this.#withheld(ban.target)) bans.push(toBanEntry(ban));
      this.#send({ type: 'snapshot', seq, bans });
      this.#lastSent = seq;
      first = [];
    } else {
      this.#start = 'resume';
      this.#send({ type: 'resume', seq: since });
      this.#lastSent = since;
    }
    this.#startPings();
    for (let page = first; page.length > 0;) {
      for (const change of page) this.#sendChange(change);
      await this.#drained();
      if (this.#stopped()) return;
      const next = await store.changesSince(this.#lastSent, PAGE);
      if (this.#stopped()) return;
      if (next === null) {
        this.end(StreamEnd.RESYNC);
        return;
      }
      page = next;
    }
    this.#live = true;
    const waiting = this.#buffer;
    this.#buffer = [];
    for (const change of waiting) this.#sendChange(change);
  }

  /** A call, not a field read: the stream may end during any await, which narrowing cannot see. */
  #stopped(): boolean {
    return this.#ended;
  }

  #onChanges(changes: readonly Change[]): void {
    if (this.#ended) return;
    if (!this.#live) {
      this.#buffer.push(...changes);
      if (this.#buffer.length > this.#o.maxQueued) this.end(StreamEnd.SLOW);
      return;
    }
    for (const change of changes) this.#sendChange(change);
  }

  #sendChange(change: Change): void {
    if (this.#ended || change.seq <= this.#lastSent) return;
    if (change.seq !== this.#lastSent + 1) {
      // The store's view was rebuilt (a shared store lost or trimmed changes): start afresh.
      this.end(StreamEnd.RESYNC);
      return;
    }
    // A withheld ban goes out as an unban of its target: the seq stays gapless, and an agent that
    // holds the target from before the never-ban list grew drops it.
    this.#send(
      change.kind === 'ban' && this.#withheld(change.ban.target)
        ? { type: 'unban', seq: change.seq, target: change.ban.target }
        : changeMessage(change),
    );
    this.#lastSent = change.seq;
  }

  #withheld(target: string): boolean {
    return this.#o.withhold?.(target) === true;
  }

  #send(message: StreamMessage): void {
    const res = this.#o.res;
    const flowing = res.write(encodeStreamMessage(message));
    this.#messages++;
    if (!flowing) {
      this.#queued++;
      if (this.#live && this.#queued > this.#o.maxQueued) this.end(StreamEnd.SLOW);
    }
  }

  #drained(): Promise<void> {
    if (!this.#o.res.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      this.#drainWaiter = () => {
        this.#drainWaiter = undefined;
        resolve();
      };
    });
  }

  #startPings(): void {
    this.#ping = setInterval(() => {
      if (this.#o.res.writableNeedDrain) {
        // Nothing drained for two whole intervals: the peer is gone or stuck.
        if (++this.#stalledTicks >= 2) this.end(StreamEnd.STALLED);
        return;
      }
      this.#send({ type: 'ping', seq: this.#lastSent });
    }, this.#o.pingIntervalMs);
    this.#ping.unref();
  }
}
