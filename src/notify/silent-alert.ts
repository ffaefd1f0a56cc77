// Renders the mail sent when senders fall silent (ingest.silentAfter) or speak again, alone or gathered by flood control: pure, no I/O.
import { formatDuration } from '../core/duration.js';
import type { RenderContext, RenderedMail } from './notice.js';
import { page, signature } from './render.js';
import { columns, escapeHtml, formatMailTime } from './text.js';

/** One sender in the mail: its address, bound host name ('' for none) and times. */
export interface SilentSenderLine {
  readonly address: string;
  readonly name: string;
  readonly lastSeen: number;
  readonly flaggedAt: number;
}

/** One check's news: the senders that went silent, or came back, at `at`. What the mailer queues. */
export interface SilentSenderEvent {
  readonly at: number;
  readonly kind: 'silent' | 'back';
  readonly senders: readonly SilentSenderLine[];
  readonly silentAfterMs: number;
}

function label(s: SilentSenderLine): string {
  return s.name === '' ? s.address : `${s.name} (${s.address})`;
}

/** `silent`: the senders just flagged; `back`: those that spoke again. Never called with none. */
export function renderSilentSenders(
  kind: 'silent' | 'back',
  senders: readonly SilentSenderLine[],
  silentAfterMs: number,
  ctx: RenderContext,
): RenderedMail {
  const first = senders[0];
  const who =
    senders.length === 1 && first !== undefined
      ? `sender ${label(first)}`
      : `${senders.length} senders`;
  const after = formatDuration(silentAfterMs / 1000);
  const lead =
    kind === 'silent'
      ? `${senders.length === 1 ? 'A sender has' : `${senders.length} senders have`} sent no log line for ${after} (ingest.silentAfter): fleetban no longer sees failures on ${senders.length === 1 ? 'that host' : 'those hosts'}.`
      : `${senders.length === 1 ? 'A sender that was' : `${senders.length} senders that were`} flagged silent ${senders.length === 1 ? 'sends' : 'send'} logs again.`;
  const why =
    kind === 'silent'
      ? 'A reboot or a network fault can do this; so can an attacker who stopped rsyslog first. Check the host and its syslog forwarding.'
      : 'Failures on these hosts count again from now on; what happened during the silence was not seen.';
  const rows = senders.map((s) => [
    label(s),
    kind === 'silent'
      ? `last line ${formatMailTime(s.lastSeen, ctx.timeZone)}`
      : `heard again ${formatMailTime(s.lastSeen, ctx.timeZone)} (flagged ${formatMailTime(s.flaggedAt, ctx.timeZone)})`,
  ]);
  return {
    subject:
      kind === 'silent'
        ? `[fleetban] ${who} silent for ${after}`
        : `[fleetban] ${who} sending again`,
    text: [
      lead,
      why,
      '',
      ...columns(rows),
      '',
      'fleetban senders   every sender, with its last message and a SILENT flag',
      ...signature(ctx),
    ].join('\n'),
    html: page(
      `<p>${escapeHtml(lead)}</p>\n<p>${escapeHtml(why)}</p>\n<ul>\n` +
        rows.map(([k, v]) => `<li>${escapeHtml(k ?? '')}: ${escapeHtml(v ?? '')}</li>\n`).join('') +
        '</ul>\n',
      ctx,
    ),
  };
}

/**
 * Several checks' news in one mail, oldest first: flood control gathered them (a digest), or held
 * them while `mail.maxPerHour` was reached (`cappedAt` = that cap; null for a digest).
 */
export function renderSilentSendersDigest(
  events: readonly SilentSenderEvent[],
  cappedAt: number | null,
  ctx: RenderContext,
): RenderedMail {
  const silent = events.reduce((n, e) => n + (e.kind === 'silent' ? e.senders.length : 0), 0);
  const back = events.reduce((n, e) => n + (e.kind === 'back' ? e.senders.length : 0), 0);
  const parts = [
    ...(silent > 0 ? [`${silent} gone silent`] : []),
    ...(back > 0 ? [`${back} sending again`] : []),
  ];
  const first = events[0];
  const lead =
    cappedAt === null
      ? `Senders changed state ${events.length} times in a short while (mail.groupWait): ${parts.join(', ')}.`
      : `fleetban reached its limit of ${cappedAt} mails per hour (mail.maxPerHour): these sender alerts since ${first === undefined ? '' : formatMailTime(first.at, ctx.timeZone)} were held back until now.`;
  const rows = events.flatMap((e) =>
    e.senders.map((s) => [
      formatMailTime(e.at, ctx.timeZone),
      e.kind === 'silent'
        ? `silent for ${formatDuration(e.silentAfterMs / 1000)}`
        : 'sending again',
      label(s),
    ]),
  );
  const hint = 'fleetban senders   every sender, with its last message and a SILENT flag';
  return {
    subject: `[fleetban] senders: ${parts.join(', ')}`,
    text: [lead, '', ...columns(rows), '', hint, ...signature(ctx)].join('\n'),
    html: page(
      `<p>${escapeHtml(lead)}</p>\n<ul>\n` +
        rows.map((r) => `<li>${escapeHtml(r.join(' · '))}</li>\n`).join('') +
        `</ul>\n<p>${escapeHtml(hint)}</p>\n`,
      ctx,
    ),
  };
}
