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

/**
 * The body of one POST carrying `events` (one or more, oldest first). json: `{server, events}`
 * with every field of each event; slack and mattermost: an incoming-webhook `{text}` message, one
 * line per event (both accept the same minimal shape).
 */
export function renderWebhookBody(
  format: WebhookFormat,
  events: readonly WebhookEvent[],
  server: string,
): string {
  if (format === WebhookFormat.JSON) return JSON.stringify({ server, events });
  const lines = events.map(line);
  const head =
    events.length === 1
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
