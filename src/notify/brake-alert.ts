// Renders the mail sent when the ban brake trips (a sender or the fleet past its bans-per-minute budget): pure, no I/O.
import type { EpochMs } from '../core/clock.js';
import type { RenderContext, RenderedMail } from './notice.js';
import { page, signature } from './render.js';
import { columns, escapeHtml, formatMailTime } from './text.js';

/** One budget that ran out, with the ban that found it empty. */
export interface BrakeTrip {
  readonly scope: 'sender' | 'fleet';
  /** The sender's address; '' for the fleet. */
  readonly sender: string;
  readonly at: EpochMs;
  /** The budget that ran out, in bans per minute. */
  readonly perMinute: number;
  /** The first ban held: its jail and target. */
  readonly jail: string;
  readonly target: string;
}

export function renderBrakeTrip(trip: BrakeTrip, ctx: RenderContext): RenderedMail {
  const who =
    trip.scope === 'fleet'
      ? 'The whole fleet'
      : `Sender ${trip.sender} (a host that forwards syslog)`;
  const lead =
    `${who} caused more than ${trip.perMinute} bans in a minute, so fleetban holds its further ` +
    'bans for review instead of enforcing them.';
  const why =
    trip.scope === 'fleet'
      ? 'A real wave of attacks can do this; so can several forging senders at once.'
      : 'A compromised host, or anyone able to forge its syslog, can make up failures for any address: review before releasing.';
  const facts: [string, string][] = [
    ['Tripped at', formatMailTime(trip.at, ctx.timeZone)],
    ['First held ban', `${trip.target} (jail ${trip.jail})`],
  ];
  const steps = [
    'fleetban held                 list the held bans and the senders behind them',
    'fleetban release TARGET|--all  ban them after all',
    'fleetban discard TARGET|--all  drop them',
  ];
  return {
    subject:
      trip.scope === 'fleet'
        ? `[fleetban] ban brake tripped: fleet over ${trip.perMinute} bans/min`
        : `[fleetban] ban brake tripped: sender ${trip.sender} over ${trip.perMinute} bans/min`,
    text: [
      lead,
      why,
      '',
      ...columns(facts.map(([k, v]) => [`${k}:`, v])),
      '',
      ...steps,
      ...signature(ctx),
    ].join('\n'),
    html: page(
      `<p>${escapeHtml(lead)}</p>\n<p>${escapeHtml(why)}</p>\n<ul>\n` +
        facts.map(([k, v]) => `<li>${escapeHtml(k)}: ${escapeHtml(v)}</li>\n`).join('') +
        '</ul>\n<pre>' +
        escapeHtml(steps.join('\n')) +
        '</pre>\n',
      ctx,
    ),
  };
}
