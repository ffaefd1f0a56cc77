// The whole Agent against a scripted stream server on port 0 and the in-memory firewall: protocol, retries, state.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import {
  encodeStreamMessage,
  type BanEntry,
  type StreamMessage,
} from '../../src/distribute/protocol.js';
import { Agent } from '../../src/agent/agent.js';
import { loadAgentConfig } from '../../src/agent/config.js';
import { AgentCounter } from '../../src/agent/metrics.js';
import { MemoryFirewall } from '../../src/nft/memory-firewall.js';

const TOKEN = 'test-token-0123456789abcdef';

interface Call {
  readonly since: string | null;
  readonly error: string | null;
  readonly errorAt: string | null;
  readonly auth: string | undefined;
  readonly res: ServerResponse;
}

/** A stream server whose answers the test writes: each request waits in `calls` for the test to answer. */
async function scriptedServer() {
  const calls: Call[] = [];
  const waiting: ((c: Call) => void)[] = [];
  /** Bodies of POST /v1/agent/report, each answered 204. */
  const reports: { path: string; auth: string | undefined; body: unknown }[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'POST') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
        reports.push({ path: url.pathname, auth: req.headers.authorization, body });
        res.writeHead(204).end();
      });
      return;
    }
    const call = {
      since: url.searchParams.get('since'),
      error: url.searchParams.get('error'),
      errorAt: url.searchParams.get('errorAt'),
      auth: req.headers.authorization,
      res,
    };
    const w = waiting.shift();
    if (w !== undefined) w(call);
    else calls.push(call);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    reports,
    next: (): Promise<Call> => {
      const c = calls.shift();
      return c !== undefined ? Promise.resolve(c) : new Promise((resolve) => waiting.push(resolve));
    },
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

function open(res: ServerResponse, ...messages: StreamMessage[]): void {
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  for (const m of messages) res.write(encodeStreamMessage(m));
}

function ban(target: string, end: number | null = null): BanEntry {
  return { target, family: 4, end, jail: 'sshd' };
}

function makeAgent(
  server: string,
  extra: Record<string, unknown> = {},
  firewall = new MemoryFirewall(systemClock),
) {
  const config = loadAgentConfig({
    env: {},
    overrides: {
      server,
      token: TOKEN,
      reconnect: { min: 0.02, max: 0.1 },
      pingInterval: 5,
      batchWindowMs: 5,
      metrics: { listen: '127.0.0.1:0' },
      ...extra,
    },
  });
  const agent = new Agent({ config, logger: silentLogger, clock: systemClock, firewall });
  return { agent, firewall };
}

async function keys(firewall: MemoryFirewall): Promise<string[]> {
  return [...((await firewall.list('banned_v4'))?.elements.keys() ?? [])].sort();
}

const servers: { close(): Promise<void> }[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

test('snapshot, pushed changes, reconnect with since, bad lines counted, metrics served', async () => {
  const server = await scriptedServer();
  servers.push(server);
  const { agent, firewall } = makeAgent(server.url);
  await agent.start();
  try {
    const first = await server.next();
    assert.equal(first.auth, `Bearer ${TOKEN}`);
    assert.equal(first.since, '0');
    const synced = once(agent, 'synced');
    open(first.res, {
      type: 'snapshot',
      seq: 10,
      bans: [ban('198.51.100.7'), ban('198.51.100.8')],
    });
    assert.deepEqual(await synced, ['snapshot']);
    assert.deepEqual(await keys(firewall), ['198.51.100.7', '198.51.100.8']);
    first.res.write(encodeStreamMessage({ type: 'ban', seq: 11, ban: ban('203.0.113.9') }));
    first.res.write('{"type":"ban","seq":"x"}\n');
    first.res.write(encodeStreamMessage({ type: 'unban', seq: 12, target: '198.51.100.7' }));
    first.res.write(encodeStreamMessage({ type: 'ping', seq: 12 }));
    const disconnected = once(agent, 'disconnected');
    first.res.end();
    const second = await server.next();
    await disconnected;
    assert.equal(second.since, '12');
    await agent.enforcer.flush();
    assert.deepEqual(await keys(firewall), ['198.51.100.8', '203.0.113.9']);
    assert.equal(agent.metrics.get(AgentCounter.BAD_LINES), 1);
    assert.equal(agent.metrics.get(AgentCounter.CHANGES), 2);
    // A resume replays a change already applied: ignored by seq.
    open(
      second.res,
      { type: 'resume', seq: 12 },
      { type: 'unban', seq: 12, target: '198.51.100.8' },
      { type: 'ban', seq: 13, ban: ban('192.0.2.77') },
    );
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (agent.lastSeq === 13) resolve();
        else setImmediate(check);
      };
      check();
    });
    await agent.enforcer.flush();
    assert.deepEqual(await keys(firewall), ['192.0.2.77', '198.51.100.8', '203.0.113.9']);
    const where = agent.metricsAddress;
    assert.ok(where !== null);
    const text = await (await fetch(`http://127.0.0.1:${where.port}/metrics`)).text();
    assert.match(text, /^fleetban_agent_last_seq 13$/m);
    assert.match(text, /^fleetban_agent_connects_total 2$/m);
  } finally {
    await agent.close();
  }
});

