// Renders the mail sent when senders fall silent (ingest.silentAfter) or speak again: pure, no I/O.
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
