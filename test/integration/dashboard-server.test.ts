// The dashboard without a browser: users through the CLI (bad input, revocation ends sessions), TLS with a Secure cookie, headers, local assets.
import assert from 'node:assert/strict';
import { get } from 'node:http';
import net from 'node:net';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { makeCertificates } from '../helpers/certs.js';
import {
  cliJson,
  runCli,
  ServerDir,
  startServer,
  type ServerProcess,
} from '../helpers/server-process.js';

interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

/** One HTTPS request trusting the test CA. */
function httpsRequest(
  url: string,
  ca: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, ca },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** GET over the admin unix socket. */
function adminGet(socketPath: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ socketPath, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        resolve(body);
      });
    }).on('error', reject);
  });
}

describe('dashboard users and sessions', () => {
  let dir: ServerDir;
  let server: ServerProcess;
  let base: string;

  before(async () => {
    dir = await ServerDir.create({ config: { dashboard: { port: 0 } } });
    server = await startServer(dir);
    base = (server.ready.dashboard?.url ?? '').replace(/\/$/, '');
  });

  after(async () => {
    await server.stop();
    await dir.remove();
  });

  const socket = (): string[] => ['--socket', dir.socket];

  async function signIn(token: string): Promise<Response> {
    return fetch(`${base}/login`, {
      method: 'POST',
      headers: { origin: base, 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
  }

  it('users add refuses a missing or unknown role and a taken name, each with a clear message', async () => {
    const missing = await runCli(['users', 'add', 'bob', ...socket()]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing --role \(viewer or admin\)/);
    const unknown = await runCli(['users', 'add', 'bob', '--role', 'root', ...socket()]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--role must be viewer or admin, not 'root'/);
    const badName = await runCli(['users', 'add', '../x', '--role', 'viewer', ...socket()]);
    assert.equal(badName.code, 2);
    assert.match(badName.stderr, /not a valid user name/);
    const added = await runCli(['users', 'add', 'bob', '--role', 'viewer', ...socket()]);
    assert.equal(added.code, 0, added.stderr);
    assert.match(
      added.stdout,
      /user bob \(viewer\) added; its dashboard token \(shown only this once\):\n[A-Za-z0-9_-]{43}\n/,
    );
    const again = await runCli(['users', 'add', 'bob', '--role', 'admin', ...socket()]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /a user named bob already exists/);
    const listed = await runCli(['users', 'list', ...socket()]);
    assert.match(listed.stdout, /^NAME +ROLE +CREATED\nbob +viewer +\d{4}-/);
  });

  it('removing a user revokes its token and ends its open sessions', async () => {
    const { token } = await cliJson<{ token: string }>([
      'users',
      'add',
      'carol',
      '--role',
      'admin',
      '--json',
      ...socket(),
    ]);
    const login = await signIn(token);
    assert.equal(login.status, 200);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    assert.match(cookie, /^fleetban_session=[A-Za-z0-9_-]{43}$/);
    assert.equal((await fetch(`${base}/api/session`, { headers: { cookie } })).status, 200);
    const metrics = await adminGet(dir.socket, '/metrics');
    assert.match(metrics, /^fleetban_dashboard_sessions [1-9]/m);
    assert.match(metrics, /^fleetban_dashboard_signin_failures_total 0$/m);
    const removed = await runCli(['users', 'remove', 'carol', ...socket()]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal((await fetch(`${base}/api/session`, { headers: { cookie } })).status, 401);
    assert.equal((await signIn(token)).status, 401, 'the token no longer signs in');
    const users = await cliJson<{ name: string }[]>(['users', 'list', '--json', ...socket()]);
    assert.deepEqual(
      users.map((u) => u.name),
      ['bob'],
    );
    const gone = await runCli(['users', 'remove', 'carol', ...socket()]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /no user named carol/);
  });

  it('pages carry a strict CSP and load only local assets, which are served', async () => {
    const { token } = await cliJson<{ token: string }>([
      'users',
      'add',
      'dave',
      '--role',
      'viewer',
      '--json',
      ...socket(),
    ]);
    const cookie = ((await signIn(token)).headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    for (const page of [
      '/overview',
      '/bans',
      '/attacker?ip=198.51.100.1',
      '/jails',
      '/agents',
      '/hosts',
      '/login',
    ]) {
      const res = await fetch(`${base}${page}`, { headers: { cookie }, redirect: 'manual' });
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /script-src 'self'(;|$)/, 'no inline script, no other origin');
      assert.match(csp, /frame-ancestors 'none'/);
      const html = await res.text();
      assert.doesNotMatch(html, /<script>|<script [^>]*>[^<]/, 'no inline script');
      assert.doesNotMatch(html, /style=/, 'no inline style');
      const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? '');
      for (const ref of refs) {
        assert.ok(ref.startsWith('/') || ref === 'data:,', `${ref} is local`);
        if (!ref.startsWith('/assets/')) continue;
        assert.equal((await fetch(`${base}${ref}`)).status, 200, `${ref} is served`);
      }
    }
  });

  /** A new viewer's session cookie. */
  async function viewerCookie(name: string): Promise<string> {
    const { token } = await cliJson<{ token: string }>([
      'users',
      'add',
      name,
      '--role',
      'viewer',
      '--json',
      ...socket(),
    ]);
    return ((await signIn(token)).headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  }

  /** A GET with a session cookie: status and JSON body. */
  async function read(
    cookie: string,
    path: string,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${base}${path}`, { headers: { cookie } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it('serves the Attacker page JSON to a viewer: bans covering the address with their evidence, its history; a bad ip is 400, no session 401', async () => {
    const cookie = await viewerCookie('frank');
    // Five sshd failures from one address over TCP (the default test jail: maxretry 5), and a manual prefix ban.
    const tcp = server.ready.tcp?.port ?? 0;
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port: tcp }, () => {
        socket.end(
          [1, 2, 3, 4, 5]
            .map(
              (n) =>
                `<38>1 ${new Date().toISOString()} db${n} sshd 1 - - Failed password for root from 198.51.100.1 port ${n} ssh2\n`,
            )
            .join(''),
        );
      });
      socket.on('error', reject);
      socket.on('close', () => {
        resolve();
      });
    });
    const banned = await runCli(['ban', '198.51.100.0/24', '--for', '1h', ...socket()]);
    assert.equal(banned.code, 0, banned.stderr);

    // The jail's ban is written after the lines are counted: wait for it through the API itself.
    let attacker = await read(cookie, '/api/attacker?ip=198.51.100.1');
    const deadline = Date.now() + 10_000;
    while ((attacker.body.bans as unknown[]).length < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setImmediate(resolve));
      attacker = await read(cookie, '/api/attacker?ip=198.51.100.1');
    }
    assert.equal(attacker.status, 200);
    const bans = attacker.body.bans as { target: string; hosts: object; lines: string[] }[];
    assert.deepEqual(
      bans.map((b) => b.target),
      ['198.51.100.1', '198.51.100.0/24'],
      'the address own ban first, then the prefix ban covering it',
    );
    const [own, prefix] = bans;
    assert.ok(own !== undefined && prefix !== undefined);
    assert.deepEqual(own.hosts, { db1: 1, db2: 1, db3: 1, db4: 1, db5: 1 });
    assert.equal(own.lines.length, 5);
    assert.match(
      own.lines.join('\n'),
      /^Failed password for root from 198\.51\.100\.1 port 1 ssh2$/m,
    );
    assert.deepEqual(prefix.lines, [], 'a manual ban has no evidence');
    assert.deepEqual(attacker.body.history, {
      ...(attacker.body.history as object),
      attacker: '198.51.100.1',
      bans: 1,
      perJail: { sshd: 1 },
      lastBantime: 3600,
    });
    const lastBanAt = (attacker.body.history as unknown as { lastBanAt: number }).lastBanAt;
    // store.historyRetention at its default, 180 days.
    assert.equal(attacker.body.historyKeptUntil, lastBanAt + 180 * 86_400_000);
    const canonical = await read(cookie, '/api/attacker?ip=%3A%3Affff%3A198.51.100.1');
    assert.equal(
      canonical.body.address,
      '198.51.100.1',
      'an IPv4-mapped address is looked up as IPv4',
    );
    const clean = await read(cookie, '/api/attacker?ip=2001:db8::1');
    assert.deepEqual(clean.body, {
      address: '2001:db8::1',
      bans: [],
      history: null,
      historyKeptUntil: null,
    });
    const bad = await read(cookie, '/api/attacker?ip=not-an-ip');
    assert.equal(bad.status, 400);
    assert.match(
      (bad.body.error as { message: string }).message,
      /ip must be an IP address or CIDR prefix, not 'not-an-ip'/,
    );
    const anonymous = await fetch(`${base}/api/attacker?ip=198.51.100.1`);
    assert.equal(anonymous.status, 401);

    // The Overview counts both bans: one /24, the jail ban's five hosts, this hour and today.
    let overview = await read(cookie, '/api/overview');
    while ((overview.body.topHosts as unknown[]).length < 5 && Date.now() < deadline) {
      await new Promise((resolve) => setImmediate(resolve));
      overview = await read(cookie, '/api/overview');
    }
    assert.equal(overview.status, 200);
    assert.deepEqual(overview.body.topNetworks, [{ name: '198.51.100.0/24', bans: 2 }]);
    assert.deepEqual(
      overview.body.topHosts,
      ['db1', 'db2', 'db3', 'db4', 'db5'].map((name) => ({ name, bans: 1 })),
    );
    assert.equal(overview.body.hostsCounted, 2);
    const perHour = overview.body.bansPerHour as number[];
    const perDay = overview.body.bansPerDay as number[];
    assert.equal(perHour.length, 24);
    const sumLast2 = (xs: number[]): number => xs.slice(-2).reduce((a, b) => a + b, 0);
    assert.equal(
      sumLast2(perHour),
      2,
      'both bans in this hour (or the last, at a turn of the hour)',
    );
    assert.equal(perDay.length, 7);
    assert.equal(sumLast2(perDay), 2, 'both bans today (or yesterday, at midnight UTC)');
    const hoursStart = overview.body.hoursStart as number;
    assert.equal(hoursStart % 3600_000, 0);
    assert.ok(Date.now() - hoursStart < 24 * 3600_000 && Date.now() - hoursStart >= 23 * 3600_000);
    assert.equal((overview.body.daysStart as number) % 86_400_000, 0);
  });

  it('serves the Jails, Agents and Hosts pages JSON to a viewer, 401 without a session', async () => {
    const cookie = await viewerCookie('grace');
    await cliJson(['agents', 'add', 'gw-9', '--json', ...socket()]);
    const jails = await read(cookie, '/api/jails/status');
    assert.equal(jails.status, 200);
    const [sshd] = jails.body.jails as Record<string, unknown>[];
    assert.deepEqual(
      [
        sshd?.name,
        sshd?.enabled,
        sshd?.maxretry,
        sshd?.failures,
        sshd?.banRequests,
        sshd?.activeBans,
      ],
      ['sshd', true, 5, 5, 1, 1],
    );

    const agents = await read(cookie, '/api/agents');
    assert.equal(agents.status, 200);
    assert.equal(typeof agents.body.lastSeq, 'number');
    assert.ok((agents.body.lastSeq as number) >= 2, 'the store has both bans');
    assert.deepEqual(
      (agents.body.agents as Record<string, unknown>[]).map((a) => [a.name, a.connected, a.ackSeq]),
      [['gw-9', false, null]],
    );

    const senders = await read(cookie, '/api/senders');
    assert.equal(senders.status, 200);
    const [sender] = senders.body.senders as Record<string, unknown>[];
    assert.deepEqual(
      [sender?.address, sender?.messages, sender?.parseErrors, sender?.silentSince],
      ['127.0.0.1', 5, 0, null],
    );

    for (const path of ['/api/jails/status', '/api/agents', '/api/senders']) {
      const anonymous = await fetch(`${base}${path}`);
      assert.equal(anonymous.status, 401, path);
      const answer = (await anonymous.json()) as { error: { code: string } };
      assert.equal(answer.error.code, 'FLEETBAN_UNAUTHORIZED');
    }
  });
});

describe('dashboard over TLS', () => {
  let dir: ServerDir;

  before(async () => {
    dir = await ServerDir.create();
  });

  after(async () => {
    await dir.remove();
  });

  it('serves HTTPS and marks the session cookie Secure', async () => {
    const certs = await makeCertificates(dir.dir, 'localhost');
    await dir.writeConfig({ dashboard: { port: 0, tls: { cert: certs.cert, key: certs.key } } });
    const server = await startServer(dir);
    try {
      const url = server.ready.dashboard?.url ?? '';
      assert.match(url, /^https:\/\/127\.0\.0\.1:\d+\/$/);
      const base = url.replace(/\/$/, '');
      const { token } = await cliJson<{ token: string }>([
        'users',
        'add',
        'erin',
        '--role',
        'admin',
        '--json',
        '--socket',
        dir.socket,
      ]);
      const { readFile } = await import('node:fs/promises');
      const ca = await readFile(certs.ca, 'utf8');
      const login = await httpsRequest(`${base}/login`, ca, {
        method: 'POST',
        headers: { origin: base, 'content-type': 'application/json' },
        body: JSON.stringify({ token }),
      });
      assert.equal(login.status, 200, login.body);
      const cookie = String(login.headers['set-cookie']);
      assert.match(cookie, /; HttpOnly; SameSite=Strict; Max-Age=43200; Secure$/);
    } finally {
      await server.stop();
    }
  });

  it('refuses to start with a certificate but no key, naming both keys', async () => {
    await dir.writeConfig({ dashboard: { port: 0, tls: { cert: '/nonexistent.pem', key: '' } } });
    await assert.rejects(
      startServer(dir),
      /dashboard\.tls\.cert and dashboard\.tls\.key go together/,
    );
  });
});
