// Renders ban mail (one ban, a digest, the "N more suppressed" summary) as text and HTML: pure, no I/O.
import { formatDuration } from '../core/duration.js';
import type { Ban, DetailedBan } from '../core/types.js';
import type { Notice } from '../core/types.js';
import type { RenderContext, RenderedMail } from './notice.js';
import { cleanLine, columns, count, escapeHtml, formatMailTime } from './text.js';

/** Matched lines shown per ban, and the length each is cut to. */
export const MAX_LINES = 10;
export const MAX_LINE_LENGTH = 300;
/** Rows a digest lists before it says "and N more". */
export const MAX_DIGEST_ROWS = 100;

const TABLE = 'border-collapse:collapse;font-family:sans-serif;font-size:14px';
const CELL = 'border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top';

/** A mail for one ban or one unban. */
export function renderNotice(n: Notice, ctx: RenderContext): RenderedMail {
  return n.kind === 'ban' ? renderBan(n.ban, ctx) : renderUnban(n.ban, n.at, n.reason, ctx);
}

export function renderBan(ban: DetailedBan, ctx: RenderContext): RenderedMail {
  const time = (t: number) => formatMailTime(t, ctx.timeZone);
  const facts: [string, string][] = [
    ['Jail', ban.jail],
    ['Attacker', ban.attacker === '' ? ban.target : ban.attacker],
  ];
  if (widened(ban)) facts.push(['Banned prefix', `${ban.target} (widened by banmask)`]);
  const hosts = Object.entries(ban.hosts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  facts.push(
    ['Failures', `${ban.failures} on ${count(hosts.length, 'host')}`],
    ['Ban start', time(ban.start)],
    [
      'Ban end',
      ban.end === null
        ? 'never (permanent ban)'
        : `${time(ban.end)} (${formatDuration((ban.end - ban.start) / 1000)})`,
    ],
    [
      'Repeat offender',
      ban.banCount > 1 ? `yes, ban number ${ban.banCount} of this address` : 'no, first ban',
    ],
    ['Reason', ban.reason],
  );
  const lines = ban.lines.slice(-MAX_LINES).map((l) => cleanLine(l, MAX_LINE_LENGTH));
  const unban = `fleetban unban ${ban.target}`;
  const lead = `fleetban banned ${ban.target} in jail ${ban.jail}.`;

  const text = [
    lead,
    '',
    ...columns(facts.map(([k, v]) => [`${k}:`, v])),
    '',
    'Failures per reporting host:',
    ...(hosts.length === 0
      ? ['  (none recorded)']
      : columns(hosts.map(([h, n]) => [h, String(n)])).map((l) => `  ${l}`)),
    '',
    lines.length === 0
      ? 'Matched lines: none recorded.'
      : `Matched lines (the last ${lines.length} of ${ban.failures}):`,
    ...lines.map((l) => `  ${l}`),
    '',
    'To lift this ban:',
    `  ${unban}`,
    ...signature(ctx),
  ].join('\n');

  const html = page(
    `<p>${escapeHtml(lead)}</p>\n` +
      table(
        [],
        facts.map(([k, v]) => [k, v]),
      ) +
      `<h3>Failures per reporting host</h3>\n` +
      (hosts.length === 0
        ? '<p>(none recorded)</p>\n'
        : table(
            ['Host', 'Failures'],
            hosts.map(([h, n]) => [h, String(n)]),
          )) +
      (lines.length === 0
        ? '<p>Matched lines: none recorded.</p>\n'
        : `<h3>Matched lines (the last ${lines.length} of ${ban.failures})</h3>\n<pre>${lines.map(escapeHtml).join('\n')}</pre>\n`) +
      `<p>To lift this ban:</p>\n<pre>${escapeHtml(unban)}</pre>\n`,
    ctx,
  );
  return { subject: `[fleetban] ${ban.jail}: banned ${ban.target}`, text, html };
}

export function renderUnban(
  ban: Ban,
  at: number,
  reason: string,
  ctx: RenderContext,
): RenderedMail {
  const lead = `fleetban lifted the ban of ${ban.target} in jail ${ban.jail} (${reason}).`;
  const facts: [string, string][] = [
    ['Jail', ban.jail],
    ['Target', ban.target],
    ['Banned since', formatMailTime(ban.start, ctx.timeZone)],
    ['Lifted at', formatMailTime(at, ctx.timeZone)],
    ['Why', reason],
  ];
  return {
    subject: `[fleetban] ${ban.jail}: unbanned ${ban.target}`,
    text: [lead, '', ...columns(facts.map(([k, v]) => [`${k}:`, v])), ...signature(ctx)].join('\n'),
    html: page(`<p>${escapeHtml(lead)}</p>\n${table([], facts)}`, ctx),
  };
}

/** One mail for many notices: a count per jail in the subject, one row per ban in the body. */
export function renderDigest(notices: readonly Notice[], ctx: RenderContext): RenderedMail {
  const bans = notices.filter((n) => n.kind === 'ban');
  const unbans = notices.filter((n) => n.kind === 'unban');
  const perJail = jailCounts(bans);
  const jailText = perJail.map(([j, n]) => `${j} ${n}`);
  const shownJails =
    jailText.length > 4 ? [...jailText.slice(0, 4), `${jailText.length - 4} more`] : jailText;
  const subject =
    bans.length === 0
      ? `[fleetban] ${count(unbans.length, 'unban')}`
      : `[fleetban] ${count(bans.length, 'ban')} in ${count(perJail.length, 'jail')} (${shownJails.join(', ')})` +
        (unbans.length > 0 ? `, ${count(unbans.length, 'unban')}` : '');
  const first = Math.min(...notices.map((n) => n.at));
  const last = Math.max(...notices.map((n) => n.at));
  const lead =
    `fleetban made ${count(bans.length, 'ban')}` +
    (unbans.length > 0 ? ` and lifted ${count(unbans.length, 'ban')}` : '') +
    ` between ${formatMailTime(first, ctx.timeZone)} and ${formatMailTime(last, ctx.timeZone)}.`;

  const header = ['Jail', 'Target', 'Failures', 'Hosts', 'Ends', 'Ban #'];
  const rows = bans.slice(0, MAX_DIGEST_ROWS).map((n) => {
    const b = n.ban;
    return [
      b.jail,
      b.target,
      String(b.failures),
      Object.keys(b.hosts).sort().join(', ') || '-',
      b.end === null ? 'permanent' : formatMailTime(b.end, ctx.timeZone),
      String(b.banCount),
    ];
  });
  const more = bans.length - rows.length;
  const unbanRows = unbans
    .slice(0, MAX_DIGEST_ROWS)
    .map((n) => [n.ban.jail, n.ban.target, n.reason]);
  const moreUnbans = unbans.length - unbanRows.length;
  const moreText = (n: number) => `... and ${n} more: see \`fleetban bans\``;

  const text = [
    lead,
    '',
    ...(bans.length === 0
      ? []
      : [...columns([header, ...rows]), ...(more > 0 ? [moreText(more)] : []), '']),
    ...(unbans.length === 0
      ? []
      : [
          'Lifted:',
          ...columns([['Jail', 'Target', 'Why'], ...unbanRows]),
          ...(moreUnbans > 0 ? [`... and ${moreUnbans} more`] : []),
          '',
        ]),
    'To lift a ban: fleetban unban TARGET',
    ...signature(ctx),
  ].join('\n');

  const html = page(
    `<p>${escapeHtml(lead)}</p>\n` +
      (bans.length === 0
        ? ''
        : table(header, rows) + (more > 0 ? `<p>${escapeHtml(moreText(more))}</p>\n` : '')) +
      (unbans.length === 0
        ? ''
        : `<h3>Lifted</h3>\n${table(['Jail', 'Target', 'Why'], unbanRows)}` +
          (moreUnbans > 0 ? `<p>... and ${moreUnbans} more</p>\n` : '')) +
      `<p>To lift a ban: <code>fleetban unban TARGET</code></p>\n`,
    ctx,
  );
  return { subject, text, html };
}

/** The one mail sent once the hourly cap is reached: how many were held back, per jail. */
export function renderSummary(
  notices: readonly Notice[],
  maxPerHour: number,
  ctx: RenderContext,
): RenderedMail {
  const bans = notices.filter((n) => n.kind === 'ban');
  const unbans = notices.length - bans.length;
  const first = Math.min(...notices.map((n) => n.at));
  const perJail = jailCounts(bans);
  const what =
    bans.length > 0
      ? `${count(bans.length, 'ban')}${unbans > 0 ? ` and ${count(unbans, 'unban')}` : ''}`
      : count(unbans, 'unban');
  const lead =
    `fleetban reached its limit of ${count(maxPerHour, 'mail')} per hour (mail.maxPerHour). ` +
    `${what} since ${formatMailTime(first, ctx.timeZone)} were not mailed one by one.`;
  const rows = perJail.map(([j, n]) => [j, String(n)]);
  const hint = 'See `fleetban bans` for every active ban.';
  return {
    subject: `[fleetban] ${what.replace(/^(\d+)/, '$1 more')} suppressed, see \`fleetban bans\``,
    text: [
      lead,
      '',
      ...(rows.length === 0 ? [] : [...columns([['Jail', 'Bans'], ...rows]), '']),
      hint,
      ...signature(ctx),
    ].join('\n'),
    html: page(
      `<p>${escapeHtml(lead)}</p>\n` +
        (rows.length === 0 ? '' : table(['Jail', 'Bans'], rows)) +
        `<p>${escapeHtml(hint)}</p>\n`,
      ctx,
    ),
  };
}

/** The message `fleetban mail test` sends. */
export function renderTest(at: number, transport: string, ctx: RenderContext): RenderedMail {
  const lead = `This is a test message from fleetban, sent at ${formatMailTime(at, ctx.timeZone)} through ${transport}. Ban mail will reach you the same way.`;
  return {
    subject: '[fleetban] test message',
    text: [lead, ...signature(ctx)].join('\n'),
    html: page(`<p>${escapeHtml(lead)}</p>\n`, ctx),
  };
}

/** Start and stop mail, sent only when mail.lifecycle is true. */
export function renderLifecycle(
  event: 'started' | 'stopped',
  at: number,
  activeBans: number,
  ctx: RenderContext,
): RenderedMail {
  const lead = `fleetban ${event} at ${formatMailTime(at, ctx.timeZone)} with ${count(activeBans, 'active ban')}.`;
  return {
    subject: `[fleetban] ${event} on ${ctx.hostname}`,
    text: [lead, ...signature(ctx)].join('\n'),
    html: page(`<p>${escapeHtml(lead)}</p>\n`, ctx),
  };
}

function widened(ban: Ban): boolean {
  return ban.attacker !== '' && ban.attacker !== ban.target;
}

function jailCounts(notices: readonly Notice[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const n of notices) counts.set(n.ban.jail, (counts.get(n.ban.jail) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

export function signature(ctx: RenderContext): string[] {
  return ['', '-- ', `fleetban on ${ctx.hostname}`, ''];
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const cell = (tag: string, v: string) => `<${tag} style="${CELL}">${escapeHtml(v)}</${tag}>`;
  const head = header.length === 0 ? '' : `<tr>${header.map((h) => cell('th', h)).join('')}</tr>\n`;
  const body = rows.map(
    (r) =>
      `<tr>${r.map((v, i) => cell(header.length === 0 && i === 0 ? 'th' : 'td', v)).join('')}</tr>\n`,
  );
  return `<table style="${TABLE}">\n${head}${body.join('')}</table>\n`;
}

export function page(body: string, ctx: RenderContext): string {
  return (
    '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>\n' +
    '<body style="font-family:sans-serif;font-size:14px">\n' +
    body +
    `<p style="color:#666">-- <br>fleetban on ${escapeHtml(ctx.hostname)}</p>\n</body></html>\n`
  );
}
