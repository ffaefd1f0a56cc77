// Several real `fleetban server` processes on one real Redis Cluster: one ban list, whichever server decided or was asked.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import type { ClusterDetail, ClusterSummary, ListedBan } from '../../src/control/plane.js';
import { Forwarding, startRsyslog } from '../helpers/rsyslog.js';
import { openStream } from './agent-api-client.js';
import {
  adminGet,
  freshDeployment,
  healthz,
  redisConfig,
  startClusterServers,
} from './cluster-fixture.js';
import {
  redisCli,
  startRedisCluster,
  startStandaloneRedis,
  type RedisCluster,
} from '../helpers/redis.js';
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

describe('three fleetban servers on one Redis Cluster', () => {
  let cluster: RedisCluster;
  const prefix = freshDeployment();
  const servers: ServerProcess[] = [];
  const dirs: ServerDir[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  const bansOn = (i: number): Promise<ListedBan[]> =>
    cliJson<ListedBan[]>(['bans', '--json', '--socket', dirs[i]?.socket ?? '']);

  before(async () => {
    cluster = await startRedisCluster();
    cleanups.push(() => cluster.stop());
    const started = await startClusterServers(cluster.seeds, prefix, 3, 3, {
      recidive: { enabled: true, filter: 'recidive', maxretry: 2, findtime: '1d', bantime: '1w' },
    });
    cleanups.push(() => started.stop());
    servers.push(...started.servers);
    dirs.push(...started.dirs);
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

  it('an attacker spreading its failures over the three servers (real rsyslog senders) is banned once', async () => {
    const senders = [];
    try {
      for (let i = 0; i < 3; i++) {
        const tcp = servers[i]?.ready.tcp;
        assert.ok(tcp !== undefined);
        senders.push(
          await startRsyslog({
            hostname: `web-${i}`,
            forwarding: Forwarding.TCP_RFC5424,
            target: tcp,
          }),
        );
      }
      // One failure per server: maxretry 3 is reached only if the three count together.
      senders.forEach((web, i) => {
        web.log([`Invalid user admin${i} from 198.51.100.88 port ${41000 + i}`]);
      });
      const bans = await waitFor(
        async () => {
          const listed = (await bansOn(0)).filter((b) => b.target === '198.51.100.88');
          return listed.length > 0 ? listed : null;
        },
        { what: 'the ban of the attacker whose failures were spread over three servers' },
      );
      const ban = bans[0];
      assert.ok(ban !== undefined);
      assert.equal(bans.length, 1);
      assert.equal(ban.failures, 3);
      assert.deepEqual(Object.keys(ban.hosts).sort(), ['web-0', 'web-1', 'web-2']);
    } finally {
      for (const web of senders) await web.stop();
    }
    // Exactly one server decided it: one ban line in all the logs, one ban entry in the feed.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const decided = servers.flatMap((s) =>
      s.logs.filter((l) => l.msg === 'NOTICE [sshd] Ban 198.51.100.88'),
    );
    assert.equal(decided.length, 1);
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
    // Every server reads the removal within a second.
    await waitFor(
      () =>
        openStream({ port: portOf(0), token: added.token }).then(
          (stream) => {
            stream.close();
            return false;
          },
          (e: unknown) => /HTTP 401/.test(String(e)),
        ),
      { what: 'server 1 to refuse the removed token', intervalMs: 1_200 },
    );
  });

  it('a dashboard user added on one server is known to the others, and removed everywhere', async () => {
    const socket = (i: number): string => dirs[i]?.socket ?? '';
    const added = await runCli([
      'users',
      'add',
      'alice',
      '--role',
      'viewer',
      '--json',
      '--socket',
      socket(0),
    ]);
    assert.equal(added.code, 0, added.stderr);
    const names = async (i: number): Promise<string[]> =>
      (await cliJson<{ name: string }[]>(['users', 'list', '--json', '--socket', socket(i)])).map(
        (u) => u.name,
      );
    await waitFor(async () => (await names(2)).includes('alice'), { what: 'alice on server 3' });
    const again = await runCli(['users', 'add', 'alice', '--role', 'admin', '--socket', socket(1)]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /a user named alice already exists/);
    assert.equal((await runCli(['users', 'remove', 'alice', '--socket', socket(1)])).code, 0);
    await waitFor(async () => !(await names(0)).includes('alice'), {
      what: 'alice gone from server 1',
    });
  });

  it('a feed token added on one server reads the feeds on the others, and is refused everywhere once removed', async () => {
    const socket = (i: number): string => dirs[i]?.socket ?? '';
    const url = (i: number, path: string): string =>
      `http://127.0.0.1:${servers[i]?.ready.agents?.port ?? 0}${path}`;
    const added = await cliJson<{ token: string }>([
      'feeds',
      'add',
      'opnsense',
      '--json',
      '--socket',
      socket(0),
    ]);
    const headers = { authorization: `Bearer ${added.token}` };
    // The other servers read the shared list every second; slowly, as refusals count.
    const list = await waitFor(
      async () => {
        const res = await fetch(url(2, '/v1/blocklist.txt'), { headers });
        return res.status === 200 ? res.text() : undefined;
      },
      { what: 'server 3 to accept the feed token made on server 1', intervalMs: 1_200 },
    );
    assert.match(list, /^198\.51\.100\.77$/m);
    const stream = await fetch(url(2, '/v1/agent/stream'), { headers });
    assert.equal(stream.status, 403);
    await stream.body?.cancel();
    const taken = await runCli(['feeds', 'add', 'opnsense', '--socket', socket(1)]);
    assert.notEqual(taken.code, 0);
    assert.match(taken.stderr, /a feed named opnsense already exists/);
    assert.equal((await runCli(['feeds', 'remove', 'opnsense', '--socket', socket(1)])).code, 0);
    for (const i of [0, 1, 2])
      await waitFor(
        async () => {
          const res = await fetch(url(i, '/v1/nftables'), { headers });
          await res.body?.cancel();
          return res.status === 401;
        },
        { what: `server ${i + 1} to refuse the removed feed token`, intervalMs: 1_200 },
      );
  });

  it('a repeat offender is banned again by one server only (the leader counts bans for recidive)', async () => {
    const s = (i: number): string => dirs[i]?.socket ?? '';
    const run = async (args: string[]): Promise<void> => {
      const r = await runCli(args);
      assert.equal(r.code, 0, r.stderr);
    };
    await run(['ban', '198.51.100.123', '--jail', 'sshd', '--socket', s(0)]);
    await run(['unban', '198.51.100.123', '--socket', s(1)]);
    await run(['ban', '198.51.100.123', '--jail', 'sshd', '--socket', s(2)]);
    const ban = await waitFor(
      async () =>
        (await bansOn(1)).find((b) => b.target === '198.51.100.123' && b.jail === 'recidive'),
      { what: 'the recidive ban of the repeat offender' },
    );
    assert.equal(ban.end !== null && ban.end - ban.start, 7 * 86_400_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const decided = servers.flatMap((p) =>
      p.logs.filter((l) => l.msg === 'NOTICE [recidive] Ban 198.51.100.123'),
    );
    assert.equal(decided.length, 1, 'one server decided the recidive ban');
    const status = await cliJson<{ cluster: ClusterSummary }>([
      'status',
      '--json',
      '--socket',
      s(0),
    ]);
    assert.ok(
      status.cluster.leader !== null &&
        status.cluster.servers.some((x) => x.id === status.cluster.leader),
    );
  });

  it('status on any server lists the live servers; cluster status shows Redis and warns of different jails', async () => {
    // Each server reads the others' heartbeats every 2 s.
    const status = await waitFor(
      async () => {
        const st = await cliJson<{ cluster: ClusterSummary }>([
          'status',
          '--json',
          '--socket',
          dirs[1]?.socket ?? '',
        ]);
        return st.cluster.servers.filter((s) => s.alive).length === 3 ? st : null;
      },
      { what: 'server 2 to list three live servers', intervalMs: 500 },
    );
    assert.equal(status.cluster.jailsDiffer, false);
    assert.equal(status.cluster.servers.filter((s) => s.self).length, 1);
    await waitFor(
      async () =>
        (
          await cliJson<{ cluster: ClusterSummary }>([
            'status',
            '--json',
            '--socket',
            dirs[0]?.socket ?? '',
          ])
        ).cluster.servers.filter((s) => s.alive).length === 3,
      { what: 'server 1 to list three live servers', intervalMs: 500 },
    );
    const shown = await runCli(['cluster', 'status', '--json', '--socket', dirs[0]?.socket ?? '']);
    assert.equal(shown.code, 0, shown.stdout + shown.stderr);
    const detail = JSON.parse(shown.stdout) as ClusterDetail;
    assert.equal(detail.redis.length, 6);
    assert.equal(detail.redis.filter((n) => n.role === 'master').length, 3);
    assert.equal(detail.slotsCovered, 16384);
    const slot = Number(
      redisCli(cluster.nodes[0]?.port ?? 0, ['CLUSTER', 'KEYSLOT', `{${prefix}}:seq`]).trim(),
    );
    assert.equal(detail.storeSlot, slot);
    for (const s of detail.servers) assert.ok(s.lag >= 0 && s.lag <= detail.seq);
    // The same in /metrics, for whoever scrapes it.
    const metrics = await adminGet(dirs[0]?.socket ?? '', '/metrics');
    assert.match(metrics, /^fleetban_redis_connected 1$/m);
    assert.match(metrics, /^fleetban_cluster_servers_alive 3$/m);
    assert.match(metrics, /^fleetban_cluster_jails_differ 0$/m);
    assert.match(metrics, /^fleetban_redis_unreplicated_writes_total 0$/m);
    assert.match(metrics, /^fleetban_shared_failures_dropped_total 0$/m);
    // Two attackers crossed maxretry in the tests before (one on server 1, one spread over all).
    let crossings = 0;
    for (const dir of dirs) {
      const text = await adminGet(dir.socket, '/metrics');
      crossings += Number(/^fleetban_shared_window_crossings_total (\d+)$/m.exec(text)?.[1]);
    }
    assert.equal(crossings, 2, 'each crossing is counted once, on the server that saw it');

    // A fourth server with another maxretry: every server warns, cluster status fails.
    const odd = await ServerDir.create({
      config: redisConfig({ nodes: cluster.seeds }, prefix),
      jails: { sshd: sshdJail({ maxretry: 5, findtime: '10m', bantime: '1h' }) },
    });
    const fourth = await startServer(odd);
    try {
      await servers[0]?.waitForLog((l) => /run different jail definitions/.test(l.msg), {
        timeoutMs: 15_000,
      });
      const text = await runCli(['cluster', 'status', '--socket', dirs[0]?.socket ?? '']);
      assert.equal(text.code, 1);
      assert.match(text.stdout, /WARNING: the live servers run different jail definitions/);
      assert.match(text.stdout, /4 of 4 servers alive/);
    } finally {
      await fourth.stop();
      await odd.remove();
    }
    // It said goodbye: gone from the list at once, and the jails agree again.
    const after = await waitFor(
      async () => {
        const r = await runCli(['cluster', 'status', '--json', '--socket', dirs[0]?.socket ?? '']);
        return r.code === 0 ? (JSON.parse(r.stdout) as ClusterDetail) : null;
      },
      { what: 'cluster status to agree again once the fourth server left', intervalMs: 500 },
    );
    assert.equal(after.servers.length, 3);
    assert.equal(after.jailsDiffer, false);
  });
});

describe('a fleetban server whose Redis goes away', () => {
  it('keeps running and detecting, says so on /healthz, refuses manual bans naming Redis, and writes what it decided once Redis is back', async () => {
    const redis = await startStandaloneRedis();
    const dir = await ServerDir.create({
      config: redisConfig({ address: `127.0.0.1:${redis.port}` }, 'down'),
      jails: { sshd: sshdJail({ maxretry: 3, findtime: '10m', bantime: '1h' }) },
    });
    let server: ServerProcess | undefined;
    try {
      server = await startServer(dir);
      assert.equal((await healthz(dir.socket)).status, 200);
      const ok = await runCli(['ban', '203.0.113.50', '--socket', dir.socket]);
      assert.equal(ok.code, 0, ok.stderr);
      await redis.kill();
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

      // An attack while Redis is down is still seen: its failures wait, and count once it is back.
      const udp = server.ready.udp;
      assert.ok(udp !== undefined);
      const socket = createSocket('udp4');
      try {
        for (let i = 0; i < 3; i++) {
          const line = `<38>${rfc3164Now()} web-d sshd[77]: Invalid user nobody${i} from 198.51.100.99 port ${43000 + i}`;
          await new Promise<void>((resolve, reject) => {
            socket.send(line, udp.port, udp.address, (e) => {
              if (e) reject(e);
              else resolve();
            });
          });
        }
      } finally {
        socket.close();
      }
      await waitFor(
        async () => {
          const st = await cliJson<{ jails: { name: string; matched: number }[] }>([
            'status',
            '--json',
            '--socket',
            dir.socket,
          ]);
          return st.jails.find((j) => j.name === 'sshd')?.matched === 3;
        },
        { what: 'the three failures matched while Redis is down' },
      );
      assert.equal(
        (
          await cliJson<{ store: { activeBans: number } }>([
            'status',
            '--json',
            '--socket',
            dir.socket,
          ])
        ).store.activeBans,
        1,
        'no ban can be written while Redis is down',
      );
      await redis.restart();
      await waitFor(
        async () =>
          (await cliJson<ListedBan[]>(['bans', '--json', '--socket', dir.socket])).some(
            (b) => b.target === '198.51.100.99',
          ),
        {
          what: 'the ban decided from the failures sent while Redis was down',
          timeoutMs: 30_000,
          intervalMs: 250,
        },
      );
      assert.equal((await healthz(dir.socket)).status, 200);
      await server.waitForLog((l) => /is reachable again/.test(l.msg));
      // Redis came back empty: the ban this server had announced is written again, numbered after it.
      await server.waitForLog((l) =>
        /lost changes 1\.\.1 that this server had announced/.test(l.msg),
      );
      const listed = await cliJson<ListedBan[]>(['bans', '--json', '--socket', dir.socket]);
      const restored = listed.find((b) => b.target === '203.0.113.50');
      assert.ok(restored !== undefined, 'the lost manual ban is back');
      assert.ok(restored.seq > 1);
    } finally {
      await server?.kill();
      await redis.stop().catch(() => undefined);
      await dir.remove();
    }
  });
});

/** Now as an RFC 3164 time stamp in the local zone ("Dec  2 16:04:05"). */
function rfc3164Now(): string {
  const d = new Date();
  const month = d.toLocaleString('en-US', { month: 'short' });
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${month} ${String(d.getDate()).padStart(2, ' ')} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}
