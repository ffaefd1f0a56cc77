// Webhook request bodies (json, slack, mattermost) and their signature: pure, no sockets.
import { createHmac } from 'node:crypto';
import type { EpochMs } from '../core/clock.js';
import type { Change } from '../core/types.js';

export const WebhookFormat = { JSON: 'json', SLACK: 'slack', MATTERMOST: 'mattermost' } as const;
export type WebhookFormat = (typeof WebhookFormat)[keyof typeof WebhookFormat];

/** One ban or unban as a webhook reports it; `seq` is its change-feed sequence number. */
export type WebhookEvent =
  | {
      readonly seq: number;
      readonly event: 'ban';
      /** When it happened: the ban's start. */
      readonly at: EpochMs;
      readonly target: string;
      readonly jail: string;
      readonly origin: string;
      readonly attacker: string;
      readonly start: EpochMs;
      /** null: permanent. */
      readonly end: EpochMs | null;
      readonly failures: number;
      readonly banCount: number;
      /** Failures per reporting host; {} when the ban was lifted before it was delivered. */
      readonly hosts: Readonly<Record<string, number>>;
    }
  | {
      readonly seq: number;
      readonly event: 'unban';
      readonly target: string;
      readonly jail: string;
      readonly at: EpochMs;
      readonly reason: string;
    };

/** The event a change becomes, given the ban's hosts when they are still known. */
export function eventOf(change: Change, hosts: Readonly<Record<string, number>>): WebhookEvent {
  if (change.kind === 'unban') {
    const { seq, target, jail, at, reason } = change;
    return { seq, event: 'unban', target, jail, at, reason };
  }
  const b = change.ban;
  return {
    seq: change.seq,
    event: 'ban',
    at: b.start,
    target: b.target,
    jail: b.jail,
    origin: b.origin,
    attacker: b.attacker,
    start: b.start,
    end: b.end,
    failures: b.failures,
    banCount: b.banCount,
    hosts,
  };
}

/** The idempotency key of one delivery: the sequence numbers it carries, first and last. */
export function deliveryId(events: readonly WebhookEvent[]): string {
  const first = events[0]?.seq ?? 0;
  const last = events[events.length - 1]?.seq ?? first;
  return `${first}-${last}`;
}

/** Flood control's kinds: one event, a digest, or the summary of what the hourly cap held back. */
export type DeliveryKind = 'single' | 'digest' | 'summary';

/** Lines of a chat message at most; the rest is counted ("… and 12 more"). */
const MAX_LINES = 20;

/**
 * The body of one POST carrying `events` (one or more, oldest first). json: `{server, kind,
 * events}` with every field of each event, however many; slack and mattermost: an
 * incoming-webhook `{text}` message (both accept the same minimal shape), one line per event up
 * to MAX_LINES.
 */
export function renderWebhookBody(
  format: WebhookFormat,
  kind: DeliveryKind,
  events: readonly WebhookEvent[],
  server: string,
): string {
  if (format === WebhookFormat.JSON) return JSON.stringify({ server, kind, events });
  const lines = events.slice(0, MAX_LINES).map(line);
  if (events.length > MAX_LINES) lines.push(`… and ${events.length - MAX_LINES} more`);
  const head =
    kind === 'summary'
      ? `fleetban on ${server}: ${events.length} events held back by notify.maxPerHour\n`
      : events.length === 1
        ? `fleetban on ${server}: `
        : `fleetban on ${server}: ${events.length} events\n`;
  return JSON.stringify({ text: head + lines.join('\n') });
}

function line(e: WebhookEvent): string {
  if (e.event === 'unban') return `[${e.jail}] Unban ${e.target} (${e.reason})`;
  const until = e.end === null ? 'permanently' : `until ${new Date(e.end).toISOString()}`;
  const hosts = Object.keys(e.hosts);
  const from = hosts.length > 0 ? ` on ${hosts.join(', ')}` : '';
  return `[${e.jail}] Ban ${e.target} ${until} after ${e.failures} failures${from}`;
}

/** `X-Fleetban-Signature`: `sha256=` and the hex HMAC-SHA256 of the body under the key. */
export function signBody(key: string, body: string): string {
  return `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
}
