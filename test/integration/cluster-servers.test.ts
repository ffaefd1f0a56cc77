// Several real `fleetban server` processes on one real Redis Cluster: one ban list, whichever server decided or was asked.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ListedBan } from '../../src/control/plane.js';
import { Forwarding, startRsyslog } from '../helpers/rsyslog.js';
import { openStream } from './agent-api-client.js';
import { startRedisCluster, startStandaloneRedis, type RedisCluster } from '../helpers/redis.js';
import {
  cliJson,
  exactMsg,
  runCli,
  ServerDir,
  sshdJail,
  startServer,
  type ServerProcess,
} from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';

/** GET /healthz over the admin socket: status and body. */
function healthz(socket: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path: '/healthz', method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function redisConfig(redis: { nodes?: readonly string[]; address?: string }, prefix: string) {
  return {
    store: {
      backend: 'redis',
      redis: { nodes: redis.nodes ?? [], address: redis.address ?? '', keyPrefix: prefix },
    },
  };
}

describe('three fleetban servers on one Redis Cluster', () => {
  let cluster: RedisCluster;
  const servers: ServerProcess[] = [];
  const dirs: ServerDir[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  const bansOn = (i: number): Promise<ListedBan[]> =>
    cliJson<ListedBan[]>(['bans', '--json', '--socket', dirs[i]?.socket ?? '']);

  before(async () => {
    cluster = await startRedisCluster();
    cleanups.push(() => cluster.stop());
    const prefix = `e2e${randomBytes(4).toString('hex')}`;
    for (let i = 0; i < 3; i++) {
      const dir = await ServerDir.create({
        config: redisConfig({ nodes: cluster.seeds }, prefix),
        jails: { sshd: sshdJail({ maxretry: 3, findtime: '10m', bantime: '1h' }) },
      });
      cleanups.push(() => dir.remove());
      dirs.push(dir);
      const server = await startServer(dir);
      cleanups.push(() => server.kill());
      servers.push(server);
    }
  });

  after(async () => {
    for (const undo of cleanups.reverse()) await undo().catch(() => undefined);
  });

  it('a ban decided on one server from real rsyslog lines is listed by all three, with one sequence number', async () => {
    const tcp = servers[0]?.ready.tcp;
    assert.ok(tcp !== undefined);
    const web = await startRsyslog({
      hostname: 'web-a',
      forwarding: Forwarding.TCP_RFC5424,
      target: tcp,
    });
    try {
      web.log([0, 1, 2].map((i) => `Invalid user guest${i} from 198.51.100.77 port ${40000 + i}`));
      await servers[0]?.waitForLog(exactMsg('NOTICE [sshd] Ban 198.51.100.77'));
    } finally {
      await web.stop();
    }
    const seqs = new Set<number>();
    for (let i = 0; i < 3; i++) {
      const ban = await waitFor(
        async () => (await bansOn(i)).find((b) => b.target === '198.51.100.77'),
        {
          what: `the ban on server ${i + 1}`,
        },
      );
      seqs.add(ban.seq);
    }
    assert.equal(seqs.size, 1);
    for (const dir of dirs) {
      const h = await healthz(dir.socket);
      assert.equal(h.status, 200, h.body);
      assert.match(h.body, /active bans on Redis Cluster/);
    }
  });

  it('a manual ban on one server and its unban on another reach every server', async () => {
    const banned = await runCli(['ban', '203.0.113.44', '--socket', dirs[1]?.socket ?? '']);
    assert.equal(banned.code, 0, banned.stderr);
    for (let i = 0; i < 3; i++)
      await waitFor(async () => (await bansOn(i)).some((b) => b.target === '203.0.113.44'), {
        what: `the manual ban on server ${i + 1}`,
      });
    const lifted = await runCli(['unban', '203.0.113.44', '--socket', dirs[2]?.socket ?? '']);
    assert.equal(lifted.code, 0, lifted.stderr);
    for (let i = 0; i < 3; i++)
      await waitFor(async () => !(await bansOn(i)).some((b) => b.target === '203.0.113.44'), {
        what: `the unban on server ${i + 1}`,
      });
  });

  it('an agent added on one server follows any of them, resumes across them, and is revoked everywhere', async () => {
    const added = await cliJson<{ token: string }>([
      'agents',
      'add',
      'edge-1',
      '--json',
      '--socket',
      dirs[0]?.socket ?? '',
    ]);
    const portOf = (i: number): number => servers[i]?.ready.agents?.port ?? 0;
    // The other servers read the shared agent list every second.
    const onB = await waitFor(() => openStream({ port: portOf(1), token: added.token }), {
      what: 'server 2 to accept the token made on server 1',
      // Slowly: each refusal counts towards the source's failed-token limit.
      intervalMs: 1_200,
    });
    const snapshot = await onB.waitFor((m) => m.type === 'snapshot');
    assert.ok(
      snapshot.type === 'snapshot' && snapshot.bans.some((b) => b.target === '198.51.100.77'),
    );
    assert.equal(
      (await runCli(['ban', '203.0.113.60', '--socket', dirs[0]?.socket ?? ''])).code,
      0,
    );
    const ban = await onB.waitFor((m) => m.type === 'ban' && m.ban.target === '203.0.113.60');
    // The position server 2 gave is valid on server 3: it resumes there without a snapshot.
    const onC = await waitFor(
      () => openStream({ port: portOf(2), token: added.token, since: ban.seq - 1 }),
      { what: 'server 3 to accept the token made on server 1', intervalMs: 1_200 },
    );
    assert.equal((await onC.waitFor((m) => m.type !== 'ping')).type, 'resume');
    const again = await onC.waitFor((m) => m.type === 'ban');
    assert.equal(again.seq, ban.seq);
    onC.close();
    const removed = await runCli(['agents', 'remove', 'edge-1', '--socket', dirs[2]?.socket ?? '']);
    assert.equal(removed.code, 0, removed.stderr);
    await Promise.race([
      onB.closed,
      new Promise((_, reject) =>
        setTimeout(() => {
          reject(new Error('the stream on server 2 outlived the removal on server 3'));
        }, 10_000),
      ),
    ]);
    await assert.rejects(openStream({ port: portOf(0), token: added.token }), /HTTP 401/);
  });
});

describe('a fleetban server whose Redis goes away', () => {
  it('keeps running, says so on /healthz, and refuses new bans with a message naming Redis', async () => {
    const redis = await startStandaloneRedis();
    const dir = await ServerDir.create({
      config: redisConfig({ address: `127.0.0.1:${redis.port}` }, 'down'),
    });
    let server: ServerProcess | undefined;
    try {
      server = await startServer(dir);
      assert.equal((await healthz(dir.socket)).status, 200);
      const ok = await runCli(['ban', '203.0.113.50', '--socket', dir.socket]);
      assert.equal(ok.code, 0, ok.stderr);
      await redis.stop();
      const sick = await waitFor(
        async () => {
          const h = await healthz(dir.socket);
          return h.status === 503 ? h : null;
        },
        { what: '/healthz to answer 503 once Redis is gone', timeoutMs: 15_000 },
      );
      assert.match(sick.body, new RegExp(`Redis at 127\\.0\\.0\\.1:${redis.port} unreachable`));
      const refused = await runCli(['ban', '203.0.113.51', '--socket', dir.socket], {
        timeoutMs: 60_000,
      });
      assert.notEqual(refused.code, 0);
      assert.match(
        refused.stderr,
        /cannot (write to|reach) the ban store on Redis at 127\.0\.0\.1:/,
      );
      // Still running, with what it had in memory (agents are served from it).
      const status = await cliJson<{ store: { activeBans: number } }>([
        'status',
        '--json',
        '--socket',
        dir.socket,
      ]);
      assert.equal(status.store.activeBans, 1);
      await server.waitForLog((l) => /lost Redis at/.test(l.msg));
    } finally {
      await server?.kill();
      await redis.stop().catch(() => undefined);
      await dir.remove();
    }
  });
});
