// The admin HTTP API over a real unix socket and real TCP (port 0): every route, errors, auth, limits, socket care.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { lstat, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { request, type IncomingHttpHeaders } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { ErrorCode, FleetbanError, isFleetbanError } from '../../src/core/errors.js';
import { AdminClient } from '../../src/control/admin-client.js';
import { AdminServer } from '../../src/control/admin-server.js';
import { FakePlane, recordingLogger, type LogEntry } from './admin-fake-plane.js';

const TOKEN = 's3cret-token';

type Via = { socketPath: string } | { host: string; port: number };

interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

function raw(
  via: Via,
  method: string,
  path: string,
  options: { body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      { ...via, method, path, headers: options.headers ?? {}, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

function body(res: RawResponse): Record<string, unknown> {
  return JSON.parse(res.text) as Record<string, unknown>;
}

function errorCode(res: RawResponse): unknown {
  const err = body(res).error as { code?: unknown; message?: unknown } | undefined;
  assert.equal(typeof err?.message, 'string', `error body carries a message: ${res.text}`);
  return err?.code;
}

describe('admin API', () => {
  let dir: string;
  let clock: ManualClock;
  let plane: FakePlane;
  let server: AdminServer;
  let socketPath: string;
  let unix: Via;
  let tcp: { host: string; port: number };
  let logs: LogEntry[];
  const auth = { authorization: `Bearer ${TOKEN}` };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetban-admin-'));
    socketPath = join(dir, 'run', 'fleetban', 'admin.sock');
    clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
    plane = new FakePlane(clock);
    const rec = recordingLogger();
    logs = rec.entries;
    server = new AdminServer({
      plane,
      logger: rec.logger,
      socket: socketPath,
      http: { address: '127.0.0.1', port: 0, token: TOKEN },
      maxBodyBytes: 64 * 1024,
    });
    const bound = await server.start();
    assert.equal(bound.socket, socketPath);
    assert.ok(bound.http !== undefined && bound.http.port > 0);
    tcp = { host: bound.http.address, port: bound.http.port };
    unix = { socketPath };
  });

  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    plane.bansByTarget.clear();
    plane.broken.clear();
    plane.nextReloadError = undefined;
    plane.healthy = true;
  });

  it('creates the socket 0660 in a 0750 folder', async () => {
    assert.equal((await stat(socketPath)).mode & 0o777, 0o660);
    assert.equal((await stat(join(dir, 'run', 'fleetban'))).mode & 0o777, 0o750);
  });

  it('GET /v1/status returns the facade report', async () => {
    const res = await raw(unix, 'GET', '/v1/status');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'] ?? '', /^application\/json/);
    assert.deepEqual(body(res), JSON.parse(JSON.stringify(plane.status())));
  });

  it('GET /v1/jails/:name: known jail, unknown jail 404', async () => {
    const ok = await raw(unix, 'GET', '/v1/jails/sshd');
    assert.equal(ok.status, 200);
    assert.equal(body(ok).name, 'sshd');
    const missing = await raw(unix, 'GET', '/v1/jails/nope');
    assert.equal(missing.status, 404);
    assert.equal(errorCode(missing), ErrorCode.JAIL_UNKNOWN);
  });

  it('POST /v1/bans bans for a duration, then GET /v1/bans lists it, filtered by jail', async () => {
    const res = await raw(unix, 'POST', '/v1/bans', {
      body: JSON.stringify({
        target: '203.0.113.7',
        jail: 'sshd',
        for: '1h',
        reason: 'seen in mail',
      }),
    });
    assert.equal(res.status, 201);
    const ban = body(res).ban as Record<string, unknown>;
    assert.equal(ban.target, '203.0.113.7');
    assert.equal(ban.end, clock.now() + 3_600_000);
    assert.equal(ban.reason, 'seen in mail');

    const seconds = await raw(unix, 'POST', '/v1/bans', {
      body: JSON.stringify({ target: '2001:db8::/64', for: 90 }),
    });
    assert.equal(seconds.status, 201);
    assert.equal((body(seconds).ban as Record<string, unknown>).end, clock.now() + 90_000);

    const all = body(await raw(unix, 'GET', '/v1/bans')).bans as { target: string }[];
    assert.deepEqual(all.map((b) => b.target).sort(), ['2001:db8::/64', '203.0.113.7']);
    const sshd = body(await raw(unix, 'GET', '/v1/bans?jail=sshd')).bans as { target: string }[];
    assert.deepEqual(
      sshd.map((b) => b.target),
      ['203.0.113.7'],
    );
  });

  it('POST /v1/bans: permanent, jail bantime by default', async () => {
    const perm = await raw(unix, 'POST', '/v1/bans', {
      body: JSON.stringify({ target: '198.51.100.0/24', permanent: true }),
    });
    assert.equal(perm.status, 201);
    assert.equal((body(perm).ban as Record<string, unknown>).end, null);
    const dflt = await raw(unix, 'POST', '/v1/bans', {
      body: JSON.stringify({ target: '192.0.2.1', jail: 'sshd' }),
    });
    assert.equal((body(dflt).ban as Record<string, unknown>).end, clock.now() + 3_600_000);
  });

  it('POST /v1/bans refuses bad requests with the catalogue codes', async () => {
    const cases: [unknown, number, string][] = [
      [{ target: '203.0.113.7', for: '1h', permanent: true }, 400, ErrorCode.REQUEST_INVALID],
      [{ target: '203.0.113.7', duration: '1h' }, 400, ErrorCode.REQUEST_INVALID],
      [{ target: '203.0.113.7', for: 'abc' }, 400, ErrorCode.REQUEST_INVALID],
      [{ target: '203.0.113.7', for: 0 }, 400, ErrorCode.REQUEST_INVALID],
      [{ jail: 'sshd' }, 400, ErrorCode.REQUEST_INVALID],
      [{ target: 42 }, 400, ErrorCode.REQUEST_INVALID],
      [{ target: 'not-an-ip' }, 400, ErrorCode.BAN_TARGET_INVALID],
      [{ target: '10.1.2.3' }, 409, ErrorCode.BAN_IGNORED],
      [{ target: '203.0.113.7', jail: 'nope' }, 404, ErrorCode.JAIL_UNKNOWN],
    ];
    for (const [payload, status, code] of cases) {
      const res = await raw(unix, 'POST', '/v1/bans', { body: JSON.stringify(payload) });
      assert.equal(res.status, status, JSON.stringify(payload));
      assert.equal(errorCode(res), code, JSON.stringify(payload));
    }
    assert.equal(plane.bansByTarget.size, 0);
  });

  it('bad JSON and non-object bodies are 400 REQUEST_INVALID', async () => {
    for (const payload of ['{"target":', '[1,2]', '"x"', 'null']) {
      const res = await raw(unix, 'POST', '/v1/bans', { body: payload });
      assert.equal(res.status, 400, payload);
      assert.equal(errorCode(res), ErrorCode.REQUEST_INVALID);
    }
  });

  it('a body over the limit is 413 and the server keeps serving', async () => {
    const big = JSON.stringify({ target: '203.0.113.7', reason: 'x'.repeat(100 * 1024) });
    const res = await raw(unix, 'POST', '/v1/bans', { body: big });
    assert.equal(res.status, 413);
    assert.equal(errorCode(res), ErrorCode.REQUEST_TOO_LARGE);
    assert.equal(plane.bansByTarget.size, 0);
    assert.equal((await raw(unix, 'GET', '/v1/status')).status, 200);
  });

  it('DELETE /v1/bans/:target lifts one ban, CIDR encoded or not; 404 when not banned', async () => {
    plane.seed(sample('198.51.100.0/24'));
    plane.seed(sample('203.0.113.7'));
    const encoded = await raw(unix, 'DELETE', `/v1/bans/${encodeURIComponent('198.51.100.0/24')}`);
    assert.equal(encoded.status, 200);
    assert.deepEqual(
      (body(encoded).unbanned as { target: string }[]).map((b) => b.target),
      ['198.51.100.0/24'],
    );
    plane.seed(sample('198.51.100.0/24'));
    const literal = await raw(unix, 'DELETE', '/v1/bans/198.51.100.0/24');
    assert.equal(literal.status, 200);
    const again = await raw(unix, 'DELETE', '/v1/bans/198.51.100.0%2F24');
    assert.equal(again.status, 404);
    assert.equal(errorCode(again), ErrorCode.BAN_NOT_FOUND);
    assert.deepEqual([...plane.bansByTarget.keys()], ['203.0.113.7']);
  });

  it('DELETE /v1/bans needs all=true and then lifts every ban', async () => {
    plane.seed(sample('192.0.2.1'));
    plane.seed(sample('192.0.2.2'));
    const refused = await raw(unix, 'DELETE', '/v1/bans');
    assert.equal(refused.status, 400);
    assert.equal(errorCode(refused), ErrorCode.REQUEST_INVALID);
    assert.equal(plane.bansByTarget.size, 2);
    const res = await raw(unix, 'DELETE', '/v1/bans?all=true');
    assert.equal(res.status, 200);
    assert.equal((body(res).unbanned as unknown[]).length, 2);
    assert.equal(plane.bansByTarget.size, 0);
  });

  it('POST /v1/reload: report, or the config error with its message', async () => {
    const ok = await raw(unix, 'POST', '/v1/reload');
    assert.equal(ok.status, 200);
    assert.deepEqual(body(ok).changed, ['sshd']);
    plane.nextReloadError = new FleetbanError(
      ErrorCode.CONFIG_INVALID,
      '/etc/fleetban/jails.d/sshd.json: maxretry must be a positive integer',
    );
    const bad = await raw(unix, 'POST', '/v1/reload');
    assert.equal(bad.status, 400);
    assert.equal(errorCode(bad), ErrorCode.CONFIG_INVALID);
    assert.match(
      (body(bad).error as { message: string }).message,
      /jails\.d\/sshd\.json: maxretry/,
    );
  });

  it('GET /v1/senders lists senders', async () => {
    plane.sendersList.splice(0, plane.sendersList.length, sender('192.0.2.10'));
    const res = await raw(unix, 'GET', '/v1/senders');
    assert.equal(res.status, 200);
    assert.deepEqual(body(res).senders, [sender('192.0.2.10')]);
  });

  it('GET /metrics renders the facade and admin families as Prometheus text', async () => {
    plane.sendersList.splice(0, plane.sendersList.length, {
      ...sender('host "a"\\b'),
      messages: 7,
    });
    plane.seed(sample('192.0.2.1'));
    await raw(unix, 'GET', '/nowhere');
    const res = await raw(unix, 'GET', '/metrics');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.match(res.text, /^# TYPE fleetban_bans_active gauge\nfleetban_bans_active 1$/m);
    assert.ok(
      res.text.includes('fleetban_sender_messages_total{sender="host \\"a\\"\\\\b"} 7\n'),
      res.text,
    );
    assert.match(
      res.text,
      /^fleetban_admin_requests_total\{route="none",status="404"\} [1-9]\d*$/m,
    );
  });

  it('GET /healthz: 200 when healthy, 503 with the checks when not', async () => {
    const ok = await raw(unix, 'GET', '/healthz');
    assert.equal(ok.status, 200);
    assert.equal(body(ok).ok, true);
    plane.healthy = false;
    const sick = await raw(unix, 'GET', '/healthz');
    assert.equal(sick.status, 503);
    assert.deepEqual(body(sick).checks, { store: 'closed', ingest: 'ok' });
  });

  it('unknown routes and methods are 404 NOT_FOUND', async () => {
    for (const [method, path] of [
      ['GET', '/v2/status'],
      ['PUT', '/v1/status'],
      ['GET', '/v1/bans/'],
      ['POST', '/v1/jails/sshd'],
    ] as const) {
      const res = await raw(unix, method, path);
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(errorCode(res), ErrorCode.NOT_FOUND);
    }
  });

  it('a throwing facade method answers 500 INTERNAL, is logged, and the server lives on', async () => {
    plane.broken.add('status');
    const res = await raw(unix, 'GET', '/v1/status');
    assert.equal(res.status, 500);
    assert.equal(errorCode(res), ErrorCode.INTERNAL);
    assert.ok(logs.some((e) => e.level === 'error' && e.msg.includes('threw')));
    plane.broken.clear();
    assert.equal((await raw(unix, 'GET', '/v1/status')).status, 200);
  });

  it('TCP requires the bearer token and counts refusals', async () => {
    const before = server.unauthorized;
    for (const headers of [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: `Basic ${TOKEN}` },
    ]) {
      const res = await raw(tcp, 'GET', '/v1/status', { headers });
      assert.equal(res.status, 401);
      assert.equal(errorCode(res), ErrorCode.UNAUTHORIZED);
      assert.match(res.headers['www-authenticate'] ?? '', /^Bearer/);
    }
    assert.equal(server.unauthorized, before + 3);
    const ok = await raw(tcp, 'GET', '/v1/status', { headers: auth });
    assert.equal(ok.status, 200);
    const metrics = await raw(tcp, 'GET', '/metrics', { headers: auth });
    assert.match(
      metrics.text,
      new RegExp(`^fleetban_admin_unauthorized_total ${before + 3}$`, 'm'),
    );
  });

  it('AdminClient returns data, maps server errors to FleetbanError, works over TCP', async () => {
    const client = new AdminClient({ kind: 'unix', socket: socketPath });
    assert.equal((await client.status()).version, '0.1.0-test');
    const ban = await client.ban({ target: '203.0.113.9', for: '10m' });
    assert.equal(ban.end, clock.now() + 600_000);
    assert.deepEqual(
      (await client.bans()).map((b) => b.target),
      ['203.0.113.9'],
    );
    await assert.rejects(client.unban('192.0.2.99'), (e) =>
      isFleetbanError(e, ErrorCode.BAN_NOT_FOUND),
    );
    assert.deepEqual(
      (await client.unban('203.0.113.9')).map((b) => b.target),
      ['203.0.113.9'],
    );
    plane.healthy = false;
    assert.equal((await client.health()).ok, false);

    const overTcp = new AdminClient({ kind: 'tcp', host: tcp.host, port: tcp.port, token: TOKEN });
    assert.equal((await overTcp.jail('sshd')).name, 'sshd');
    assert.match(await overTcp.metrics(), /fleetban_bans_active/);
    const wrong = new AdminClient({ kind: 'tcp', host: tcp.host, port: tcp.port, token: 'nope' });
    await assert.rejects(wrong.status(), (e) => isFleetbanError(e, ErrorCode.UNAUTHORIZED));
  });

  it('AdminClient reports a missing socket as SERVER_UNREACHABLE naming the path', async () => {
    const missing = join(dir, 'nothing.sock');
    const client = new AdminClient({ kind: 'unix', socket: missing });
    await assert.rejects(client.status(), (e) => {
      assert.ok(isFleetbanError(e, ErrorCode.SERVER_UNREACHABLE));
      assert.match(
        e.message,
        /cannot reach the fleetban server at .*nothing\.sock \(is it running\? see --config\)/,
      );
      return true;
    });
  });
});

