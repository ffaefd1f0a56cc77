// The dashboard in a real browser (Debian's chromium through playwright-core) against a real server: sign-in, live bans, unban, roles, CSRF, rate limit, sign-out.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import {
  cliJson,
  ServerDir,
  sshdJail,
  startServer,
  type ServerProcess,
} from '../helpers/server-process.js';
import { openStream } from './agent-api-client.js';

const CHROMIUM = '/usr/bin/chromium';
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
/** Screenshots of each page, for a person to look at (git-ignored). */
const ARTIFACTS = join(REPO, 'test-artifacts', 'dashboard');
const ATTACKER = '203.0.113.7';
/** Banned from lines that carry HTML and a script in the user name: the Attacker page shows them as text. */
const HOSTILE = '203.0.113.9';
const HOSTILE_USER = '<script>window.pwned=1</script><b id="injected">x</b><img src=x>';

interface AddedUser {
  readonly user: { readonly name: string; readonly role: string };
  readonly token: string;
}

interface ListedBan {
  readonly target: string;
}

/** Sends syslog lines over TCP (LF framing), one connection, resolves once the server has them. */
function sendTcp(port: number, lines: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.end(lines.map((l) => `${l}\n`).join(''));
    });
    socket.on('error', reject);
    socket.on('close', () => {
      resolve();
    });
  });
}

function watch(page: Page, problems: string[]): void {
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
      problems.push(m.text());
    }
  });
}

function sshdFailure(address: string, n: number, user = 'root'): string {
  return `<38>1 ${new Date().toISOString()} web${n} sshd 4242 - - Failed password for ${user} from ${address} port ${40000 + n} ssh2`;
}

