// An agent listing several servers: a dead, stalled or refusing one is passed at once, a lost stream resumes on the next.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ManualClock, systemClock } from '../../src/core/clock.js';
import type { Logger } from '../../src/core/logger.js';
import { silentLogger } from '../../src/core/logger.js';
import { Agent, type AgentOptions } from '../../src/agent/agent.js';
import { loadAgentConfig } from '../../src/agent/config.js';
import { AgentCounter } from '../../src/agent/metrics.js';
import { AgentApi } from '../../src/distribute/agent-api.js';
import { AgentRegistry } from '../../src/distribute/agent-registry.js';
import { BAN_SETS } from '../../src/nft/element.js';
import { MemoryFirewall } from '../../src/nft/memory-firewall.js';
import { LevelBanStore } from '../../src/store/level-store.js';
import { makeCertificates } from '../helpers/certs.js';
import { waitFor } from '../helpers/wait.js';
import { T0, testBan } from './agent-api-client.js';

/** Permanent: the agent runs on the real clock, the bans are dated T0. */
const ban = (target: string) => testBan(target, 'sshd', null);

interface Logged {
  readonly level: string;
  readonly msg: string;
}

function recordingLogger(into: Logged[]): Logger {
  const at =
    (level: string) =>
    (a: object | string, b?: string): void => {
      into.push({ level, msg: typeof a === 'string' ? a : (b ?? '') });
    };
  const logger: Logger = {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    child: () => logger,
  };
  return logger;
}

let dir: string;
let store: LevelBanStore;
let registry: AgentRegistry;
let token: string;
const apis: AgentApi[] = [];
const cleanups: (() => Promise<void>)[] = [];

/**
 * One agent API on port 0 over the shared store and registry: two of them stand for two
 * servers of a cluster, whose feed and sequence numbers are the same on both.
 */
async function startApi(
  agents = registry,
  tls?: { cert: string; key: string },
): Promise<{ api: AgentApi; url: string }> {
  const api = new AgentApi({
    store,
    registry: agents,
    clock: new ManualClock(T0),
    logger: silentLogger,
    address: '127.0.0.1',
    port: 0,
    pingIntervalMs: 60_000,
    maxQueued: 10_000,
    ...(tls === undefined ? {} : { tls }),
  });
  apis.push(api);
  const { port } = await api.start();
  return { api, url: `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}` };
}

/** A port that refuses connections: bound, then closed. */
async function deadUrl(): Promise<string> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  s.close();
  await once(s, 'close');
  return `http://127.0.0.1:${port}`;
}

/** A server that accepts connections and never answers (a hung process). */
async function stalledUrl(): Promise<string> {
  const sockets = new Set<Socket>();
  const s: Server = createServer((socket) => {
    sockets.add(socket);
  });
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    s.close();
    await once(s, 'close');
  });
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

/** A server that answers every request 503 (a server that is up but cannot serve). */
async function unavailableUrl(): Promise<string> {
  const s = createHttpServer((_req, res) => {
    res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"store down"}');
  });
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  cleanups.push(async () => {
    s.closeAllConnections();
    s.close();
    await once(s, 'close');
  });
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

function makeAgent(
  server: string[],
  extra: Record<string, unknown> = {},
  options: Partial<AgentOptions> = {},
) {
  const logs: Logged[] = [];
  const config = loadAgentConfig({
    env: {},
    overrides: {
      server,
      token,
      // Long on purpose: a failover that waited the backoff would show in the timings.
      reconnect: { min: 5, max: 10 },
      pingInterval: 5,
      batchWindowMs: 5,
      metrics: { listen: '127.0.0.1:0' },
      ...extra,
    },
  });
  const firewall = new MemoryFirewall(systemClock);
  const agent = new Agent({
    config,
    logger: recordingLogger(logs),
    clock: systemClock,
    firewall,
    ...options,
  });
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => (closing ??= agent.close());
  cleanups.push(close);
  return { agent, firewall, logs, close };
}

/** Every element of every set, sorted. */
async function keys(firewall: MemoryFirewall): Promise<string[]> {
  const out: string[] = [];
  for (const set of BAN_SETS) out.push(...((await firewall.list(set))?.elements.keys() ?? []));
  return out.sort();
}

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  await waitFor(check, { what, intervalMs: 5 });
}

