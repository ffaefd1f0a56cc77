// The dashboard's HTML: one shell per page, no inline script or style (the CSP forbids both), data in attributes.
import type { Session } from './sessions.js';

export const PAGES = ['overview', 'bans', 'attacker', 'jails', 'agents', 'hosts'] as const;
export type PageName = (typeof PAGES)[number];

const TITLES: Readonly<Record<PageName, string>> = {
  overview: 'Overview',
  bans: 'Bans',
  attacker: 'Attacker',
  jails: 'Jails',
  agents: 'Agents',
  hosts: 'Hosts',
};

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function head(title: string, extraCss: readonly string[] = []): string {
  const css = ['/assets/app.css', ...extraCss]
    .map((href) => `<link rel="stylesheet" href="${href}">`)
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)} · fleetban</title>${css}<link rel="icon" href="data:,"></head>`;
}

export function loginPage(): string {
  return `${head('Sign in')}<body class="login"><main><h1>fleetban</h1>
<form id="login" method="post" action="/login" autocomplete="off">
<label for="token">Token</label>
<input id="token" name="token" type="password" required autofocus spellcheck="false">
<button type="submit">Sign in</button>
<p id="login-error" class="error" role="alert" hidden></p>
<p class="hint">A token comes from <code>fleetban users add NAME --role viewer|admin</code>.</p>
</form></main><script type="module" src="/assets/js/login.js"></script></body></html>`;
}

export function appPage(page: PageName, session: Session): string {
  const nav = PAGES.map(
    (p) =>
      `<a href="/${p}"${p === page ? ' aria-current="page"' : ''}>${escapeHtml(TITLES[p])}</a>`,
  ).join('');
  const extraCss = page === 'overview' ? ['/assets/uPlot.min.css'] : [];
  const scripts =
    page === 'overview'
      ? '<script src="/assets/uPlot.iife.min.js"></script><script type="module" src="/assets/js/overview.js"></script>'
      : `<script type="module" src="/assets/js/${page}.js"></script>`;
  return `${head(TITLES[page], extraCss)}<body data-page="${page}" data-role="${session.role}" data-csrf="${escapeHtml(session.csrf)}">
<header><span class="brand">fleetban</span><nav>${nav}</nav>
<span class="who"><span id="live" class="live" title="live updates">●</span> ${escapeHtml(session.user)} (${session.role})
<button id="logout" type="button">Sign out</button></span></header>
<main id="main">${BODIES[page](session)}</main>
${scripts}</body></html>`;
}

function overviewBody(): string {
  const counter = (id: string, label: string) =>
    `<div class="counter"><div class="value" id="${id}">–</div><div class="label">${label}</div></div>`;
  return `<h1>Overview</h1><section class="counters">
${counter('active-bans', 'active bans')}${counter('bans-hour', 'bans in the last hour')}${counter('failures-minute', 'failures per minute')}${counter('silent-senders', 'silent senders')}
</section>
<p id="silent-names" class="silent" hidden></p>
<section class="charts"><div><h2>Bans per minute (last hour)</h2><div id="bans-chart" class="chart"></div></div>
<div><h2>Failures per minute (last hour)</h2><div id="failures-chart" class="chart"></div></div></section>
<section class="charts"><div><h2>Bans per hour (last 24 hours)</h2><div id="hours-chart" class="chart"></div></div>
<div><h2>Bans per day (last 7 days, UTC)</h2><div id="days-chart" class="chart"></div></div></section>
<section><h2>Top jails</h2><table id="top-jails"><thead><tr><th>jail</th><th>active bans</th></tr></thead><tbody></tbody></table></section>
<section class="charts"><div><h2>Top attacked hosts</h2><table id="top-hosts"><thead><tr><th>host</th><th>active bans</th></tr></thead><tbody></tbody></table>
<p id="hosts-counted" class="note"></p></div>
<div><h2>Top attacking networks</h2><table id="top-networks"><thead><tr><th>network (/24, /64)</th><th>active bans</th></tr></thead><tbody></tbody></table></div></section>`;
}

function bansBody(session: Session): string {
  const banForm =
    session.role === 'admin'
      ? `<details class="ban-form"><summary>Ban an address</summary><form id="ban-form">
