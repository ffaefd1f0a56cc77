// The admin API's mail route (POST /v1/mail/test), mounted beside the built-in table by the composition root.
import { ErrorCode, FleetbanError } from '../core/errors.js';
import type { AdminExtension, Route } from '../control/routes.js';
import type { MetricFamily } from '../control/metrics.js';
import type { Mailer } from './mailer.js';

const ADDRESS = /^[^\s@<>,]+@[^\s@<>,]+$/;

/** `mailer` is null when mail.enabled is false: the route then says so instead of 404. */
export function mailAdminExtension(mailer: Mailer | null): AdminExtension {
  const routes: readonly Route[] = [
    {
      method: 'POST',
      path: /^\/v1\/mail\/test$/,
      name: 'mail_test',
      handle: async (_deps, ctx) => {
        if (mailer === null) {
          throw new FleetbanError(
            ErrorCode.MAIL_FAILED,
            'mail is off (mail.enabled is false in the server configuration)',
          );
        }
        const { to } = await ctx.body();
        const list = to === undefined ? [] : Array.isArray(to) ? to : [to];
        if (!list.every((a): a is string => typeof a === 'string' && ADDRESS.test(a))) {
          throw new FleetbanError(
            ErrorCode.REQUEST_INVALID,
            'body must be {} or {"to": "ADDRESS"} or {"to": ["ADDRESS", ...]}',
          );
        }
        return { kind: 'json', status: 200, body: await mailer.sendTest(list) };
      },
    },
  ];
  return { routes, metrics: () => (mailer === null ? [] : mailMetrics(mailer)) };
}

function mailMetrics(mailer: Mailer): MetricFamily[] {
  const s = mailer.status();
  return [
    {
      name: 'fleetban_mail_outbox_pending',
      help: 'Ban and unban notices waiting in the mail outbox.',
      type: 'gauge',
      samples: [{ value: s.pending }],
    },
    {
      name: 'fleetban_mail_sent_total',
      help: 'Mails accepted by the mail server since start.',
      type: 'counter',
      samples: [{ value: s.sent }],
    },
    {
      name: 'fleetban_mail_failed_attempts_total',
      help: 'Send attempts that failed (each is retried with backoff).',
      type: 'counter',
      samples: [{ value: s.failedAttempts }],
    },
  ];
}