describe('dashboard in a real browser', () => {
  let dir: ServerDir;
  let server: ServerProcess;
  let browser: Browser;
  let base: string;
  let adminToken: string;
  let viewerToken: string;

  before(async () => {
    assert.ok(
      existsSync(CHROMIUM),
      `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium, or run scripts/install-test-deps.sh as root)`,
    );
    await mkdir(ARTIFACTS, { recursive: true });
    dir = await ServerDir.create({
      config: {
        dashboard: { enabled: true, address: '127.0.0.1', port: 0 },
        apiAuth: { maxFailures: 5, window: '1m' },
      },
      jails: { sshd: sshdJail({ maxretry: 3, findtime: '10m', bantime: '1h' }) },
    });
    server = await startServer(dir);
    const url = server.ready.dashboard?.url;
    assert.ok(url !== undefined, 'the ready file names the dashboard');
    base = url.replace(/\/$/, '');
    const started = await server.waitForLog((l) => l.msg.startsWith('dashboard at '));
    assert.equal(started.url, url, 'the start log prints the dashboard URL');
    adminToken = (
      await cliJson<AddedUser>([
        'users',
        'add',
        'alice',
        '--role',
        'admin',
        '--json',
        '--socket',
        dir.socket,
      ])
    ).token;
    viewerToken = (
      await cliJson<AddedUser>([
        'users',
        'add',
        'victor',
        '--role',
        'viewer',
        '--json',
        '--socket',
        dir.socket,
      ])
    ).token;
    browser = await chromium.launch({ executablePath: CHROMIUM });
  });

  after(async () => {
    await browser.close().catch(() => undefined);
    await server.stop();
    await dir.remove();
  });

  /**
   * A fresh browser profile signed in with `token`, on the overview. `problems` collects script
   * errors and CSP violations (reported on the console) of every page of the context: the
   * dashboard must cause none. Answers with an error status are expected in some tests.
   */
  async function signIn(
    token: string,
  ): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
    const context = await browser.newContext();
    const problems: string[] = [];
    context.on('page', (p) => {
      watch(p, problems);
    });
    const page = await context.newPage();
    await page.goto(`${base}/`);
    assert.match(page.url(), /\/login$/, 'an anonymous visitor lands on the sign-in page');
    await page.fill('#token', token);
    await Promise.all([page.waitForURL(/\/overview$/), page.click('button[type=submit]')]);
    return { context, page, problems };
  }

  async function bansCli(): Promise<string[]> {
    const listed = await cliJson<ListedBan[] | { bans: ListedBan[] }>([
      'bans',
      '--json',
      '--socket',
      dir.socket,
    ]);
    return (Array.isArray(listed) ? listed : listed.bans).map((b) => b.target);
  }

  it('an admin signs in, sees the overview, a ban appears live, and unbans it by a click', async () => {
    const { context, page, problems } = await signIn(adminToken);
    const cookie = (await context.cookies()).find((c) => c.name === 'fleetban_session');
    assert.ok(cookie !== undefined);
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.ok(cookie.expires > Date.now() / 1000, 'the cookie expires');
    await page.waitForSelector('#live.on');
    await page.screenshot({ path: join(ARTIFACTS, 'overview-empty.png'), fullPage: true });
    // First render: from navigation start to the load event (scripts run, charts drawn).
    const render = await page.evaluate(() => {
      const [nav] = performance.getEntriesByType('navigation') as PerformanceNavigationTiming[];
      return nav === undefined ? NaN : nav.loadEventEnd - nav.startTime;
    });
    await writeFile(
      join(ARTIFACTS, 'timings.json'),
      `${JSON.stringify({ overviewFirstRenderMs: Math.round(render) })}\n`,
    );
    assert.ok(render < 5000, `overview rendered in ${Math.round(render)} ms`);

    await page.click('nav a[href="/bans"]');
    await page.waitForURL(/\/bans$/);
    await page.waitForSelector('#live.on');
    assert.equal(await page.locator(`tr[data-target="${ATTACKER}"]`).count(), 0);
    const tcp = server.ready.tcp?.port;
    assert.ok(tcp !== undefined);
    await sendTcp(
      tcp,
      [1, 2, 3].map((n) => sshdFailure(ATTACKER, n)),
    );
    // No reload: the row arrives through the live events.
    const row = page.locator(`tr[data-target="${ATTACKER}"]`);
    await row.waitFor({ timeout: 10_000 });
    assert.match((await row.textContent()) ?? '', /sshd/);
    assert.deepEqual(await bansCli(), [ATTACKER]);
    await page.screenshot({ path: join(ARTIFACTS, 'bans.png'), fullPage: true });

    await page.goto(`${base}/overview`);
    await page.waitForFunction(() => document.getElementById('active-bans')?.textContent === '1');
    assert.equal(await page.textContent('#top-jails tbody'), 'sshd1');
    assert.equal(await page.textContent('#top-networks tbody'), '203.0.113.0/241');
    await page.waitForFunction(
      () => document.querySelector('#top-hosts tbody')?.textContent === 'web11web21web31',
    );
    // Both bar charts drew their canvas.
    assert.equal(await page.locator('#hours-chart canvas, #days-chart canvas').count(), 2);
    await page.screenshot({ path: join(ARTIFACTS, 'overview.png'), fullPage: true });

    await page.goto(`${base}/bans`);
    await row.locator('button.unban').click();
    await row.waitFor({ state: 'detached', timeout: 10_000 });
    assert.deepEqual(await bansCli(), [], 'fleetban bans no longer lists it');
    await server.waitForLog(`dashboard: alice unbanned ${ATTACKER}`);

    // The ban form: a manual ban of a prefix, shown at once.
    await page.click('.ban-form summary');
    await page.fill('#ban-form input[name=target]', '198.51.100.0/24');
    await page.fill('#ban-form input[name=for]', '2h');
    await page.fill('#ban-form input[name=reason]', 'scanner network');
    await page.click('#ban-form button[type=submit]');
    await page.locator('tr[data-target="198.51.100.0/24"]').waitFor({ timeout: 10_000 });
    assert.deepEqual(await bansCli(), ['198.51.100.0/24']);
    await server.waitForLog('dashboard: alice banned 198.51.100.0/24');
    await page.screenshot({ path: join(ARTIFACTS, 'bans-manual.png'), fullPage: true });

    // Search by prefix and jail filter, paged on the server.
    await page.fill('#prefix', '203.');
    await page.click('#filter button[type=submit]');
    await page.waitForFunction(() =>
      document.getElementById('bans-summary')?.textContent.startsWith('0 active bans'),
    );
    await page.selectOption('#jail', 'sshd');
    await page.fill('#prefix', '');
    await page.click('#filter button[type=submit]');
    await page.waitForFunction(() =>
      document.getElementById('bans-summary')?.textContent.startsWith('0 active bans'),
    );
    await page.selectOption('#jail', '');
    await page.click('#filter button[type=submit]');
    await page.waitForFunction(() =>
      document.getElementById('bans-summary')?.textContent.startsWith('1 active ban match'),
    );
    assert.deepEqual(problems, [], 'no script errors or CSP violations');
    await context.close();
  });

  it('a viewer sees no unban button, and its API calls to unban or ban get 403', async () => {
    const { context, page, problems } = await signIn(viewerToken);
    await page.goto(`${base}/bans`);
    await page.locator('tr[data-target="198.51.100.0/24"]').waitFor();
    assert.equal(await page.locator('button.unban').count(), 0, 'no unban button');
    assert.equal(await page.locator('#ban-form').count(), 0, 'no ban form');
    await page.screenshot({ path: join(ARTIFACTS, 'bans-viewer.png'), fullPage: true });
    const statuses = await page.evaluate(async () => {
      const csrf = document.body.dataset.csrf ?? '';
      const post = (path: string, body: unknown) =>
        fetch(path, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
          body: JSON.stringify(body),
        }).then((r) => r.status);
      return [
        await post('/api/unban', { target: '198.51.100.0/24' }),
        await post('/api/bans', { target: '192.0.2.9' }),
      ];
    });
    assert.deepEqual(statuses, [403, 403]);
    assert.deepEqual(await bansCli(), ['198.51.100.0/24'], 'nothing changed');
    assert.deepEqual(problems, [], 'no script errors or CSP violations');
    await context.close();
  });

  it('a forged cross-site POST is refused: wrong Origin, or no CSRF token', async () => {
    const { context } = await signIn(adminToken);
    const cookie = (await context.cookies()).find((c) => c.name === 'fleetban_session');
    assert.ok(cookie !== undefined);
    const headers = {
      cookie: `fleetban_session=${cookie.value}`,
      'content-type': 'application/json',
    };
    const body = JSON.stringify({ target: '198.51.100.0/24' });
    const page = await context.newPage();
    await page.goto(`${base}/bans`);
    const csrf = (await page.getAttribute('body', 'data-csrf')) ?? '';
    const forged = [
      // Another site's form or script: its own Origin (and a CSRF token it cannot know).
      { origin: 'http://evil.example', 'x-csrf-token': csrf },
      // Same origin but no token.
      { origin: base },
      // Same origin, a wrong token.
      { origin: base, 'x-csrf-token': 'x'.repeat(43) },
      // No Origin at all.
      { 'x-csrf-token': csrf },
    ];
    for (const extra of forged) {
      const res = await fetch(`${base}/api/unban`, {
        method: 'POST',
        headers: { ...headers, ...extra },
        body,
      });
      assert.equal(res.status, 403, JSON.stringify(extra));
      const answer = (await res.json()) as { error: { code: string } };
      assert.equal(answer.error.code, 'FLEETBAN_FORBIDDEN');
    }
    // A real cross-site page (localhost is another site than 127.0.0.1) posting a form to the dashboard.
    const evil = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(
        `<form id="f" method="post" action="${base}/api/unban" enctype="text/plain"><input name='{"target":"198.51.100.0/24","x":"' value='"}'></form><script>document.getElementById('f').submit()</script>`,
      );
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    const evilPort = (evil.address() as AddressInfo).port;
    const evilPage = await context.newPage();
    const answer = evilPage.waitForResponse((r) => r.url() === `${base}/api/unban`);
    await evilPage.goto(`http://localhost:${evilPort}/`);
    assert.equal((await answer).status(), 403, 'the forged form post is refused');
    evil.close();
    assert.deepEqual(await bansCli(), ['198.51.100.0/24'], 'the ban is still there');
    await context.close();
  });

  it('a viewer follows a ban to the Attacker page: its evidence lines render as text, the CSP stays clean', async () => {
    const tcp = server.ready.tcp?.port;
    assert.ok(tcp !== undefined);
    const { context, page, problems } = await signIn(viewerToken);
    // The ban arrives on the Bans page live; its row links to the Attacker page of that address.
    await page.goto(`${base}/bans`);
    await page.waitForSelector('#live.on');
    await sendTcp(
      tcp,
      [1, 2, 3].map((n) => sshdFailure(HOSTILE, n, `invalid user ${HOSTILE_USER}`)),
    );
    await page.locator(`tr[data-target="${HOSTILE}"]`).waitFor({ timeout: 10_000 });
    await Promise.all([
      page.waitForURL(/\/attacker\?ip=203\.0\.113\.9$/),
      page.click(`tr[data-target="${HOSTILE}"] a`),
    ]);
    const ban = page.locator(`section.ban[data-target="${HOSTILE}"]`);
    await ban.waitFor({ timeout: 10_000 });
    const lines = (await ban.locator('pre.lines').textContent()) ?? '';
    assert.equal(lines.split('\n').length, 3, 'the three matched lines');
    assert.ok(
      lines.includes(`Failed password for invalid user ${HOSTILE_USER} from ${HOSTILE}`),
      lines,
    );
    assert.equal(await page.locator('#injected').count(), 0, 'no element made from the log line');
    assert.equal(await page.locator('main img').count(), 0);
    assert.equal(
      await page.evaluate(() => (window as unknown as { pwned?: number }).pwned),
      undefined,
    );
    assert.match(
      (await ban.locator('table.hosts').textContent()) ?? '',
      /web1.*1.*web2.*1.*web3.*1/s,
    );
    assert.match((await ban.textContent()) ?? '', /sshd · jail/);
    const history = await page.locator('#history tbody td').allTextContents();
    assert.deepEqual([history[0], history[1], history[3]], ['1', 'sshd: 1', '1h']);
    assert.match(history[4] ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/, 'kept until');
    assert.match(
      (await page.textContent('#history-note')) ?? '',
      /deleted when it expires or is lifted/,
    );
    await page.screenshot({ path: join(ARTIFACTS, 'attacker.png'), fullPage: true });

    // An address banned once and unbanned since: no active ban, its history kept.
    await page.goto(`${base}/attacker?ip=${ATTACKER}`);
    await page.waitForFunction(() =>
      document.getElementById('attacker-summary')?.textContent.includes('is not banned now.'),
    );
    assert.match(
      (await page.textContent('#attacker-summary')) ?? '',
      /is not banned now\. Banned 1 time before: the evidence of those bans went with them/,
    );
    assert.equal(await page.locator('section.ban').count(), 0);
    assert.match((await page.textContent('#history tbody')) ?? '', /^1sshd: 1/);
    // Inside the manual /24 ban: the prefix ban covers it.
    await page.goto(`${base}/attacker?ip=198.51.100.20`);
    await page.locator('section.ban[data-target="198.51.100.0/24"]').waitFor();
    assert.match((await page.textContent('section.ban')) ?? '', /scanner network/);
    assert.equal(await page.textContent('#history tbody'), 'never banned by a jail');

    assert.deepEqual(problems, [], 'no script errors or CSP violations');
    await context.close();
  });

  it('a viewer sees the Jails, Agents and Hosts pages with their counters, without errors', async () => {
    const agentPort = server.ready.agents?.port;
    assert.ok(agentPort !== undefined);

    const { token: agentToken } = await cliJson<{ token: string }>([
      'agents',
      'add',
      'gw-1',
      '--json',
      '--socket',
      dir.socket,
    ]);
    await cliJson(['agents', 'add', 'gw-2', '--json', '--socket', dir.socket]);
    const stream = await openStream({
      port: agentPort,
      token: agentToken,
      size: 7,
      query: { error: 'reconcile failed: nft timed out', errorAt: String(Date.now()) },
    });
    await stream.waitFor((m) => m.type === 'snapshot');
    const { context, page, problems } = await signIn(viewerToken);
    await page.click('nav a[href="/jails"]');
    const jail = page.locator('tr[data-jail="sshd"]');
    await jail.waitFor();
    assert.deepEqual((await jail.locator('td').allTextContents()).slice(0, 12), [
      'sshd',
      'enabled',
      'sshd[mode=normal]',
      '3',
      '10m',
      '1h',
      '6',
      '6',
      '0',
      '6',
      '2',
      '1',
    ]);
    await page.screenshot({ path: join(ARTIFACTS, 'jails.png'), fullPage: true });

    await page.click('nav a[href="/agents"]');
    await page.locator('tr[data-agent="gw-2"]').waitFor();
    const gw1 = await page.locator('tr[data-agent="gw-1"] td').allTextContents();
    assert.deepEqual(
      [gw1[0], gw1[1], gw1[2], gw1[5], gw1[6]],
      ['gw-1', 'connected', '127.0.0.1', '0', '7'],
    );
    assert.match(gw1[7] ?? '', /^reconcile failed: nft timed out \(\d{4}-\d\d-\d\d .+\)$/);
    const gw2 = await page.locator('tr[data-agent="gw-2"] td').allTextContents();
    assert.deepEqual(gw2, ['gw-2', 'not connected', '–', '–', '–', '–', '–', 'none', 'never']);
    assert.match(
      (await page.textContent('#agents-table-summary')) ?? '',
      /^1 of 2 agents connected/,
    );
    await page.screenshot({ path: join(ARTIFACTS, 'agents.png'), fullPage: true });

    await page.click('nav a[href="/hosts"]');
    const sender = page.locator('tr[data-sender="127.0.0.1"]');
    await sender.waitFor();
    const cells = await sender.locator('td').allTextContents();
    assert.deepEqual(
      [cells[0], cells[1], cells[4], cells[6], cells[8]],
      ['127.0.0.1', 'sending', '6', '0', 'tcp'],
    );
    await page.screenshot({ path: join(ARTIFACTS, 'hosts.png'), fullPage: true });

    stream.close();
    assert.deepEqual(problems, [], 'no script errors or CSP violations');
    await context.close();
  });

  it('signing out ends the session: the old cookie no longer works', async () => {
    const { context, page } = await signIn(adminToken);
    const cookie = (await context.cookies()).find((c) => c.name === 'fleetban_session');
    assert.ok(cookie !== undefined);
    await Promise.all([page.waitForURL(/\/login$/), page.click('#logout')]);
    await page.goto(`${base}/bans`);
    assert.match(page.url(), /\/login$/, 'back on the sign-in page');
    const res = await fetch(`${base}/api/bans`, {
      headers: { cookie: `fleetban_session=${cookie.value}` },
    });
    assert.equal(res.status, 401, 'the ended session is refused');
    await context.close();
  });

  it('wrong tokens are rate-limited: 401 each, then 429 with Retry-After', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/login`);
    await page.fill('#token', 'not-a-token');
    await page.click('button[type=submit]');
    await page.waitForSelector('#login-error:not([hidden])');
    assert.match((await page.textContent('#login-error')) ?? '', /belongs to no dashboard user/);
    await page.screenshot({ path: join(ARTIFACTS, 'login-refused.png'), fullPage: true });
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${base}/login`, {
        method: 'POST',
        headers: { origin: base, 'content-type': 'application/json' },
        body: JSON.stringify({ token: `wrong-${i}` }),
      });
      statuses.push(res.status);
      retryAfter = res.headers.get('retry-after');
    }
    // maxFailures 5: the browser's attempt and four more are 401, the fifth fetch is throttled.
    assert.deepEqual(statuses, [401, 401, 401, 401, 429]);
    assert.ok(retryAfter !== null && Number(retryAfter) > 0, 'Retry-After is set');
    // Throttled even with the right token: the limit is checked before the token.
    const right = await fetch(`${base}/login`, {
      method: 'POST',
      headers: { origin: base, 'content-type': 'application/json' },
      body: JSON.stringify({ token: adminToken }),
    });
    assert.equal(right.status, 429);
    await context.close();
  });
});
