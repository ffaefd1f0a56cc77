// Feed tokens in the running `fleetban server`: `fleetban feeds add|list|remove`, the feeds read, 403 on the admin API and the dashboard, 401 once removed.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AddedFeed, FeedReport } from '../../src/distribute/feeds-admin.js';
import { runCli, ServerDir, startServer, type ServerProcess } from '../helpers/server-process.js';

const ADMIN_TOKEN = 'the-admin-token-for-feeds';

interface Reply {
  readonly status: number;
  readonly body: string;
}

async function send(url: string, init: RequestInit = {}): Promise<Reply> {
  const res = await fetch(url, init);
  return { status: res.status, body: await res.text() };
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

const messageOf = (r: Reply): string =>
  (JSON.parse(r.body) as { error: { message: string } }).error.message;

describe('feed tokens in the running server', () => {
  let dir: ServerDir;
  let server: ServerProcess;
  let feeds: string;
  let admin: string;
  let dashboard: string;
  const socket = (): string[] => ['--socket', dir.socket];

  before(async () => {
    dir = await ServerDir.create({
      config: {
        control: { http: { enabled: true, address: '127.0.0.1', port: 0, token: ADMIN_TOKEN } },
      },
    });
    server = await startServer(dir);
    const ready = server.ready as typeof server.ready & {
      admin: { http?: { address: string; port: number } };
    };
    feeds = `http://127.0.0.1:${ready.agents?.port ?? 0}`;
    admin = `http://127.0.0.1:${ready.admin.http?.port ?? 0}`;
    dashboard = ready.dashboard?.url.replace(/\/$/, '') ?? '';
    assert.ok(ready.admin.http !== undefined && dashboard !== '');
  });

  after(async () => {
    await server.stop();
    await dir.remove();
  });

  it('adds a feed and prints its token once; the file holds only its digest', async () => {
    const none = await runCli(['feeds', 'list', ...socket()]);
    assert.equal(none.stdout, 'no feed tokens (add one with: fleetban feeds add NAME)\n');
    const added = await runCli(['feeds', 'add', 'fortigate-1', ...socket()]);
    assert.equal(added.code, 0, added.stderr);
    const [head, token, ...rest] = added.stdout.split('\n');
    assert.equal(head, 'feed fortigate-1 added; its read-only token (shown only this once):');
    assert.match(token ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(rest, ['']);
    const file = await readFile(join(dir.storePath, 'feeds.json'), 'utf8');
    assert.ok(!file.includes(token ?? '-'));
    assert.match(file, /"fortigate-1"/);
  });

  it('refuses a bad name, a taken name and an unknown one, each saying why', async () => {
    const bad = await runCli(['feeds', 'add', '../x', ...socket()]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /'\.\.\/x' is not a valid feed name/);
    const taken = await runCli(['feeds', 'add', 'fortigate-1', ...socket()]);
    assert.notEqual(taken.code, 0);
    assert.match(taken.stderr, /a feed named fortigate-1 already exists/);
    const unknown = await runCli(['feeds', 'remove', 'nobody', ...socket()]);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /no feed named nobody/);
  });

  it('reads both feeds; the admin API and the dashboard refuse it with 403; removed, it gets 401', async () => {
    const added = await runCli(['feeds', 'add', 'paloalto', '--json', ...socket()]);
    assert.equal(added.code, 0, added.stderr);
    const { token, feed } = JSON.parse(added.stdout) as AddedFeed;
    assert.equal(feed.name, 'paloalto');
    assert.equal(feed.lastContact, null);
    const banned = await runCli(['ban', '198.51.100.0/24', '--for', '1h', ...socket()]);
    assert.equal(banned.code, 0, banned.stderr);

    const list = await send(`${feeds}/v1/blocklist.txt`, { headers: bearer(token) });
    assert.equal(list.status, 200);
    assert.equal(list.body, '198.51.100.0/24\n');
    const nft = await send(`${feeds}/v1/nftables?mode=gateway`, { headers: bearer(token) });
    assert.equal(nft.status, 200);
    assert.match(nft.body, /198\.51\.100\.0/);
    const stream = await send(`${feeds}/v1/agent/stream`, { headers: bearer(token) });
    assert.equal(stream.status, 403);
    assert.match(messageOf(stream), /feed paloalto is read-only: .* not the agent stream/);

    // The admin API over TCP: no state change, no reading either.
    for (const [method, path] of [
      ['GET', '/v1/status'],
      ['POST', '/v1/bans'],
      ['DELETE', '/v1/bans/198.51.100.0%2F24'],
      ['POST', '/v1/feeds'],
      ['GET', '/metrics'],
    ] as const) {
      const reply = await send(`${admin}${path}`, {
        method,
        headers: { ...bearer(token), 'content-type': 'application/json' },
        ...(method === 'POST' ? { body: JSON.stringify({ target: '192.0.2.1', name: 'x' }) } : {}),
      });
      assert.equal(reply.status, 403, `${method} ${path}: ${reply.body}`);
      assert.equal(
        messageOf(reply),
        'the token of feed paloalto is read-only: it reads GET /v1/blocklist.txt and GET /v1/nftables on the agent API, not the admin API',
      );
    }
    assert.equal((await send(`${admin}/v1/status`, { headers: bearer(ADMIN_TOKEN) })).status, 200);
    const still = await runCli(['bans', '--json', ...socket()]);
    assert.match(still.stdout, /198\.51\.100\.0\/24/, 'the ban is still there');

    const signIn = (t: string) =>
      send(`${dashboard}/login`, {
        method: 'POST',
        headers: { origin: dashboard, 'content-type': 'application/json' },
        body: JSON.stringify({ token: t }),
      });
    const refused = await signIn(token);
    assert.equal(refused.status, 403);
    assert.match(messageOf(refused), /feed paloalto is read-only: .* not the dashboard/);
    assert.equal((await signIn('no-such-token')).status, 401);

    const listed = JSON.parse(
      (await runCli(['feeds', 'list', '--json', ...socket()])).stdout,
    ) as FeedReport[];
    assert.deepEqual(
      listed.map((f) => [f.name, f.lastContact !== null]),
      [
        ['fortigate-1', false],
        ['paloalto', true],
      ],
    );
    const text = (await runCli(['feeds', 'list', ...socket()])).stdout;
    assert.match(text, /^NAME\s+LAST USED\s+CREATED\n/);
    assert.match(text, /^fortigate-1\s+never\s/m);

    const removed = await runCli(['feeds', 'remove', 'paloalto', ...socket()]);
    assert.equal(removed.stdout, 'feed paloalto removed; its token no longer works\n');
    assert.equal((await send(`${feeds}/v1/blocklist.txt`, { headers: bearer(token) })).status, 401);
    assert.equal((await send(`${feeds}/v1/nftables`, { headers: bearer(token) })).status, 401);
    // Now just a wrong token everywhere.
    assert.equal((await send(`${admin}/v1/status`, { headers: bearer(token) })).status, 401);
    assert.equal((await signIn(token)).status, 401);
    const metrics = await send(`${admin}/metrics`, { headers: bearer(ADMIN_TOKEN) });
    assert.match(metrics.body, /^fleetban_feeds_registered 1$/m);
    assert.match(metrics.body, /^fleetban_feed_token_refused_total 1$/m);
  });
});
