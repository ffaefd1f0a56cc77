// The Bans page: server-side pages of 50 (newest first), prefix and jail filters, unban and ban for admins, live refresh.
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import type { Ban } from '../../core/types.js';
import {
  api,
  attackerLink,
  byId,
  el,
  formatCount,
  formatTime,
  isAdmin,
  liveEvents,
  wireLogout,
} from './common.js';

interface BanPage {
  readonly bans: readonly Ban[];
  readonly next: number | null;
  readonly total: number;
}

wireLogout();

const tbody = byId('bans').querySelector('tbody') as HTMLTableSectionElement;
const summary = byId('bans-summary');
const older = byId<HTMLButtonElement>('older');
const first = byId<HTMLButtonElement>('first');
/** Cursors of the pages shown so far; [] = the newest page. */
let cursor: number | null = null;
let next: number | null = null;
let loading = false;
let again = false;

function query(): URLSearchParams {
  const q = new URLSearchParams({ limit: '50' });
  const prefix = byId<HTMLInputElement>('prefix').value.trim();
  const jail = byId<HTMLSelectElement>('jail').value;
  if (prefix !== '') q.set('prefix', prefix);
  if (jail !== '') q.set('jail', jail);
  if (cursor !== null) q.set('before', String(cursor));
  return q;
}

async function load(): Promise<void> {
  if (loading) {
    again = true;
    return;
  }
  loading = true;
  try {
    const page = await api<BanPage>(`/api/bans?${query().toString()}`);
    next = page.next;
    older.disabled = next === null;
    first.disabled = cursor === null;
    summary.textContent = `${formatCount(page.total)} active ban${page.total === 1 ? '' : 's'} match${cursor === null ? '' : ' (older page)'}`;
    tbody.replaceChildren(...page.bans.map(rowOf));
  } catch (e) {
    summary.textContent = e instanceof Error ? e.message : String(e);
  } finally {
    loading = false;
    if (again) {
      again = false;
      void load();
    }
  }
}

function rowOf(b: Ban): HTMLTableRowElement {
  const tr = el('tr');
  tr.dataset.target = b.target;
  const target = el('td');
  target.append(attackerLink(b.target));
  tr.append(
    target,
    el('td', b.jail),
    el('td', b.origin),
    el('td', formatTime(b.start)),
    el('td', formatTime(b.end)),
    el('td', String(b.failures)),
    el('td', String(b.banCount)),
    el('td', b.reason, 'reason'),
  );
  if (isAdmin()) {
    const button = el('button', 'Unban');
    button.type = 'button';
    button.className = 'unban';
    button.addEventListener('click', () => {
      button.disabled = true;
      api('/api/unban', { target: b.target })
        .then(() => load())
        .catch((e: unknown) => {
          button.disabled = false;
          summary.textContent = e instanceof Error ? e.message : String(e);
        });
    });
    const td = el('td');
    td.append(button);
    tr.append(td);
  }
  return tr;
}

async function fillJails(): Promise<void> {
  const { jails } = await api<{ jails: string[] }>('/api/jails');
  for (const select of document.querySelectorAll<HTMLSelectElement>('#jail, #ban-jail')) {
    for (const j of jails) {
      const option = el('option', j);
      option.value = j;
      select.append(option);
    }
  }
}

byId<HTMLFormElement>('filter').addEventListener('submit', (e) => {
  e.preventDefault();
  cursor = null;
  void load();
});
older.addEventListener('click', () => {
  cursor = next;
  void load();
});
first.addEventListener('click', () => {
  cursor = null;
  void load();
});

const banForm = document.getElementById('ban-form') as HTMLFormElement | null;
banForm?.addEventListener('submit', (e) => {
  e.preventDefault();
  const data = new FormData(banForm);
  const text = (name: string): string => {
    const v = data.get(name);
    return typeof v === 'string' ? v.trim() : '';
  };
  const body: Record<string, unknown> = { target: text('target') };
  if (text('jail') !== '') body.jail = text('jail');
  if (data.get('permanent') !== null) body.permanent = true;
  else if (text('for') !== '') body.for = text('for');
  if (text('reason') !== '') body.reason = text('reason');
  const result = byId('ban-result');
  api<{ ban: Ban }>('/api/bans', body)
    .then(({ ban }) => {
      result.textContent = `banned ${ban.target} until ${formatTime(ban.end)}`;
      banForm.reset();
      cursor = null;
      return load();
    })
    .catch((err: unknown) => {
      result.textContent = err instanceof Error ? err.message : String(err);
    });
});

void fillJails().then(load);
// Live: the newest page follows every change of the feed; an older page stays put until asked.
let shownSeq = -1;
liveEvents<{ lastSeq: number }>(({ lastSeq }) => {
  if (lastSeq === shownSeq) return;
  shownSeq = lastSeq;
  if (cursor === null) void load();
});
