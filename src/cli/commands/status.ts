// `fleetban status [JAIL]`: the server at a glance, or one jail's counters and bans.
import type { Ban } from '../../core/types.js';
import type {
  BrakeReport,
  JailStatusReport,
  NeverBanReport,
  SilentSendersReport,
  StatusReport,
  WebhookReport,
} from '../../control/plane.js';
import { clientOptions, flagOption, toJson, type Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { formatBantime, formatBytes, formatTime, formatWhen, plural, table } from '../format.js';
import { formatDuration } from '../../core/duration.js';
import { renderOutbox } from './mail-test.js';
import { renderClusterSummary } from './cluster.js';

export const statusCommand: Command = {
  name: 'status',
  summary: 'show the server, its ingest and its jails, or one jail in detail',
  usage: 'status [JAIL] [--json]',
  options: clientOptions,
  positionals: { names: ['JAIL'], required: 0 },
  async run({ values, positionals, io, client }) {
    const api = await client();
    const jail = positionals[0];
    if (jail !== undefined) {
      const [report, bans] = await Promise.all([api.jail(jail), api.bans(jail)]);
      io.stdout(
        flagOption(values, 'json') ? toJson({ jail: report, bans }) : renderJail(report, bans),
      );
      return ExitCode.OK;
    }
    const report = await api.status();
    io.stdout(flagOption(values, 'json') ? toJson(report) : renderStatus(report, io.clock.now()));
    return ExitCode.OK;
  },
};

/**
 * One line per webhook: feed position and lag, deliveries, the last one; a second line with the
 * last error while there is one (kept after a later success, with its time, as the outbox does).
 */
function renderWebhooks(hooks: readonly WebhookReport[], now: number): string {
  let out = '';
  for (const h of hooks) {
    const last = h.lastDeliveryAt === null ? 'none since start' : formatWhen(h.lastDeliveryAt, now);
    out +=
      `${h.name}: at change ${h.position} (${h.pending} behind), ` +
      `${h.sent} sent, ${h.failed} failed, ${h.dropped} dropped; last delivery ${last}\n`;
    if (h.lastError !== null) {
      const when = h.lastErrorAt === null ? '' : ` (${formatWhen(h.lastErrorAt, now)})`;
      const retry = h.nextRetryAt === null ? '' : `; retry ${formatWhen(h.nextRetryAt, now)}`;
      out += `  last error${when}: ${h.lastError}${retry}\n`;
    }
  }
  return out;
}

/** One line while nothing is held; the trips and the way out when something is. */
function renderBrake(b: BrakeReport): string {
  if (!b.enabled) return 'ban brake: off (brake.enabled is false)\n';
  let out =
    `ban brake: ${b.perSenderPerMinute} bans/min per sender, ${b.fleetPerMinute} fleet-wide; ` +
    `${b.held} held for review`;
  if (b.overflow > 0) out += `, ${b.overflow} dropped over brake.maxHeld`;
  out += '\n';
  for (const t of b.tripped) {
    const who = t.scope === 'fleet' ? 'the fleet' : `sender ${t.sender}`;
    out += `  TRIPPED: ${who} since ${formatTime(t.since)}, ${plural(t.held, 'ban')} held\n`;
  }
  if (b.held > 0)
    out += '  review with: fleetban held; then fleetban release or fleetban discard\n';
  return out;
}

function renderStatus(s: StatusReport, now: number): string {
  const { ingest } = s;
  const listening =
    ingest.listening.length === 0
      ? 'nothing'
      : ingest.listening
          .map(
            (l) =>
              `${l.transport} ${hostPort(l.address, l.port)}` +
              (l.reader !== undefined ? ` (read with ${l.reader})` : ''),
          )
          .join(', ');
  let out =
    `fleetban ${s.version}, up ${formatDuration(s.uptimeSec)} (since ${formatTime(s.startedAt)})\n` +
    `active bans: ${s.activeBans} (store: ${s.store.activeBans} active, last seq ${s.store.lastSeq})\n` +
    `ingest: listening on ${listening}\n` +
    `  ${ingest.messages} messages, ${formatBytes(ingest.bytes)}, ${plural(ingest.connectionsOpen, 'connection')} open\n` +
    `  dropped ${ingest.dropped}, oversized ${ingest.oversized}, framing errors ${ingest.framingErrors}, ` +
    `invalid utf-8 ${ingest.invalidUtf8}, parse errors ${ingest.parseErrors}\n` +
    (s.outbox !== undefined ? renderOutbox(s.outbox) : '') +
    (s.webhooks !== undefined ? renderWebhooks(s.webhooks, now) : '') +
    (s.brake !== undefined ? renderBrake(s.brake) : '') +
    (s.silentSenders !== undefined ? renderSilent(s.silentSenders, now) : '') +
    (s.neverBan !== undefined ? renderNeverBan(s.neverBan) : '') +
    (s.cluster !== undefined ? renderClusterSummary(s.cluster, now) : '') +
    '\n';
  if (s.jails.length === 0) return `${out}no jails configured\n`;
  out += table(
    [
      'JAIL',
      'STATE',
      'FILTER',
      'MAXRETRY',
      'FINDTIME',
      'BANTIME',
      'MATCHED',
      'FAILURES',
      'BANNED',
      'TRACKED',
    ],
    s.jails.map((j) => [
      j.name,
      j.enabled ? 'enabled' : 'disabled',
      j.filter,
      String(j.maxretry),
      formatDuration(j.findtime),
      formatBantime(j.bantime),
      String(j.matched),
      String(j.failures),
      String(j.activeBans),
      String(j.trackedAttackers),
    ]),
  );
  return out;
}

/** One line while every sender speaks; one more per silent sender. */
function renderSilent(r: SilentSendersReport, now: number): string {
  if (!r.enabled) return 'silent senders: not watched (ingest.silentAfter is 0)\n';
  let out = `silent senders: ${r.senders.length} (flagged after ${formatDuration(r.silentAfterSec)} without a message)\n`;
  for (const e of r.senders) {
    const who = e.name === '' ? e.address : `${e.name} (${e.address})`;
    out += `  SILENT: ${who}, last message ${formatWhen(e.lastSeen, now)}\n`;
  }
  return out;
}

/** Most never-ban entries listed in the human view; --json has them all. */
const NEVER_BAN_SHOWN = 20;

function renderNeverBan(n: NeverBanReport): string {
  const shown = n.entries.slice(0, NEVER_BAN_SHOWN);
  const rows = shown.map((e) => `    ${e.cidr.padEnd(28)} ${e.source.padEnd(7)} ${e.note}\n`);
  const more =
    n.entries.length > shown.length
      ? `    ... ${n.entries.length - shown.length} more (fleetban status --json)\n`
      : '';
  return (
    `never banned: ${n.entries.length} ${n.entries.length === 1 ? 'entry' : 'entries'}; ` +
    `jail bans narrowed ${n.narrowed}, refused ${n.refused}; manual bans refused ${n.manualRefused}; ` +
    `withheld from agents ${n.withheld}\n${rows.join('')}${more}`
  );
}

function renderJail(j: JailStatusReport, bans: readonly Ban[]): string {
  return (
    `jail ${j.name}: ${j.enabled ? 'enabled' : 'disabled'}, filter ${j.filter}\n` +
    `  maxretry ${j.maxretry} within ${formatDuration(j.findtime)}, bantime ${formatBantime(j.bantime)}\n` +
    `  lines seen ${j.linesSeen}, matched ${j.matched}, ignored ${j.ignored}, failures ${j.failures}\n` +
    `  ban requests ${j.banRequests}, active bans ${j.activeBans}, tracked attackers ${j.trackedAttackers}\n` +
    `  banned: ${bans.length === 0 ? '-' : bans.map((b) => b.target).join(' ')}\n`
  );
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
