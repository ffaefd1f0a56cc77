// Webhook deliverers from notify.webhooks, and their metrics: the wiring between config, store and notify/webhook.
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { webhookConfig } from '../config/formats.js';
import type { FleetbanConfig } from '../config/load.js';
import type { MetricFamily } from '../control/metrics.js';
import { WebhookDeliverer, type WebhookDeps } from '../notify/webhook.js';

/**
 * One deliverer per configured webhook. Its position file lies in "webhooks" inside the store's
 * folder (beside agents.json: the one folder the systemd unit lets fleetban write), named by a
 * hash of the URL: a webhook whose URL changes starts afresh (from the newest
 * feed entry), one removed and added back resumes where it stopped.
 */
export function webhookDeliverers(
  config: FleetbanConfig,
  server: string,
  deps: WebhookDeps,
): WebhookDeliverer[] {
  const n = config.notify;
  const folder = join(resolve(config.store.path), 'webhooks');
  return n.webhooks.map((entry, i) => {
    const w = webhookConfig(entry);
    const id = createHash('sha256').update(w.url).digest('hex').slice(0, 16);
    return new WebhookDeliverer(
      {
        ...w,
        name: `webhook ${i + 1} (${new URL(w.url).host})`,
        caKey: `notify.webhooks[${i}].ca`,
        positionFile: join(folder, `${id}.json`),
        server,
        retryMinMs: n.retryMin * 1000,
        retryMaxMs: n.retryMax * 1000,
        timeoutMs: n.timeout * 1000,
        groupWaitMs: n.groupWait * 1000,
        groupThreshold: n.groupThreshold,
        maxPerHour: n.maxPerHour,
      },
      deps,
    );
  });
}

/**
 * fleetban_webhook_{sent,failed,dropped}_total, _pending, _position and the last delivery and
 * error times, per webhook. The error text itself is in `fleetban status` and the log.
 */
export function webhookMetrics(hooks: readonly WebhookDeliverer[]): MetricFamily[] {
  if (hooks.length === 0) return [];
  const statuses = hooks.map((h) => h.status());
  const per = (
    name: string,
    type: MetricFamily['type'],
    help: string,
    pick: (s: (typeof statuses)[number]) => number,
  ): MetricFamily => ({
    name: `fleetban_webhook_${name}`,
    type,
    help,
    samples: statuses.map((s) => ({ labels: { webhook: s.name }, value: pick(s) })),
  });
  return [
    per('sent_total', 'counter', 'Webhook POSTs the receiver accepted (2xx).', (s) => s.sent),
    per(
      'failed_total',
      'counter',
      'Webhook POSTs that failed and are retried (receiver down, 5xx, 429, timeout).',
      (s) => s.failed,
    ),
    per(
      'dropped_total',
      'counter',
      'Webhook POSTs refused with a 4xx, logged and not retried.',
      (s) => s.dropped,
    ),
    per(
      'pending',
      'gauge',
      'Change-feed entries after the webhook position, not yet delivered (some may be filtered out).',
      (s) => s.pending,
    ),
    per(
      'position',
      'gauge',
      'Last change-feed sequence number the webhook delivered or skipped (compare fleetban_store_last_seq).',
      (s) => s.position,
    ),
    per(
      'last_delivery_timestamp_seconds',
      'gauge',
      'When the receiver last answered 2xx, Unix time; 0 = not since start.',
      (s) => (s.lastDeliveryAt ?? 0) / 1000,
    ),
    per(
      'last_error_timestamp_seconds',
      'gauge',
      'When a POST last failed or was refused, Unix time; 0 = not since start.',
      (s) => (s.lastErrorAt ?? 0) / 1000,
    ),
  ];
}