describe('admin socket lifecycle', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetban-admin-sock-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const newServer = (socket: string, http?: { address: string; port: number; token: string }) =>
    new AdminServer({
      plane: new FakePlane(new ManualClock()),
      logger: recordingLogger().logger,
      socket,
      ...(http === undefined ? {} : { http }),
    });

  it('replaces a stale socket left by a killed server', async () => {
    const path = join(dir, 'stale.sock');
    const child = spawn(
      process.execPath,
      [
        '-e',
        `require('node:net').createServer().listen(${JSON.stringify(path)}, () => console.log('ready'))`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await once(child.stdout, 'data');
    child.kill('SIGKILL');
    await once(child, 'exit');
    assert.ok((await lstat(path)).isSocket(), 'the killed server left its socket behind');

    const server = newServer(path);
    await server.start();
    try {
      assert.equal((await raw({ socketPath: path }, 'GET', '/healthz')).status, 200);
    } finally {
      await server.close();
    }
    await assert.rejects(lstat(path), { code: 'ENOENT' });
  });

  it('refuses to start when a live server answers on the socket', async () => {
    const path = join(dir, 'live.sock');
    const live = createNetServer((s) => s.destroy());
    await new Promise<void>((resolve) => live.listen(path, resolve));
    try {
      await assert.rejects(newServer(path).start(), (e) => {
        assert.ok(isFleetbanError(e, ErrorCode.LISTEN_FAILED));
        assert.match(e.message, /another fleetban server is running/);
        return true;
      });
      assert.ok((await lstat(path)).isSocket(), 'the live server keeps its socket');
    } finally {
      await new Promise<void>((resolve) =>
        live.close(() => {
          resolve();
        }),
      );
    }
  });

  it('never deletes a file that is not a socket', async () => {
    const path = join(dir, 'file.sock');
    await writeFile(path, 'important');
    await assert.rejects(newServer(path).start(), (e) =>
      isFleetbanError(e, ErrorCode.LISTEN_FAILED),
    );
    assert.ok((await lstat(path)).isFile());
  });

  it('fails with LISTEN_FAILED when the TCP port is taken, leaving no socket behind', async () => {
    const taken = createNetServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const address = taken.address();
    assert.ok(address !== null && typeof address === 'object');
    const path = join(dir, 'tcp-taken.sock');
    try {
      await assert.rejects(
        newServer(path, { address: '127.0.0.1', port: address.port, token: TOKEN }).start(),
        (e) => isFleetbanError(e, ErrorCode.LISTEN_FAILED) && /127\.0\.0\.1/.test(e.message),
      );
      await assert.rejects(lstat(path), { code: 'ENOENT' });
    } finally {
      await new Promise<void>((resolve) =>
        taken.close(() => {
          resolve();
        }),
      );
    }
  });

  it('refuses a TCP listener without a token', async () => {
    await mkdir(join(dir, 'x'), { recursive: true });
    assert.throws(
      () => newServer(join(dir, 'x', 'a.sock'), { address: '127.0.0.1', port: 0, token: '' }),
      (e) => isFleetbanError(e, ErrorCode.CONFIG_INVALID),
    );
  });
});

function sample(target: string) {
  return {
    target,
    jail: 'sshd',
    attacker: target.split('/')[0] ?? target,
    start: Date.UTC(2026, 0, 1, 11, 55),
    end: Date.UTC(2026, 0, 1, 13),
    failures: 5,
    hosts: { 'web-01': 3, 'web-02': 2 },
  };
}

function sender(address: string) {
  return {
    address,
    messages: 10,
    bytes: 2048,
    parseErrors: 1,
    dropped: 0,
    invalidUtf8: 0,
    oversized: 0,
    firstSeen: Date.UTC(2026, 0, 1, 10),
    lastSeen: Date.UTC(2026, 0, 1, 11, 59),
    transports: ['udp' as const],
  };
}
