// The Agents page: connected or not, peer, feed position and lag behind the store, set size, last error, last contact.
/// <reference lib="dom" />
import type { AgentReport } from '../../distribute/agent-api.js';
import { api, byId, el, formatCount, formatTime, refreshLive, wireLogout } from './common.js';

wireLogout();

const tbody = byId('agents-table').querySelector('tbody') as HTMLTableSectionElement;
const summary = byId('agents-table-summary');

/**
 * Changes the agent has yet to get: from what was sent on its live stream when connected, from
 * what it acknowledged on connecting when not.
 */
function lag(a: AgentReport, lastSeq: number): string {
  const at = a.connected ? (a.sentSeq ?? a.ackSeq) : a.ackSeq;
  return at === null ? '–' : formatCount(Math.max(0, lastSeq - at));
}

/** The agent's last reported problem with its time; the time alone says whether it is old news. */
function lastErrorCell(a: AgentReport): HTMLTableCellElement {
  const e = a.lastError;
  if (e === null) return el('td', 'none');
  const when = e.at === null ? '' : ` (${formatTime(e.at)})`;
  return el('td', `${e.message}${when}`, 'bad');
}

function rowOf(a: AgentReport, lastSeq: number): HTMLTableRowElement {
  const tr = el('tr');
  tr.dataset.agent = a.name;
  const seq = (n: number | null): string => (n === null ? '–' : String(n));
  tr.append(
    el('td', a.name),
    el('td', a.connected ? 'connected' : 'not connected', a.connected ? 'ok' : 'bad'),
    el('td', a.peer ?? '–'),
    el('td', seq(a.ackSeq)),
    el('td', seq(a.sentSeq)),
    el('td', lag(a, lastSeq)),
    el('td', a.setSize === null ? '–' : formatCount(a.setSize)),
    lastErrorCell(a),
    el('td', a.lastContact === null ? 'never' : formatTime(a.lastContact)),
  );
  return tr;
}

refreshLive(async () => {
  const { lastSeq, agents } = await api<{ lastSeq: number; agents: AgentReport[] }>('/api/agents');
  const up = agents.filter((a) => a.connected).length;
  summary.textContent = `${String(up)} of ${String(agents.length)} agents connected · store at change ${String(lastSeq)}`;
  tbody.replaceChildren(...agents.map((a) => rowOf(a, lastSeq)));
}, summary);
