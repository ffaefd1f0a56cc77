// The outbox worker: reads pending notices from the store, applies flood control, sends, then deletes them.
import type { Clock, EpochMs } from '../core/clock.js';
import { describeError, ErrorCode, FleetbanError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { BanStore } from '../store/store.js';
import { FloodControl, SendLog, type FloodOptions, type PlannedMail } from './flood.js';
import type { Notice } from '../core/types.js';
import type { RenderContext, RenderedMail } from './notice.js';
import {
  renderDigest,
  renderLifecycle,
  renderNotice,
  renderSummary,
  renderTest,
} from './render.js';
import {
  renderSilentSenders,
  renderSilentSendersDigest,
  type SilentSenderEvent,
} from './silent-alert.js';
import type { MailTransport, SendReceipt } from './transport.js';

export interface MailerOptions extends FloodOptions, RenderContext {
  /** Global recipients (mail.to): every jail with `notify: "default"`, tests, lifecycle mail. */
  readonly to: readonly string[];
  /** First retry delay after a failed send; doubled per failure up to `retryMaxMs`. */
  readonly retryMinMs: number;
  readonly retryMaxMs: number;
  /** Mail when the server starts and stops. */
  readonly lifecycle: boolean;
}

export interface MailerDeps {
  readonly store: Pick<
    BanStore,
    'outbox' | 'ackOutbox' | 'sentMail' | 'outboxSize' | 'subscribe' | 'stats'
  >;
  readonly transport: MailTransport;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly options: MailerOptions;
  /**
   * Recipients of a jail's mail: its own list, the global one, or [] when its notify is "off"
   * (such notices are dropped unsent). Asked at send time, so a reload applies to pending mail.
   */
  readonly recipients: (jail: string) => readonly string[];
}

/** The outbox as `fleetban status` shows it. */
export interface OutboxStatus {
  readonly enabled: boolean;
  readonly transport: string;
  readonly pending: number;
  readonly sent: number;
  readonly failedAttempts: number;
  readonly lastError: string | null;
  readonly lastErrorAt: EpochMs | null;
  readonly lastSuccessAt: EpochMs | null;
  readonly nextRetryAt: EpochMs | null;
}

export interface MailTestReport extends SendReceipt {
  readonly transport: string;
  readonly to: readonly string[];
}

/** Notices read per pass; a longer outbox is worked through pass after pass. */
const READ_LIMIT = 10_000;
const HOUR_MS = 3600_000;

/**
 * Delivery is at least once, and once in practice: notices are deleted only after the server
 * accepted their mail. A crash between the server's "250 OK" and the delete is the one window in
 * which a mail is sent twice; the repeat carries the same Message-ID for a single notice (and for
 * a digest of the same notices), so clients and filters can recognise it.
 * Sending never blocks ingest: it runs on its own promise chain, woken by store changes or timers.
 */
export class Mailer {
  readonly #d: MailerDeps;
  readonly #flood = new Map<string, FloodControl>();
  /** Per recipient list: the mails it got this hour, whatever they carried. */
  readonly #logs = new Map<string, SendLog>();
  /** Silent-sender alerts waiting to go out to mail.to, oldest first: memory only, like alerts. */
  readonly #senderEvents: SilentSenderEvent[] = [];
  #senderFlood: FloodControl<SilentSenderEvent> | null = null;
  /** Send times per route from the store, read once at the first pass (the cap outlives restarts). */
  #sentBefore: Map<string, EpochMs[]> | null = null;
  #unsubscribe: (() => void) | null = null;
  #timer: NodeJS.Timeout | null = null;
  #wakeAt: EpochMs | null = null;
  #running: Promise<void> | null = null;
  #again = false;
  #closed = false;
  /** Admin alerts (ban brake trips) waiting to go out: kept in memory, retried like notices. */
  readonly #alerts: { readonly mail: RenderedMail; readonly tag: string }[] = [];
  #failures = 0;
  #status = {
    sent: 0,
    failedAttempts: 0,
    lastError: null as string | null,
    lastErrorAt: null as EpochMs | null,
    lastSuccessAt: null as EpochMs | null,
    nextRetryAt: null as EpochMs | null,
  };

  constructor(deps: MailerDeps) {
    this.#d = deps;
  }

  /** Starts watching the store; pending notices from before a restart go out under the same rules. */
  start(): void {
    this.#unsubscribe = this.#d.store.subscribe(() => {
      if (this.#d.store.outboxSize() > 0) this.kick();
    });
    if (this.#d.options.lifecycle) void this.#lifecycle('started');
    this.kick();
  }

  /** Stops timers and waits for a send under way; pending notices stay in the outbox. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#unsubscribe?.();
    this.#clearTimer();
    await this.#running;
    if (this.#d.options.lifecycle) await this.#lifecycle('stopped');
    this.#closed = true;
    this.#clearTimer();
    this.#d.transport.close();
  }

  /** Looks at the outbox now (new notices, a timer that fired, a clock moved in tests). */
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
          this.#d.logger.error({ err: e }, `mail outbox failed: ${describeError(e)}`);
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

  status(): OutboxStatus {
    return {
      enabled: true,
      transport: this.#d.transport.describe(),
      pending: this.#d.store.outboxSize(),
      ...this.#status,
    };
  }

  /**
   * Queues an alert for the global recipients (mail.to), sent before pending notices and retried
   * with the same backoff. Alerts live in memory: one queued when the server stops is not sent
   * (what it reports, e.g. held bans, stays in the store and in `fleetban status`).
   */
  alert(mail: RenderedMail): void {
    if (this.#d.options.to.length === 0) return;
    this.#alerts.push({ mail, tag: `alert-${this.#d.clock.now()}-${this.#alerts.length}` });
    this.kick();
  }

  /**
   * Queues a silent-sender alert for mail.to. Unlike brake alerts these go through flood control
   * with the ban mail to the same recipients: one quiet alert goes at once, a burst is gathered
   * into one digest, and each counts against `mail.maxPerHour` (held, then summarised, beyond it).
   * Kept in memory: one still queued when the server stops is not sent.
   */
  silentSenders(event: SilentSenderEvent): void {
    if (this.#d.options.to.length === 0 || event.senders.length === 0) return;
    this.#senderEvents.push(event);
    this.kick();
  }

  /** `fleetban mail test`: one message straight through the transport, bypassing the outbox. */
  async sendTest(to?: readonly string[]): Promise<MailTestReport> {
    const rcpt = to !== undefined && to.length > 0 ? to : this.#d.options.to;
    if (rcpt.length === 0)
      throw new FleetbanError(ErrorCode.MAIL_FAILED, 'no recipient: set mail.to or pass --to');
    const now = this.#d.clock.now();
    const transport = this.#d.transport.describe();
    const rendered = renderTest(now, transport, this.#d.options);
    const receipt = await this.#d.transport.send({
      ...rendered,
      to: rcpt,
      messageId: messageId(`test-${now}`, this.#d.options.hostname),
    });
    return { ...receipt, transport, to: rcpt };
  }

  async #pass(): Promise<void> {
    const now = this.#d.clock.now();
    const retryAt = this.#status.nextRetryAt;
    if (retryAt !== null && now < retryAt) {
      this.#arm(retryAt);
      return;
    }
    this.#sentBefore ??= await this.#readSentMail(now);
    for (let alert = this.#alerts[0]; alert !== undefined; alert = this.#alerts[0]) {
      const sent = await this.#transmit(alert.mail, this.#d.options.to, alert.tag, {}, () =>
        Promise.resolve(),
      );
      if (!sent) return;
      this.#alerts.shift();
    }
    const senderWakeAt = await this.#mailSenderAlerts();
    if (senderWakeAt === false) return;
    let wakeAt: EpochMs | null = null;
    for (let sentSome = true; sentSome && !this.#closed;) {
      sentSome = false;
      wakeAt = senderWakeAt;
      const pending = await this.#d.store.outbox(READ_LIMIT);
      const routes = new Map<string, { to: readonly string[]; notices: Notice[] }>();
      const dropped: number[] = [];
      for (const n of pending) {
        const to = this.#d.recipients(n.ban.jail);
        if (to.length === 0) {
          dropped.push(n.id);
          continue;
        }
        const key = routeKey(to);
        const route = routes.get(key) ?? { to, notices: [] };
        route.notices.push(n);
        routes.set(key, route);
      }
      if (dropped.length > 0) await this.#d.store.ackOutbox(dropped);
      for (const [key, route] of routes) {
        const flood = this.#floodFor(key);
        const plan = flood.plan(route.notices);
        if (plan.wakeAt !== null) wakeAt = Math.min(wakeAt ?? plan.wakeAt, plan.wakeAt);
        if (plan.mail === null) continue;
        if (!(await this.#send(plan.mail, route.to, key))) return;
        flood.recordSent(plan.mail);
        sentSome = true;
      }
      if (pending.length === READ_LIMIT && sentSome) continue;
    }
    if (wakeAt !== null) this.#arm(wakeAt);
  }

  /** Sends one planned mail; on success deletes its notices, on failure schedules a retry. */
  async #send(mail: PlannedMail, to: readonly string[], route: string): Promise<boolean> {
    const o = this.#d.options;
    const rendered: RenderedMail =
      mail.kind === 'summary'
        ? renderSummary(mail.notices, o.maxPerHour, o)
        : mail.kind === 'digest'
          ? renderDigest(mail.notices, o)
          : renderNotice(mail.notices[0] as Notice, o);
    const ids = mail.notices.map((n) => n.id);
    const first = ids[0] ?? 0;
    const last = ids[ids.length - 1] ?? first;
    const tag =
      mail.kind === 'single' ? `notice-${first}` : `${mail.kind}-${first}-${last}-${ids.length}`;
    return this.#transmit(rendered, to, tag, { kind: mail.kind, notices: ids.length }, () =>
      this.#d.store.ackOutbox(ids, { route, at: this.#d.clock.now() }),
    );
  }

  /**
   * Sends one message; on success runs `sent` (deleting what it carried) and resets the backoff,
   * on failure (of either) schedules a retry.
   */
  async #transmit(
    rendered: RenderedMail,
    to: readonly string[],
    tag: string,
    fields: Readonly<Record<string, unknown>>,
    sent: () => Promise<void>,
  ): Promise<boolean> {
    const o = this.#d.options;
    try {
      const receipt = await this.#d.transport.send({
        ...rendered,
        to,
        messageId: messageId(tag, o.hostname),
      });
      await sent();
      const now = this.#d.clock.now();
      this.#failures = 0;
      this.#status.sent++;
      this.#status.lastSuccessAt = now;
      this.#status.nextRetryAt = null;
      this.#d.logger.info(
        { ...fields, to, response: receipt.response },
        `mail sent: ${rendered.subject}`,
      );
      return true;
    } catch (e) {
      const now = this.#d.clock.now();
      this.#failures++;
      const delay = Math.min(o.retryMaxMs, o.retryMinMs * 2 ** (this.#failures - 1));
      this.#status.failedAttempts++;
      this.#status.lastError = describeError(e);
      this.#status.lastErrorAt = now;
      this.#status.nextRetryAt = now + delay;
      this.#d.logger.error(
        { err: e, pending: this.#d.store.outboxSize(), retryInMs: delay },
        `mail not sent, retrying in ${Math.round(delay / 1000)}s: ${describeError(e)}`,
      );
      this.#arm(now + delay);
      return false;
    }
  }

  /**
   * Plans the pending silent-sender alerts on mail.to's send log and sends what is due. Returns
   * when to look again (null: only when something arrives), or false when the send failed (the
   * retry is armed).
   */
  async #mailSenderAlerts(): Promise<EpochMs | null | false> {
    const o = this.#d.options;
    if (this.#senderEvents.length === 0) return null;
    const key = routeKey(o.to);
    this.#senderFlood ??= new FloodControl<SilentSenderEvent>(o, this.#d.clock, this.#logFor(key));
    const plan = this.#senderFlood.plan(this.#senderEvents);
    const mail = plan.mail;
    const first = mail?.notices[0];
    if (mail === null || first === undefined) return plan.wakeAt;
    const rendered =
      mail.kind === 'single'
        ? renderSilentSenders(first.kind, first.senders, first.silentAfterMs, o)
        : renderSilentSendersDigest(mail.notices, mail.kind === 'summary' ? o.maxPerHour : null, o);
    const tag = `senders-${first.at}-${mail.notices.length}`;
    const fields = { kind: mail.kind, senderAlerts: mail.notices.length };
    // Recorded in the store like ban mail, so the alert counts against the cap after a restart.
    const sent = await this.#transmit(rendered, o.to, tag, fields, () =>
      this.#d.store.ackOutbox([], { route: key, at: this.#d.clock.now() }),
    );
    if (!sent) return false;
    // Alerts queued while this one was sending came after the planned ones: they stay.
    this.#senderEvents.splice(0, mail.notices.length);
    this.#senderFlood.recordSent(mail);
    return plan.wakeAt;
  }

  #floodFor(key: string): FloodControl {
    let f = this.#flood.get(key);
    if (f === undefined) {
      f = new FloodControl(this.#d.options, this.#d.clock, this.#logFor(key));
      this.#flood.set(key, f);
    }
    return f;
  }

  #logFor(key: string): SendLog {
    let log = this.#logs.get(key);
    if (log === undefined) {
      log = new SendLog(this.#d.clock, this.#sentBefore?.get(key));
      this.#logs.set(key, log);
    }
    return log;
  }

  async #readSentMail(now: EpochMs): Promise<Map<string, EpochMs[]>> {
    const byRoute = new Map<string, EpochMs[]>();
    for (const m of await this.#d.store.sentMail(now - HOUR_MS)) {
      const times = byRoute.get(m.route) ?? [];
      times.push(m.at);
      byRoute.set(m.route, times);
    }
    return byRoute;
  }

  /** One timer for the earliest thing to do; a later request never delays an earlier one. */
  #arm(at: EpochMs): void {
    if (this.#closed) return;
    if (this.#timer !== null && this.#wakeAt !== null && this.#wakeAt <= at) return;
    this.#clearTimer();
    this.#wakeAt = at;
    const delay = Math.max(0, at - this.#d.clock.now());
    this.#timer = setTimeout(
      () => {
        this.#timer = null;
        this.#wakeAt = null;
        this.kick();
      },
      Math.min(delay, 2 ** 31 - 1),
    );
    this.#timer.unref();
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#wakeAt = null;
  }

  async #lifecycle(event: 'started' | 'stopped'): Promise<void> {
    const o = this.#d.options;
    if (o.to.length === 0) return;
    const now = this.#d.clock.now();
    try {
      await this.#d.transport.send({
        ...renderLifecycle(event, now, this.#d.store.stats().activeBans, o),
        to: o.to,
        messageId: messageId(`${event}-${now}`, o.hostname),
      });
    } catch (e) {
      this.#d.logger.warn({ err: e }, `cannot send the "${event}" mail: ${describeError(e)}`);
    }
  }
}

/** One flood-control route per recipient list, whatever order it was written in. */
function routeKey(to: readonly string[]): string {
  return [...to].sort().join(',');
}

function messageId(tag: string, hostname: string): string {
  const host = hostname.replace(/[^A-Za-z0-9.-]/g, '') || 'localhost';
  return `<fleetban-${tag}@${host}>`;
}
