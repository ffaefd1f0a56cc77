// The Attacker page: every active ban covering an address with its hosts and matched lines, and its history (all the store keeps of past bans).
/// <reference lib="dom" />
import type { AttackerReport } from '../attacker.js';
import type { DetailedBan } from '../../core/types.js';
import {
  api,
  byId,
  el,
  formatSeconds,
  formatTime,
  refreshLive,
  textRow,
  wireLogout,
} from './common.js';

wireLogout();

const ip = new URLSearchParams(window.location.search).get('ip') ?? '';
const summary = byId('attacker-summary');
byId<HTMLInputElement>('attacker-ip').value = ip;
byId<HTMLFormElement>('attacker-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const next = byId<HTMLInputElement>('attacker-ip').value.trim();
  window.location.assign(`/attacker?ip=${encodeURIComponent(next)}`);
});

/** One ban: its fields, failures per reporting host, and the log lines (attacker-written: text only). */
function banSection(b: DetailedBan): HTMLElement {
  const section = el('section', '', 'ban');
  section.dataset.target = b.target;
  section.append(
    el('h3', `${b.target} · ${b.jail === '' ? 'manual' : b.jail} · ${b.origin}`),
    el(
      'p',
      `since ${formatTime(b.start)} until ${formatTime(b.end)} · ban #${String(b.banCount)} of this attacker · ${String(b.failures)} failures${b.reason === '' ? '' : ` · reason: ${b.reason}`}`,
    ),
  );
  const hosts = Object.entries(b.hosts);
  if (hosts.length > 0) {
    const table = el('table', '', 'hosts');
    table.append(textRow(['reporting host', 'failures']));
    for (const [host, n] of hosts) table.append(textRow([host, String(n)]));
    section.append(table);
  }
  section.append(el('h4', b.lines.length === 0 ? 'No matched lines kept' : 'Matched log lines'));
  if (b.lines.length > 0) section.append(el('pre', b.lines.join('\n'), 'lines'));
  return section;
}

async function load(): Promise<void> {
  const r = await api<AttackerReport>(`/api/attacker?ip=${encodeURIComponent(ip)}`);
  byId('attacker-address').textContent = r.address;
  document.title = `${r.address} · fleetban`;
  summary.textContent =
    r.bans.length === 0
      ? `${r.address} is not banned now.${r.history === null ? '' : ` Banned ${String(r.history.bans)} time${r.history.bans === 1 ? '' : 's'} before: the evidence of those bans went with them, their history is below.`}`
      : `${String(r.bans.length)} active ban${r.bans.length === 1 ? ' covers' : 's cover'} ${r.address}.`;
  const h = r.history;
  byId('history')
    .querySelector('tbody')
    ?.replaceChildren(
      h === null
        ? textRow(['never banned by a jail', '', '', '', ''])
        : textRow([
            String(h.bans),
            Object.entries(h.perJail)
              .map(([jail, n]) => `${jail}: ${String(n)}`)
              .join(', '),
            formatTime(h.lastBanAt),
            formatSeconds(h.lastBantime),
            r.historyKeptUntil === null ? '–' : formatTime(r.historyKeptUntil),
          ]),
    );
  byId('attacker-bans').replaceChildren(...r.bans.map(banSection));
}

if (ip === '') summary.textContent = 'Type an address to see its bans and history.';
else refreshLive(load, summary);
