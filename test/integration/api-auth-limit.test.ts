// Token guessing on the agent API and the admin TCP listener: 429 past the limit, a bounded log, other sources unaffected.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { AdminServer } from '../../src/control/admin-server.js';
import type { AuthLimitOptions } from '../../src/control/auth-limiter.js';
import { AgentApi } from '../../src/distribute/agent-api.js';
import { AgentRegistry } from '../../src/distribute/agent-registry.js';
import { createLogger } from '../../src/log/logger.js';
import { MemoryBanStore } from '../../src/store/memory-store.js';
import { FakePlane } from './admin-fake-plane.js';

const GUESSES = 3000;
const LIMIT: AuthLimitOptions = {
  maxFailures: 10,
  windowMs: 60_000,
  maxSources: 1000,
  logIntervalMs: 60_000,
};

/** A real pino logger writing into memory: every line the daemon would print. */
function capturedLogger() {
  const lines: { level: string; msg: string; [k: string]: unknown }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line !== '') lines.push(JSON.parse(line) as (typeof lines)[number]);
      }
      done();
    },
  });
  return { logger: createLogger('info', sink), lines };
}

interface Answer {
  readonly status: number;
  readonly retryAfter: string | undefined;
}

function get(
  port: number,
  path: string,
  token: string,
  options: { agent?: Agent; localAddress?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        headers: { authorization: `Bearer ${token}` },
        agent: options.agent ?? false,
        ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const retryAfter = res.headers['retry-after'];
          resolve({ status: res.statusCode ?? 0, retryAfter });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** `count` wrong-token requests from 127.0.0.1 over 16 keep-alive connections; statuses counted. */
async function guess(port: number, path: string, count: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const statuses = new Map<number, number>();
  const retryAfters = new Set<string | undefined>();
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      const a = await get(port, path, `guess-${next}`, { agent });
      statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
      if (a.status === 429) retryAfters.add(a.retryAfter);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  agent.destroy();
  return { statuses, retryAfters, ms: performance.now() - started };
}

function tokenLines(lines: readonly { msg: string }[]): string[] {
  return lines.map((l) => l.msg).filter((m) => /token/.test(m));
}

describe('agent API under token guessing', () => {
  let dir: string;
  let api: AgentApi;
  let port: number;
  let token: string;
  const log = capturedLogger();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetban-authlimit-'));
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const registry = new AgentRegistry(join(dir, 'agents.json'), clock);
    await registry.load();
    api = new AgentApi({
      store: new MemoryBanStore(),
      registry,
      clock,
      logger: log.logger,
      address: '127.0.0.1',
      port: 0,
      pingIntervalMs: 60_000,
      maxQueued: 1000,
      authLimit: LIMIT,
    });
    port = (await api.start()).port;
    token = (await api.addAgent('gw-1')).token;
  });

  after(async () => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  it(`answers 429 after ${LIMIT.maxFailures} failures, logs a summary, and serves other sources`, async () => {
    const r = await guess(port, '/v1/nftables', GUESSES);
    console.log(`# agent API: ${GUESSES} guesses in ${r.ms.toFixed(0)} ms`);
    assert.deepEqual([...r.statuses].sort(), [
      [401, LIMIT.maxFailures],
      [429, GUESSES - LIMIT.maxFailures],
    ]);
    for (const ra of r.retryAfters)
      assert.ok(Number(ra) >= 1 && Number(ra) <= 60, `Retry-After ${ra}`);
    // The blocked source is refused even with the right token: its token is not looked at.
    assert.equal((await get(port, '/v1/nftables', token)).status, 429);
    // Another source with the right token is served.
    const other = await get(port, '/v1/nftables', token, { localAddress: '127.0.0.2' });
    assert.equal(other.status, 200);
    assert.ok(tokenLines(log.lines).length <= 1, tokenLines(log.lines).join('\n'));
    const metrics = api.metrics();
    const value = (name: string) => metrics.find((m) => m.name === name)?.samples[0]?.value;
    assert.equal(value('fleetban_agent_auth_failures_total'), LIMIT.maxFailures);
    assert.equal(value('fleetban_agent_auth_throttled_total'), GUESSES - LIMIT.maxFailures + 1);
    assert.equal(value('fleetban_agent_auth_blocked_sources'), 1);

    await api.close(); // writes the pending summary
    const lines = tokenLines(log.lines);
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(
      lines[1] ?? '',
      new RegExp(
        `^agent API: ${LIMIT.maxFailures} failed token attempts from 1 sources, ${GUESSES - LIMIT.maxFailures + 1} more answered 429; top: 127\\.0\\.0\\.1 \\(${GUESSES + 1}\\)$`,
      ),
    );
  });
});

describe('admin TCP listener under token guessing', () => {
  let server: AdminServer;
  let port: number;
  const TOKEN = 'the-admin-token';
  const log = capturedLogger();

  before(async () => {
    server = new AdminServer({
      plane: new FakePlane(new ManualClock(Date.UTC(2026, 0, 1))),
      logger: log.logger,
      http: { address: '127.0.0.1', port: 0, token: TOKEN, authLimit: LIMIT },
    });
    const bound = await server.start();
    port = bound.http?.port ?? 0;
  });

  after(() => server.close());

  it(`answers 429 after ${LIMIT.maxFailures} failures, logs a summary, and serves other sources`, async () => {
    const r = await guess(port, '/v1/status', GUESSES);
    console.log(`# admin API: ${GUESSES} guesses in ${r.ms.toFixed(0)} ms`);
    assert.deepEqual([...r.statuses].sort(), [
      [401, LIMIT.maxFailures],
      [429, GUESSES - LIMIT.maxFailures],
    ]);
    for (const ra of r.retryAfters)
      assert.ok(Number(ra) >= 1 && Number(ra) <= 60, `Retry-After ${ra}`);
    const other = await get(port, '/v1/status', TOKEN, { localAddress: '127.0.0.2' });
    assert.equal(other.status, 200);
    const metrics = await get(port, '/metrics', TOKEN, { localAddress: '127.0.0.2' });
    assert.equal(metrics.status, 200);
    assert.ok(tokenLines(log.lines).length <= 1, tokenLines(log.lines).join('\n'));
    await server.close();
    const lines = tokenLines(log.lines);
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(
      lines[1] ?? '',
      new RegExp(
        `^admin API \\(TCP\\): ${LIMIT.maxFailures} failed token attempts from 1 sources, ${GUESSES - LIMIT.maxFailures} more answered 429`,
      ),
    );
  });
});
