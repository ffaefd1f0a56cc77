// The Jails page: each jail's settings and counters since start, refreshed with the live events.
/// <reference lib="dom" />
import type { JailStatusReport } from '../../control/plane.js';
import { api, byId, el, formatCount, formatSeconds, refreshLive, wireLogout } from './common.js';

wireLogout();

const tbody = byId('jails-table').querySelector('tbody') as HTMLTableSectionElement;

function rowOf(j: JailStatusReport): HTMLTableRowElement {
  const tr = el('tr');
  tr.dataset.jail = j.name;
  tr.append(
    el('td', j.name),
    el('td', j.enabled ? 'enabled' : 'disabled', j.enabled ? 'ok' : 'bad'),
    el('td', j.filter),
    el('td', String(j.maxretry)),
    el('td', formatSeconds(j.findtime)),
    el('td', formatSeconds(j.bantime)),
    ...[
      j.linesSeen,
      j.matched,
      j.ignored,
      j.failures,
      j.banRequests,
      j.activeBans,
      j.trackedAttackers,
    ].map((n) => el('td', formatCount(n), 'num')),
  );
  return tr;
}

refreshLive(async () => {
  const { jails } = await api<{ jails: JailStatusReport[] }>('/api/jails/status');
  tbody.replaceChildren(...jails.map(rowOf));
}, byId('jails-table-summary'));
