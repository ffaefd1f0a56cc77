// The webhook deliverer: follows the store's change feed from its own durable position and POSTs each ban/unban.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Clock, EpochMs } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { readTlsFile } from '../core/tls-files.js';
import type { Change } from '../core/types.js';
import type { BanStore } from '../store/store.js';
import { FloodControl, type FloodOptions, type PlannedMail } from './flood.js';
import {
  deliveryId,
  eventOf,
  renderWebhookBody,
  signBody,
  type WebhookEvent,
  type WebhookFormat,
} from './webhook-body.js';
import { postWebhook } from './webhook-post.js';

export interface WebhookOptions extends FloodOptions {
  readonly url: string;
  /**
   * How logs, status and metrics name it: not the URL, whose path is often the secret (Slack,
   * Mattermost), e.g. "webhook 1 (hooks.slack.com)".
   */
  readonly name: string;
  readonly format: WebhookFormat;
  /** Sent as `X-Fleetban-Secret` when not empty. */
  readonly secret: string;
  /** Key of `X-Fleetban-Signature: sha256=<hmac of the body>` when not empty. */
  readonly hmac: string;
  /** PEM file of the CA that signs an https receiver's certificate; '' = the system CAs. */
  readonly ca: string;
  /** The config key naming `ca`, for the error when it cannot be read (`notify.webhooks[1].ca`). */
  readonly caKey?: string;
  readonly events: readonly ('ban' | 'unban')[];
  /** File holding the last sequence number delivered (or dropped); created at the first start. */
  readonly positionFile: string;
  /** Name of this server in the bodies. */
  readonly server: string;
  readonly retryMinMs: number;
  readonly retryMaxMs: number;
  /** Abort a request that takes longer (then retried like any failure). */
  readonly timeoutMs: number;
}

export interface WebhookDeps {
  readonly store: Pick<BanStore, 'changesSince' | 'subscribe' | 'stats' | 'get' | 'details'>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Whether a ban of this jail and origin is announced (jails with notify "off" are not). */
  readonly wants: (jail: string, origin: string) => boolean;
  /**
   * Whether this server delivers now (on a shared store, the leader only); absent: always.
   * A server that is not delivering keeps its position, so one that takes over re-sends from
   * there rather than lose anything (receivers drop the repeats by X-Fleetban-Delivery).
   */
  readonly active?: () => boolean;
}

export interface WebhookStatus {
  readonly name: string;
  /** The last feed sequence number delivered (or skipped); -1 before start. */
  readonly position: number;
  readonly sent: number;
  readonly failed: number;
  readonly dropped: number;
  /** Feed entries after the position: not yet delivered (some may be filtered out). */
  readonly pending: number;
  /** When the receiver last answered 2xx; null: not since start. */
  readonly lastDeliveryAt: EpochMs | null;
  /** The last failure or refusal (a 4xx, a 5xx, a network or TLS error), kept after a success. */
  readonly lastError: string | null;
  readonly lastErrorAt: EpochMs | null;
  /** Set while a failed POST waits for its retry. */
  readonly nextRetryAt: EpochMs | null;
}

/** Feed entries read per pass at most; a longer backlog goes out POST after POST. */
const READ_LIMIT = 10_000;
const HOUR_MS = 3600_000;

/** The position file: the last sequence number delivered, and the send times of the last hour. */
interface Position {
  readonly seq: number;
  readonly sent: readonly EpochMs[];
}

/**
 * Why a feed and a position, not the mail outbox: the outbox holds one copy of each notice and
 * the mailer deletes it once mailed, so a second reader would race it. The change feed keeps
 * every ban and unban in sequence order whatever mail does, so each webhook reads it on its own
 * from the sequence number in its position file, written (temp file, then rename) only after
 * the receiver answered 2xx. A crash between that answer and the write re-sends that one POST
 * and nothing before it: delivery is at least once, and each POST carries
 * `X-Fleetban-Delivery: <first seq>-<last seq>` (and every event its `seq`) so a receiver can
 * drop a repeat. A receiver that is down or answers 5xx/429 is retried with doubling backoff and
 * nothing is skipped; 4xx (and 3xx: redirects are not followed) is logged and that POST dropped
 * (retrying cannot fix it). Flood
 * control is the mail's (digests, hourly cap with a summary), per webhook; its send times are
 * kept in the position file, so the cap holds across restarts. A position
 * older than the feed's retention (store down for days) skips to the newest entry, logged.
 * A ban's hosts come from the store while the ban is still active, {} once lifted.
 */
