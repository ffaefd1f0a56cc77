// Browser code shared by the dashboard pages: API calls with the CSRF token, sign-out, live events, formatting.
/// <reference lib="dom" />

/** The error body of fleetban's HTTP APIs. */
interface ApiError {
  readonly error?: { readonly code?: string; readonly message?: string };
}

export class ApiFailure extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export function csrfToken(): string {
  return document.body.dataset.csrf ?? '';
}

export function isAdmin(): boolean {
  return document.body.dataset.role === 'admin';
}

/** GET (no body) or POST (JSON body, CSRF header). A 401 sends the browser to the sign-in page. */
// T names what the caller expects back (the JSON is not checked at run time).
export async function api<T>(path: string, body?: unknown): Promise<T> {
  const init: RequestInit =
    body === undefined
      ? { credentials: 'same-origin' }
      : {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'content-type': 'application/json', 'x-csrf-token': csrfToken() },
          body: JSON.stringify(body),
        };
  const res = await fetch(path, init);
  const data = (await res.json().catch(() => ({}))) as T & ApiError;
  if (res.status === 401 && path !== '/login') window.location.assign('/login');
  if (!res.ok) throw new ApiFailure(res.status, data.error?.message ?? `HTTP ${res.status}`);
  return data;
}

// T is the element type the page's HTML gives this id.
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`no element #${id}`);
  return el as T;
}

/** An element with text content (never HTML: addresses and reasons come from attackers' lines). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text = '',
  className = '',
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.textContent = text;
  if (className !== '') e.className = className;
  return e;
}

export function wireLogout(): void {
  byId('logout').addEventListener('click', () => {
    void api('/logout', {}).finally(() => {
      window.location.assign('/login');
    });
  });
}

/** Follows /api/events; `onOverview` gets each event's data. The dot in the header shows the link. */
// T names the event data the caller expects (the JSON is not checked at run time).
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
export function liveEvents<T>(onOverview: (data: T) => void): EventSource {
  const source = new EventSource('/api/events');
  const dot = document.getElementById('live');
  source.addEventListener('overview', (e) => {
    dot?.classList.add('on');
    onOverview(JSON.parse((e as MessageEvent<string>).data) as T);
  });
  source.addEventListener('error', () => {
    dot?.classList.remove('on');
  });
  return source;
}

export function formatTime(ms: number | null): string {
  if (ms === null) return 'permanent';
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en');
}

/** A table row of text cells. */
export function textRow(cells: readonly string[]): HTMLTableRowElement {
  const tr = el('tr');
  for (const c of cells) tr.append(el('td', c));
  return tr;
}

/** `90` → `1m30s`; null → `permanent`. */
export function formatSeconds(sec: number | null): string {
  if (sec === null) return 'permanent';
  const parts: string[] = [];
  let rest = Math.round(sec);
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0 || parts.length === 0) parts.push(`${rest}s`);
  return parts.join('');
}

/** The link to the Attacker page of an address or prefix. */
export function attackerLink(target: string): HTMLAnchorElement {
  const a = el('a', target);
  a.href = `/attacker?ip=${encodeURIComponent(target)}`;
  return a;
}

/**
 * Shows `load()`'s data now and again after each live event (a ban changed, or the server's
 * 5-second tick), never two loads at once; an error goes to `status`.
 */
export function refreshLive(load: () => Promise<void>, status: HTMLElement): void {
  let loading = false;
  const run = (): void => {
    if (loading) return;
    loading = true;
    load()
      .catch((e: unknown) => {
        status.textContent = e instanceof Error ? e.message : String(e);
      })
      .finally(() => {
        loading = false;
      });
  };
  run();
  liveEvents(run);
}
