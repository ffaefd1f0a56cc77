// The Hosts page: every sender with its last message, rate, parse errors and silent flag, refreshed live.
/// <reference lib="dom" />
import type { SenderReport } from '../../control/plane.js';
import { api, byId, el, formatCount, formatTime, refreshLive, wireLogout } from './common.js';

wireLogout();

const tbody = byId('hosts-table').querySelector('tbody') as HTMLTableSectionElement;
const summary = byId('hosts-table-summary');
/** The previous load's message counts, for the rate between two loads. */
let previous: { at: number; messages: Map<string, number> } | undefined;

function rate(s: SenderReport, now: number): string {
  const before = previous?.messages.get(s.address);
  if (previous === undefined || before === undefined || now <= previous.at) return '–';
  return formatCount(Math.round(((s.messages - before) * 60_000) / (now - previous.at)));
}

function rowOf(s: SenderReport, now: number): HTMLTableRowElement {
  const tr = el('tr');
  tr.dataset.sender = s.address;
  const silent = s.silentSince !== undefined && s.silentSince !== null;
  tr.append(
    el('td', s.address),
    el(
      'td',
      silent ? `silent since ${formatTime(s.silentSince ?? null)}` : 'sending',
      silent ? 'bad' : 'ok',
    ),
    el('td', formatTime(s.lastSeen)),
    el('td', formatTime(s.firstSeen)),
    el('td', formatCount(s.messages)),
    el('td', rate(s, now)),
    el('td', formatCount(s.parseErrors), s.parseErrors > 0 ? 'bad' : ''),
    el('td', formatCount(s.dropped)),
    el('td', s.transports.join(', ')),
  );
  return tr;
}

refreshLive(async () => {
  const { senders } = await api<{ senders: SenderReport[] }>('/api/senders');
  const now = Date.now();
  const silent = senders.filter((s) => s.silentSince !== undefined && s.silentSince !== null);
  summary.textContent = `${String(senders.length)} sender${senders.length === 1 ? '' : 's'} since start, ${String(silent.length)} silent (no logs for ingest.silentAfter).`;
  tbody.replaceChildren(...senders.map((s) => rowOf(s, now)));
  previous = { at: now, messages: new Map(senders.map((s) => [s.address, s.messages])) };
}, summary);