export class WebhookDeliverer {
  readonly #o: WebhookOptions;
  readonly #d: WebhookDeps;
  #position = -1;
  #flood: FloodControl<WebhookEvent> | null = null;
  #sent: EpochMs[] = [];
  #wake: NodeJS.Timeout | null = null;
  #wakeTime: EpochMs | null = null;
  #unsubscribe: (() => void) | null = null;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #again = false;
  #closed = false;
  #failures = 0;
  #abort: AbortController | null = null;
  #status = {
    sent: 0,
    failed: 0,
    dropped: 0,
    lastDeliveryAt: null as EpochMs | null,
    lastError: null as string | null,
    lastErrorAt: null as EpochMs | null,
  };
  #ca: Buffer | undefined;
  #nextRetryAt: EpochMs | null = null;

  constructor(options: WebhookOptions, deps: WebhookDeps) {
    this.#o = options;
    this.#d = deps;
  }

  /** Reads the position (a first start begins at the newest entry: no history is replayed). */
  async start(): Promise<void> {
    if (this.#o.ca !== '') this.#ca = await readTlsFile(this.#o.caKey ?? 'ca', this.#o.ca);
    const saved = await this.#readPosition();
    this.#position = saved?.seq ?? this.#d.store.stats().lastSeq;
    const hourAgo = this.#d.clock.now() - HOUR_MS;
    this.#sent = (saved?.sent ?? []).filter((t) => t > hourAgo);
    this.#flood = new FloodControl(this.#o, this.#d.clock, this.#sent);
    await this.#writePosition(this.#position);
    this.#unsubscribe = this.#d.store.subscribe(() => {
      this.kick();
    });
    this.kick();
  }

  /** Stops timers, aborts a request under way and waits for the pass; the position stays. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe?.();
    this.#clearTimer();
    if (this.#wake !== null) clearTimeout(this.#wake);
    this.#abort?.abort();
    await this.#running;
  }

  kick(): void {
    if (this.#closed) return;
    if (this.#running !== null) {
      this.#again = true;
      return;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        try {
          await this.#pass();
        } catch (e) {
          this.#d.logger.error({ err: e }, `${this.#o.name} failed: ${describeError(e)}`);
        }
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- kick() sets it while the pass awaits
      } while (this.#again && !this.#closed);
      this.#running = null;
    })();
  }

  /** Resolves once no pass is running (tests). */
  async idle(): Promise<void> {
    while (this.#running !== null) await this.#running;
  }

  status(): WebhookStatus {
    return {
      name: this.#o.name,
      position: this.#position,
      ...this.#status,
      pending: Math.max(0, this.#d.store.stats().lastSeq - this.#position),
      nextRetryAt: this.#nextRetryAt,
    };
  }

  async #pass(): Promise<void> {
    if (this.#d.active?.() === false) return;
    const flood = this.#flood;
    if (flood === null) return;
    if (this.#nextRetryAt !== null && this.#d.clock.now() < this.#nextRetryAt) return;
    while (!this.#closed) {
      const changes = await this.#d.store.changesSince(this.#position, READ_LIMIT);
      if (changes === null) {
        const last = this.#d.store.stats().lastSeq;
        this.#d.logger.warn(
          { webhook: this.#o.name, from: this.#position, to: last },
          `${this.#o.name}: its position ${this.#position} is outside the change feed; changes up to ${last} are not delivered`,
        );
        await this.#advance(last);
        continue;
      }
      const last = changes[changes.length - 1];
      if (last === undefined) return;
      const events = await this.#eventsOf(changes);
      if (events.length > 0) {
        const plan = flood.plan(events);
        if (plan.mail === null) {
          if (plan.wakeAt !== null) this.#wakeAt(plan.wakeAt);
          return;
        }
        if (!(await this.#post(plan.mail))) return;
        flood.recordSent(plan.mail);
        const now = this.#d.clock.now();
        this.#sent = [...this.#sent.filter((t) => t > now - HOUR_MS), now];
      }
      await this.#advance(last.seq);
    }
  }

  async #eventsOf(changes: readonly Change[]): Promise<WebhookEvent[]> {
    const out: WebhookEvent[] = [];
    for (const c of changes) {
      if (!this.#o.events.includes(c.kind)) continue;
      if (c.kind === 'ban' && !this.#d.wants(c.ban.jail, c.ban.origin)) continue;
      if (c.kind === 'unban' && !this.#d.wants(c.jail, 'jail')) continue;
      let hosts: Readonly<Record<string, number>> = {};
      if (c.kind === 'ban' && this.#d.store.get(c.ban.target)?.seq === c.seq)
        hosts = (await this.#d.store.details(c.ban.target))?.hosts ?? {};
      out.push(eventOf(c, hosts));
    }
    return out;
  }

  /** One POST; true when delivered or dropped for good, false when it is to be retried. */
  async #post(mail: PlannedMail<WebhookEvent>): Promise<boolean> {
    const o = this.#o;
    const events = mail.notices;
    const body = renderWebhookBody(o.format, mail.kind, events, o.server);
    const id = deliveryId(events);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'fleetban',
      'x-fleetban-delivery': id,
    };
    if (o.secret !== '') headers['x-fleetban-secret'] = o.secret;
    if (o.hmac !== '') headers['x-fleetban-signature'] = signBody(o.hmac, body);
    let problem: string;
    this.#abort = new AbortController();
    const timeout = setTimeout(() => this.#abort?.abort(), o.timeoutMs);
    try {
      const status = await postWebhook(o.url, body, {
        headers,
        ca: this.#ca,
        signal: this.#abort.signal,
      });
      if (status >= 200 && status < 300) {
        this.#status.sent++;
        this.#status.lastDeliveryAt = this.#d.clock.now();
        this.#failures = 0;
        this.#nextRetryAt = null;
        this.#d.logger.info(
          { webhook: o.name, delivery: id, events: events.length },
          'webhook sent',
        );
        return true;
      }
      // A redirect is not followed (the body would be re-sent to wherever it points): like a
      // 4xx, retrying cannot fix it.
      if (status >= 300 && status < 500 && status !== 429) {
        const fix =
          status < 400
            ? 'redirects are not followed: put the final URL in notify.webhooks'
            : 'check the URL and its secret';
        this.#status.dropped++;
        this.#status.lastError = `HTTP ${status}`;
        this.#status.lastErrorAt = this.#d.clock.now();
        this.#d.logger.error(
          { webhook: o.name, delivery: id, status },
          `${o.name} refused delivery ${id} with HTTP ${status}: dropped, not retried (${fix})`,
        );
        return true;
      }
      problem = `HTTP ${status}`;
    } catch (e) {
      if (this.#closed) return false;
      problem = describeError(e);
    } finally {
      clearTimeout(timeout);
      this.#abort = null;
    }
    this.#retryLater(problem, id);
    return false;
  }

  #retryLater(problem: string, id: string): void {
    const o = this.#o;
    const now = this.#d.clock.now();
    this.#failures++;
    const delay = Math.min(o.retryMaxMs, o.retryMinMs * 2 ** (this.#failures - 1));
    this.#status.failed++;
    this.#status.lastError = problem;
    this.#status.lastErrorAt = now;
    this.#nextRetryAt = now + delay;
    this.#d.logger.warn(
      { webhook: o.name, delivery: id, retryInMs: delay },
      `${o.name} not delivered, retrying in ${Math.round(delay / 1000)}s: ${problem}`,
    );
    this.#clearTimer();
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#nextRetryAt = null;
      this.kick();
    }, delay);
    this.#timer.unref();
  }

  /** Wakes for flood control's next step; an earlier wake is kept. */
  #wakeAt(at: EpochMs): void {
    if (this.#closed || (this.#wakeTime !== null && this.#wakeTime <= at)) return;
    if (this.#wake !== null) clearTimeout(this.#wake);
    this.#wakeTime = at;
    this.#wake = setTimeout(
      () => {
        this.#wake = null;
        this.#wakeTime = null;
        this.kick();
      },
      Math.min(Math.max(0, at - this.#d.clock.now()), 2 ** 31 - 1),
    );
    this.#wake.unref();
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  async #advance(seq: number): Promise<void> {
    await this.#writePosition(seq);
    this.#position = seq;
  }

  async #readPosition(): Promise<Position | null> {
    let text: string;
    try {
      text = await readFile(this.#o.positionFile, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    const { seq, sent } = JSON.parse(text) as { seq?: unknown; sent?: unknown };
    if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 0)
      throw new Error(`${this.#o.positionFile} holds no webhook position ({"seq": N})`);
    const times = Array.isArray(sent) ? sent.filter((t): t is number => typeof t === 'number') : [];
    return { seq, sent: times };
  }

  async #writePosition(seq: number): Promise<void> {
    const file = this.#o.positionFile;
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}.tmp`;
    await writeFile(tmp, `${JSON.stringify({ webhook: this.#o.name, seq, sent: this.#sent })}\n`, {
      flush: true,
    });
    await rename(tmp, file);
  }
}