<input name="target" placeholder="IP or CIDR" required spellcheck="false" aria-label="address or prefix">
<select name="jail" id="ban-jail" aria-label="jail"><option value="">manual (no jail)</option></select>
<input name="for" placeholder="for, e.g. 1h" aria-label="duration">
<label><input type="checkbox" name="permanent"> permanent</label>
<input name="reason" placeholder="reason" aria-label="reason">
<button type="submit">Ban</button><span id="ban-result" role="status"></span></form></details>`
      : '';
  return `<h1>Bans</h1>${banForm}
<form id="filter" class="filter"><input id="prefix" name="prefix" placeholder="address prefix, e.g. 203.0.113." spellcheck="false" aria-label="address prefix">
<select id="jail" name="jail" aria-label="jail filter"><option value="">all jails</option></select>
<button type="submit">Search</button></form>
<p id="bans-summary"></p>
<table id="bans"><thead><tr><th>target</th><th>jail</th><th>origin</th><th>since</th><th>until</th><th>failures</th><th>count</th><th>reason</th>${session.role === 'admin' ? '<th></th>' : ''}</tr></thead><tbody></tbody></table>
<nav class="pager"><button id="first" type="button">newest</button><button id="older" type="button">older</button></nav>`;
}

/** The Attacker page: `?ip=` is read by the page's script; the form asks for another address. */
function attackerBody(): string {
  return `<h1>Attacker <span id="attacker-address"></span></h1>
<form id="attacker-form" class="filter"><input id="attacker-ip" name="ip" placeholder="IP address or prefix" required spellcheck="false" aria-label="address">
<button type="submit">Look up</button></form>
<p id="attacker-summary"></p>
<section><h2>History</h2><table id="history"><thead><tr><th>bans</th><th>per jail</th><th>last ban</th><th>last bantime</th><th>kept until</th></tr></thead><tbody></tbody></table>
<p id="history-note" class="note">The hosts and matched log lines of a ban are kept while it is active and deleted when it expires or is lifted: of past bans, fleetban keeps only this history (for <code>bantime.increment</code> and recidive), until <code>store.historyRetention</code> after the last ban.</p></section>
<section><h2>Active bans covering it</h2><div id="attacker-bans"></div></section>`;
}

function tablePage(id: string, title: string, note: string, columns: readonly string[]): string {
  return `<h1>${title}</h1><p id="${id}-summary" class="note">${note}</p>
<div class="scroll"><table id="${id}"><thead><tr>${columns.map((c) => `<th>${c}</th>`).join('')}</tr></thead><tbody></tbody></table></div>`;
}

const BODIES: Readonly<Record<PageName, (session: Session) => string>> = {
  overview: overviewBody,
  bans: bansBody,
  attacker: attackerBody,
  jails: () =>
    tablePage('jails-table', 'Jails', 'Counters since the server started.', [
      'jail',
      'state',
      'filter',
      'maxretry',
      'findtime',
      'bantime',
      'lines',
      'matched',
      'ignored',
      'failures',
      'bans asked',
      'active bans',
      'tracked',
    ]),
  agents: () =>
    tablePage('agents-table', 'Agents', '', [
      'agent',
      'state',
      'peer',
      'acked seq',
      'sent seq',
      'lag',
      'set size',
      'last error',
      'last contact',
    ]),
  hosts: () =>
    tablePage(
      'hosts-table',
      'Hosts',
      'Every host that sent logs since the server started, most recently heard first.',
      [
        'sender',
        'state',
        'last message',
        'first seen',
        'messages',
        'per minute',
        'parse errors',
        'dropped',
        'transports',
      ],
    ),
};
