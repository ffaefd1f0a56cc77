// Failures under a fleet on Redis Cluster: a server killed (agents and rsyslog move to another), a Redis master killed (its replica goes on).
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Agent } from '../../src/agent/agent.js';
import { loadAgentConfig } from '../../src/agent/config.js';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import type { ListedBan } from '../../src/control/plane.js';
import { BAN_SETS } from '../../src/nft/element.js';
import { MemoryFirewall } from '../../src/nft/memory-firewall.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis.js';
import { Forwarding, startRsyslog } from '../helpers/rsyslog.js';
import { cliJson, runCli } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';
import { freshDeployment, startClusterServers, type ClusterServers } from './cluster-fixture.js';

/** POST /v1/bans over the admin socket: quicker than one CLI process per ban. */
function postBan(socket: string, target: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ target });
    const req = request(
      {
        socketPath: socket,
        path: '/v1/bans',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          resolve(res.statusCode ?? 0);
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Every address the agent's firewall holds, over all sets. */
async function enforced(firewall: MemoryFirewall): Promise<Set<string>> {
  const out = new Set<string>();
  for (const set of BAN_SETS)
    for (const key of (await firewall.list(set))?.elements.keys() ?? [])
      out.add(key.replace(/\/32$/, ''));
  return out;
}

describe('a fleet on Redis Cluster when parts die', () => {
  let cluster: RedisCluster;
  let fleet: ClusterServers;
  const prefix = freshDeployment();
  const cleanups: (() => Promise<unknown>)[] = [];
  const socket = (i: number): string => fleet.dirs[i]?.socket ?? '';
  const ban = async (i: number, target: string): Promise<void> => {
    const r = await runCli(['ban', target, '--socket', socket(i)], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
  };
  const bansOn = (i: number): Promise<ListedBan[]> =>
    cliJson<ListedBan[]>(['bans', '--json', '--socket', socket(i)]);

  before(async () => {
    cluster = await startRedisCluster();
    cleanups.push(() => cluster.stop());
    fleet = await startClusterServers(cluster.seeds, prefix, 2);
    cleanups.push(() => fleet.stop());
  });

  after(async () => {
    for (const undo of cleanups.reverse()) await undo().catch(() => undefined);
  });

  it('kill -9 of a server: its agent resumes on the other within 5 s and misses nothing; rsyslog moves to the backup and detection goes on', async (t) => {
    const [a, b] = fleet.servers;
    assert.ok(a !== undefined && b !== undefined);
    const url = (i: number): string =>
      `http://127.0.0.1:${fleet.servers[i]?.ready.agents?.port ?? 0}`;
    const { token } = await cliJson<{ token: string }>([
      'agents',
      'add',
      'edge-9',
      '--json',
      '--socket',
      socket(0),
    ]);
    const firewall = new MemoryFirewall(systemClock);
    const agent = new Agent({
      config: loadAgentConfig({
        env: {},
        overrides: {
          server: [url(0), url(1)],
          token,
          reconnect: { min: 1, max: 5 },
          pingInterval: 5,
          batchWindowMs: 5,
        },
      }),
      logger: silentLogger,
      clock: systemClock,
      firewall,
    });
    cleanups.push(() => agent.close());
    await agent.start();
    // A second agent follows the other server only: both enforce every ban, whoever decided it.
    const otherFirewall = new MemoryFirewall(systemClock);
    const other = new Agent({
      config: loadAgentConfig({
        env: {},
        overrides: { server: url(1), token, reconnect: { min: 1, max: 5 }, batchWindowMs: 5 },
      }),
      logger: silentLogger,
      clock: systemClock,
      firewall: otherFirewall,
    });
    cleanups.push(() => other.close());
    await other.start();
    await ban(0, '203.0.113.70');
    await waitFor(async () => (await enforced(firewall)).has('203.0.113.70'), {
      what: 'the first ban on the agent',
    });
    await waitFor(async () => (await enforced(otherFirewall)).has('203.0.113.70'), {
      what: 'the first ban on the agent of the other server',
    });

    const primary = a.ready.tcp;
    const backup = b.ready.tcp;
    assert.ok(primary !== undefined && backup !== undefined);
    const web = await startRsyslog({
      hostname: 'web-f',
      forwarding: Forwarding.TCP_RFC5424,
      target: primary,
      backup,
    });
    cleanups.push(() => web.stop());

    await a.kill();
    const killedAt = Date.now();
    // Changes made while the agent's server is dead: every one must reach it.
    const during = Array.from({ length: 20 }, (_, i) => `198.51.100.${i + 1}`);
    assert.deepEqual(
      await Promise.all(during.map((target) => postBan(socket(1), target))),
      during.map(() => 201),
    );
    await waitFor(
      async () => {
        const held = await enforced(firewall);
        return during.every((target) => held.has(target));
      },
      {
        what: 'every ban made during the failover on the agent',
        timeoutMs: 15_000,
        intervalMs: 10,
      },
    );
    const resumedMs = Date.now() - killedAt;
    t.diagnostic(
      `agent resumed on the second server, with all 20 changes, ${resumedMs} ms after the kill`,
    );
    assert.ok(
      resumedMs <= 5_000,
      `agent resumed on the second server ${resumedMs} ms after the kill`,
    );
    assert.equal(agent.server, url(1));
    await waitFor(
      async () => {
        const held = await enforced(otherFirewall);
        return during.every((target) => held.has(target));
      },
      { what: 'every ban made during the failover on the agent of the other server' },
    );
    const stored = await cliJson<{ store: { lastSeq: number } }>([
      'status',
      '--json',
      '--socket',
      socket(1),
    ]);
    assert.equal(agent.lastSeq, stored.store.lastSeq);

    // rsyslog: the first line after the kill may be lost on the dead TCP connection (rsyslog
    // finds the peer gone when it writes); then the backup gets the lines and bans.
    for (let i = 0; i < 8 && !(await bansOn(1)).some((x) => x.target === '192.0.2.150'); i++) {
      web.log([`Invalid user ghost${i} from 192.0.2.150 port ${42000 + i}`]);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await waitFor(async () => (await bansOn(1)).some((x) => x.target === '192.0.2.150'), {
      what: 'the ban decided from lines rsyslog sent to the backup server',
    });
    await waitFor(async () => (await enforced(firewall)).has('192.0.2.150'), {
      what: 'that ban on the agent',
    });
  });

  it('kill -9 of the Redis master holding the bans: every ban announced before is still there, and banning goes on', async (t) => {
    const before = (await bansOn(1)).map((b) => b.target).sort();
    assert.ok(before.length >= 22);
    await cluster.kill(cluster.masterOf(`{${prefix}}:seq`));
    const killedAt = Date.now();
    // The write waits out the failover (retries until the replica is master).
    await ban(1, '203.0.113.71');
    t.diagnostic(
      `a ban asked right after the master's kill was written ${Date.now() - killedAt} ms later`,
    );
    const afterKill = (await bansOn(1)).map((b) => b.target);
    for (const t of before) assert.ok(afterKill.includes(t), `${t} survived the master's death`);
    assert.ok(afterKill.includes('203.0.113.71'));
    await cluster.waitHealthy();
    const status = await runCli(['cluster', 'status', '--socket', socket(1)]);
    assert.match(status.stdout, /16384 of 16384 slots served by healthy masters/);
  });
});