test('a refused token is logged, counted and retried with backoff; the kernel bans stay', async () => {
  const server = await scriptedServer();
  servers.push(server);
  const { agent, firewall } = makeAgent(server.url);
  await agent.start();
  try {
    const first = await server.next();
    open(first.res, { type: 'snapshot', seq: 3, bans: [ban('198.51.100.7')] });
    await once(agent, 'synced');
    first.res.end();
    for (let i = 0; i < 3; i++) {
      const c = await server.next();
      assert.equal(c.since, '3');
      c.res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
    }
    await server.next(); // the agent keeps trying
    assert.ok(agent.metrics.get(AgentCounter.AUTH_FAILURES) >= 3);
    assert.deepEqual(await keys(firewall), ['198.51.100.7']);
  } finally {
    await agent.close();
  }
});

test('a 429 with Retry-After: the agent waits that long before trying again', async () => {
  const server = await scriptedServer();
  servers.push(server);
  const { agent } = makeAgent(server.url); // reconnect backoff: 20-100 ms
  await agent.start();
  try {
    const first = await server.next();
    const answered = performance.now();
    first.res
      .writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' })
      .end('{"error":"throttled"}');
    await server.next();
    const waited = performance.now() - answered;
    assert.ok(waited >= 950, `retried after ${waited.toFixed(0)} ms`);
  } finally {
    await agent.close();
  }
});

test('no line for 3 ping intervals: the agent drops the stream and reconnects', async () => {
  const server = await scriptedServer();
  servers.push(server);
  const { agent } = makeAgent(server.url, { pingInterval: 0.05 });
  await agent.start();
  try {
    const first = await server.next();
    open(first.res, { type: 'snapshot', seq: 1, bans: [] });
    const [end] = (await once(agent, 'disconnected')) as [{ kind: string }];
    assert.equal(end.kind, 'idle');
    assert.equal((await server.next()).since, '1');
    assert.equal(agent.metrics.get(AgentCounter.PING_TIMEOUTS), 1);
  } finally {
    await agent.close();
  }
});

test('with a state file, a restarted agent resumes from its seq and keeps its bans', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetban-agent-state-'));
  const server = await scriptedServer();
  servers.push(server);
  const stateFile = join(dir, 'state.json');
  try {
    const one = makeAgent(server.url, { stateFile });
    await one.agent.start();
    const first = await server.next();
    open(
      first.res,
      { type: 'snapshot', seq: 40, bans: [ban('198.51.100.7')] },
      { type: 'ban', seq: 41, ban: ban('198.51.100.9') },
    );
    await once(one.agent, 'synced');
    await one.agent.close();
    const two = makeAgent(server.url, { stateFile });
    await two.agent.start();
    try {
      const again = await server.next();
      assert.equal(again.since, '41');
      assert.deepEqual(await keys(two.firewall), ['198.51.100.7', '198.51.100.9']);
    } finally {
      await two.agent.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** The in-memory firewall, refusing every batch while `broken` is set (a kernel without nf_tables, say). */
class BreakableFirewall extends MemoryFirewall {
  broken = false;

  override apply(doc: Parameters<MemoryFirewall['apply']>[0]): Promise<void> {
    if (this.broken)
      return Promise.reject(new Error('Could not process rule: Operation not supported'));
    return super.apply(doc);
  }
}

test('the last error (nft refusing a batch, then a server answering 503) goes with the next connection', async () => {
  const server = await scriptedServer();
  servers.push(server);
  const firewall = new BreakableFirewall(systemClock);
  const { agent } = makeAgent(server.url, {}, firewall);
  const before = Date.now();
  await agent.start();
  try {
    const first = await server.next();
    assert.deepEqual([first.error, first.errorAt], [null, null]);
    open(first.res, { type: 'snapshot', seq: 1, bans: [] });
    await once(agent, 'synced');
    const reported = once(agent, 'reported');
    firewall.broken = true;
    first.res.write(encodeStreamMessage({ type: 'ban', seq: 2, ban: ban('203.0.113.9') }));
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (agent.lastSeq === 2) resolve();
        else setImmediate(check);
      };
      check();
    });
    await agent.enforcer.flush();
    assert.match(
      agent.lastError?.message ?? '',
      /^cannot update the nft sets: .*Operation not supported/,
    );
    // Told to the server of the open stream at once, not only with the next connection.
    await reported;
    assert.equal(server.reports.length, 1);
    const [report] = server.reports;
    assert.equal(report?.path, '/v1/agent/report');
    assert.equal(report.auth, `Bearer ${TOKEN}`);
    const body = report.body as { size: number; error: string; errorAt: number };
    assert.equal(body.size, 0);
    assert.match(body.error, /^cannot update the nft sets: .*Operation not supported/);
    assert.ok(body.errorAt >= before && body.errorAt <= Date.now(), `errorAt ${body.errorAt}`);
    first.res.end();
    const second = await server.next();
    assert.match(second.error ?? '', /^cannot update the nft sets: .*Operation not supported/);
    const at = Number(second.errorAt);
    assert.ok(at >= before && at <= Date.now(), `errorAt ${second.errorAt ?? 'null'}`);
    second.res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"busy"}');
    const third = await server.next();
    assert.equal(third.error, `the server ${server.url} answered 503`);
  } finally {
    firewall.broken = false;
    await agent.close();
  }
});
