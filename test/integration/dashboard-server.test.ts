// The dashboard without a browser: users through the CLI (bad input, revocation ends sessions), TLS with a Secure cookie, headers, local assets.
import assert from 'node:assert/strict';
import { get } from 'node:http';
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
    for (const page of ['/overview', '/bans', '/login']) {
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