async function metricsText(agent: Agent): Promise<string> {
  const where = agent.metricsAddress ?? assert.fail('metrics are off');
  return (await fetch(`http://127.0.0.1:${where.port}/metrics`)).text();
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetban-failover-'));
  store = new LevelBanStore(join(dir, 'db'));
  await store.open();
  registry = new AgentRegistry(join(dir, 'agents.json'), new ManualClock(T0));
  await registry.load();
  token = (await registry.add('web-01')).token;
});

after(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  for (const api of apis) await api.close();
  await registry.flush();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

test('[dead, live]: the agent reaches the live server at once and applies its bans', async () => {
  await store.ban([ban('198.51.100.1')]);
  const dead = await deadUrl();
  const live = await startApi();
  const { agent, firewall, logs, close } = makeAgent([dead, live.url]);
  const started = performance.now();
  await agent.start();
  await once(agent, 'synced');
  const ms = performance.now() - started;
  assert.ok(ms < 2000, `synced after ${ms.toFixed(0)} ms, with a 5 s backoff minimum`);
  await until('the ban applied', async () => (await keys(firewall)).includes('198.51.100.1'));
  assert.equal(agent.server, live.url);
  assert.equal(agent.metrics.get(AgentCounter.SERVER_SWITCHES), 1);
  const switched = logs.filter((l) => l.msg.startsWith(`switched to ${live.url} after ${dead}`));
  assert.equal(switched.length, 1, JSON.stringify(logs));
  assert.match(switched[0]?.msg ?? '', /ECONNREFUSED.*\(1 failed attempt in \d+\.\d s\)$/);
  const text = await metricsText(agent);
  assert.ok(text.includes(`\nfleetban_agent_server{server="${live.url}"} 1\n`), text);
  assert.match(text, /^fleetban_agent_server_switches_total 1$/m);
  assert.match(text, /^fleetban_agent_connected 1$/m);
  await close();
});

test('[stalled, live]: a server that never answers is left after 3 ping intervals', async () => {
  const stalled = await stalledUrl();
  const live = await startApi();
  const { agent, logs, close } = makeAgent([stalled, live.url], { pingInterval: 0.1 });
  const started = performance.now();
  await agent.start();
  await once(agent, 'synced');
  const ms = performance.now() - started;
  assert.ok(ms >= 250 && ms < 2000, `synced after ${ms.toFixed(0)} ms`);
  assert.equal(agent.server, live.url);
  assert.equal(agent.metrics.get(AgentCounter.PING_TIMEOUTS), 1);
  assert.ok(
    logs.some((l) => l.msg.startsWith(`switched to ${live.url} after ${stalled} sent nothing`)),
    JSON.stringify(logs),
  );
  await close();
});

test('[untrusted TLS, 503, live]: both are passed in one round, each logged by name', async () => {
  const certs = await makeCertificates(await mkdtemp(join(dir, 'tls-')));
  const untrusted = await startApi(registry, { cert: certs.cert, key: certs.key });
  const unavailable = await unavailableUrl();
  const live = await startApi();
  const { agent, logs, close } = makeAgent([untrusted.url, unavailable, live.url]);
  const started = performance.now();
  await agent.start();
  await once(agent, 'synced');
  const ms = performance.now() - started;
  assert.ok(ms < 2000, `synced after ${ms.toFixed(0)} ms, with a 5 s backoff minimum`);
  assert.equal(agent.server, live.url);
  const said = logs.map((l) => l.msg);
  assert.ok(
    said.some((m) =>
      new RegExp(
        `^cannot reach the server ${untrusted.url}: .*certificate.*: trying ${unavailable} now$`,
      ).test(m),
    ),
    JSON.stringify(said),
  );
  assert.ok(
    said.includes(`the server ${unavailable} answered 503: trying ${live.url} now`),
    JSON.stringify(said),
  );
  assert.ok(
    said.some(
      (m) =>
        m.startsWith(`switched to ${live.url} after ${untrusted.url} failed: `) &&
        /\(2 failed attempts in \d+\.\d s\)$/.test(m),
    ),
    JSON.stringify(said),
  );
  await close();
});

test('[A, B]: when A goes away the agent resumes on B from its sequence, without a snapshot', async () => {
  const a = await startApi();
  const b = await startApi();
  await store.ban([ban('198.51.100.2')]);
  const { agent, firewall, logs, close } = makeAgent([a.url, b.url]);
  await agent.start();
  assert.deepEqual(await once(agent, 'synced'), ['snapshot']);
  assert.equal(agent.server, a.url);
  const [live] = await store.ban([ban('198.51.100.3')]);
  const seq = live?.seq ?? assert.fail('no seq');
  await until('the live ban received', () => agent.lastSeq === seq);
  const started = performance.now();
  const resumed = once(agent, 'synced');
  await a.api.close();
  assert.deepEqual(await resumed, ['resume']);
  const ms = performance.now() - started;
  assert.ok(ms < 2000, `resumed on B after ${ms.toFixed(0)} ms, with a 5 s backoff minimum`);
  assert.equal(agent.server, b.url);
  assert.equal(agent.metrics.get(AgentCounter.SNAPSHOTS), 1);
  assert.equal(agent.metrics.get(AgentCounter.SERVER_SWITCHES), 1);
  const onB = b.api.agents().find((r) => r.name === 'web-01');
  assert.equal(onB?.connected, true);
  assert.equal(onB.ackSeq, seq, 'B was asked to resume from the last applied seq');
  assert.ok(
    logs.some((l) => l.msg.startsWith(`switched to ${b.url} after ${a.url} closed the stream`)),
    JSON.stringify(logs.map((l) => l.msg)),
  );
  // Changes written after the switch come from B.
  const [next] = await store.ban([ban('198.51.100.4')]);
  await until('the ban from B', () => agent.lastSeq === next?.seq);
  await agent.enforcer.flush();
  const held = await keys(firewall);
  for (const t of ['198.51.100.2', '198.51.100.3', '198.51.100.4']) assert.ok(held.includes(t), t);
  assert.ok((await metricsText(agent)).includes(`fleetban_agent_server{server="${b.url}"} 1`));
  await close();
});

test('[refusing, good]: a 401 names the refusing server and the agent goes on to the good one', async () => {
  const strangers = new AgentRegistry(join(dir, 'other-agents.json'), new ManualClock(T0));
  await strangers.load();
  const refusing = await startApi(strangers);
  const good = await startApi();
  await store.ban([ban('198.51.100.5')]);
  const { agent, firewall, logs, close } = makeAgent([refusing.url, good.url]);
  const started = performance.now();
  await agent.start();
  await once(agent, 'synced');
  assert.ok(performance.now() - started < 2000);
  await until('the ban applied', async () => (await keys(firewall)).includes('198.51.100.5'));
  assert.equal(agent.server, good.url);
  assert.equal(agent.metrics.get(AgentCounter.AUTH_FAILURES), 1);
  const refused = logs.filter((l) => l.level === 'error' && l.msg.includes('refused the token'));
  assert.equal(refused.length, 1, JSON.stringify(logs));
  assert.match(
    refused[0]?.msg ?? '',
    new RegExp(
      `^the server refused the token \\(401\\) at ${refusing.url}: .*: trying ${good.url} now$`,
    ),
  );
  await close();
});

test('the guard keeps the address of every listed server out of the bans', async () => {
  const live = await startApi();
  const resolved: string[] = [];
  const { agent, firewall, close } = makeAgent(
    [
      live.url,
      'http://198.51.100.20:5515',
      'https://[2001:db8:5::20]:5515',
      'https://b.fleet.test',
    ],
    {},
    {
      resolve: (host) => {
        resolved.push(host);
        return Promise.resolve(host === 'b.fleet.test' ? ['192.0.2.30', '2001:db8:7::30'] : []);
      },
    },
  );
  const before = agent.metrics.get(AgentCounter.PROTECTED_SKIPPED);
  await store.ban([
    ban('198.51.100.20'),
    ban('198.51.100.16/28'),
    ban('2001:db8:5::/64'),
    ban('192.0.2.30'),
    ban('2001:db8:7::30'),
    ban('203.0.113.9'),
  ]);
  await agent.start();
  await once(agent, 'synced');
  await agent.enforcer.flush();
  assert.deepEqual(resolved, ['b.fleet.test']);
  const held = await keys(firewall);
  for (const t of [
    '198.51.100.20',
    '198.51.100.16',
    '2001:db8:5::',
    '192.0.2.30',
    '2001:db8:7::30',
  ]) {
    assert.ok(!held.some((k) => k.startsWith(t)), `${t} is not banned: ${held.join(' ')}`);
  }
  assert.ok(held.includes('203.0.113.9'), held.join(' '));
  assert.equal(agent.metrics.get(AgentCounter.PROTECTED_SKIPPED) - before, 5);
  await close();
});
