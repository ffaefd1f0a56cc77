// The agent stream over real HTTP on port 0 with a real LevelDB store: snapshot, push, resume, resync, auth, removal, slow readers.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import type { Logger } from '../../src/core/logger.js';
import { sendReport } from '../../src/agent/report-client.js';
import { AgentApi } from '../../src/distribute/agent-api.js';
import { AgentRegistry } from '../../src/distribute/agent-registry.js';
import { StreamEnd } from '../../src/distribute/agent-stream.js';
import type { BanMessage, StreamMessage } from '../../src/distribute/protocol.js';
import { LevelBanStore } from '../../src/store/level-store.js';
import { bodyOf, get, openStream, type StreamReader, T0, testBan } from './agent-api-client.js';

const ban = testBan;

interface Logged {
  level: string;
  obj: object;
  msg: string;
}

function recordingLogger(into: Logged[]): Logger {
  const at =
    (level: string) =>
    (a: object | string, b?: string): void => {
      if (typeof a === 'string') into.push({ level, obj: {}, msg: a });
      else into.push({ level, obj: a, msg: b ?? '' });
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

const isBan = (target: string) => (m: StreamMessage) => m.type === 'ban' && m.ban.target === target;

describe('agent API stream', () => {
  let dir: string;
  let store: LevelBanStore;
  let registry: AgentRegistry;
  let api: AgentApi;
  let port: number;
  let token: string;
  let logs: Logged[];
  const readers: StreamReader[] = [];

  async function setUp(
    options: { feedRetention?: number; maxQueued?: number } = {},
  ): Promise<void> {
    dir = await mkdtemp(join(tmpdir(), 'fleetban-agentapi-'));
    store = new LevelBanStore(join(dir, 'db'), { feedRetention: options.feedRetention ?? 1000 });
    await store.open();
    const clock = new ManualClock(T0);
    registry = new AgentRegistry(join(dir, 'db', 'agents.json'), clock);
    await registry.load();
    logs = [];
    api = new AgentApi({
      store,
      registry,
      clock,
      logger: recordingLogger(logs),
      address: '127.0.0.1',
      port: 0,
      pingIntervalMs: 60_000,
      maxQueued: options.maxQueued ?? 10_000,
    });
    port = (await api.start()).port;
    token = (await api.addAgent('web-01')).token;
  }

  async function stream(since?: number, size?: number): Promise<StreamReader> {
    const r = await openStream({
      port,
      token,
      ...(since !== undefined ? { since } : {}),
      ...(size !== undefined ? { size } : {}),
    });
    readers.push(r);
    return r;
  }

  beforeEach(async () => {
    await setUp();
  });

  afterEach(async () => {
    for (const r of readers.splice(0)) r.close();
    await api.close();
    await store.close();
    await registry.flush();
    await rm(dir, { recursive: true, force: true });
  });

  it('sends a snapshot, then pushes each change as it is written, in seq order', async () => {
    await store.ban([ban('192.0.2.1'), ban('2001:db8::/64', 'nginx', null)]);
    const r = await stream(undefined, 2);
    const first = await r.waitFor(() => true);
    assert.ok(first.type === 'snapshot');
    assert.equal(first.seq, 2);
    assert.deepEqual(
      [...first.bans].sort((a, b) => a.target.localeCompare(b.target)),
      [
        { target: '192.0.2.1', family: 4, end: T0 + 600_000, jail: 'sshd' },
        { target: '2001:db8::/64', family: 6, end: null, jail: 'nginx' },
      ],
    );
    const started = process.hrtime.bigint();
    await store.ban([ban('198.51.100.0/24')]);
    const pushed = await r.waitFor(isBan('198.51.100.0/24'));
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.equal(pushed.seq, 3);
    assert.ok(ms < 1000, `pushed after ${ms} ms`);
    await store.unban([{ target: '192.0.2.1', at: T0, reason: 'manual' }]);
    const lifted = await r.waitFor((m) => m.type === 'unban');
    assert.deepEqual(lifted, { type: 'unban', seq: 4, target: '192.0.2.1' });
    assert.deepEqual(
      r.messages.map((m) => m.seq),
      [2, 3, 4],
    );
    assert.deepEqual(
      api.agents().map((x) => [x.connected, x.setSize, x.sentSeq, x.peer]),
      [[true, 2, 4, '127.0.0.1']],
    );
    assert.equal(r.errors.length, 0);
    assert.equal(r.res.headers['content-type'], 'application/x-ndjson');
  });

  it('keeps the last error an agent reports on connecting, cut to one line of 300 characters', async () => {
    const first = await openStream({
      port,
      token,
      query: { error: 'cannot update the nft sets: Operation not supported', errorAt: String(T0) },
    });
    readers.push(first);
    await first.waitFor(() => true);
    assert.deepEqual(api.agents()[0]?.lastError, {
      message: 'cannot update the nft sets: Operation not supported',
      at: T0,
    });
    first.close();
    const long = await openStream({
      port,
      token,
      query: { error: `two\nlines ${'x'.repeat(400)}` },
    });
    readers.push(long);
    await long.waitFor(() => true);
    const cut = api.agents()[0]?.lastError ?? null;
    assert.ok(cut !== null);
    assert.equal(cut.at, null);
    assert.equal(cut.message.length, 300);
    assert.ok(cut.message.startsWith('two lines xxx'), cut.message);
    assert.ok(cut.message.endsWith('…'));
    long.close();
    const clean = await openStream({ port, token, size: 0 });
    readers.push(clean);
    await clean.waitFor(() => true);
    assert.equal(api.agents()[0]?.lastError, null);
  });

  it('takes a report posted while connected (set size, last error) without a reconnect; bad ones refused', async () => {
    const r = await stream(undefined, 3);
    await r.waitFor(() => true);
    const server = `http://127.0.0.1:${port}`;
    const report = (body: object, t = token) =>
      sendReport({ server, token: t, body: body as never, timeoutMs: 5000 });
    assert.equal(
      await report({ size: 5, error: 'reconcile failed: nft timed out', errorAt: T0 }),
      204,
    );
    assert.deepEqual(
      api.agents().map((a) => [a.connected, a.setSize, a.lastError]),
      [[true, 5, { message: 'reconcile failed: nft timed out', at: T0 }]],
    );
    assert.equal(await report({ size: 5, error: null, errorAt: null }), 204);
    assert.equal(api.agents()[0]?.lastError, null);
    assert.equal(await report({ size: -1, error: null, errorAt: null }), 400);
    assert.equal(await report({ size: 1, error: 7, errorAt: null }), 400);
    assert.equal(await report({ size: 1, error: null, errorAt: null }, 'not-a-token'), 401);
    assert.equal(api.agents()[0]?.setSize, 5, 'a refused report changes nothing');
    const wrongMethod = await get(port, '/v1/agent/report', token);
    assert.equal(wrongMethod.res.statusCode, 404);
    wrongMethod.res.resume();
  });

  it('refuses an errorAt that is not a time', async () => {
    const r = await get(port, '/v1/agent/stream?error=x&errorAt=yesterday', token);
    assert.equal(r.res.statusCode, 400);
    assert.match(await bodyOf(r.res), /errorAt must be a non-negative integer/);
  });

  it('resumes from a seq still in the feed: only the missed changes follow', async () => {
    for (let i = 1; i <= 6; i++) await store.ban([ban(`192.0.2.${i}`)]);
    await store.unban([{ target: '192.0.2.2', at: T0, reason: 'manual' }]);
    const r = await stream(4);
    await r.waitFor((m) => m.seq === 7);
    assert.deepEqual(
      r.messages.map((m) => [m.type, m.seq]),
      [
        ['resume', 4],
        ['ban', 5],
        ['ban', 6],
        ['unban', 7],
      ],
    );
    assert.equal(api.agents()[0]?.ackSeq, 4);
    // Up to date already: a resume line and nothing else until something changes.
    const current = await stream(7);
    await current.waitFor((m) => m.type === 'resume');
    await store.ban([ban('203.0.113.9')]);
    const next = await current.waitFor(isBan('203.0.113.9'));
    assert.equal(next.seq, 8);
    assert.deepEqual(
      current.messages.map((m) => m.type),
      ['resume', 'ban'],
    );
  });

  it('a change written while the agent catches up arrives once, in order', async () => {
    await store.ban(Array.from({ length: 300 }, (_, i) => ban(`10.0.${i >> 8}.${i & 255}`)));
    const reading = stream(1);
    // Written while the catch-up is in flight: it must appear exactly once, after seq 300.
    const writing = store.ban([ban('203.0.113.1')]);
    const r = await reading;
    await writing;
    await r.waitFor(isBan('203.0.113.1'));
    const seqs = r.messages.filter((m) => m.type !== 'ping').map((m) => m.seq);
    assert.deepEqual(
      seqs,
      Array.from({ length: 301 }, (_, i) => i + 1),
    );
  });

  it('sends a snapshot when the seq is older than the feed keeps, or from another store', async () => {
    await api.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
    await setUp({ feedRetention: 5 });
    for (let i = 1; i <= 12; i++) await store.ban([ban(`192.0.2.${i}`)]);
    const old = await stream(3);
    const first = await old.waitFor(() => true);
    assert.ok(first.type === 'snapshot');
    assert.equal(first.seq, 12);
    assert.equal(first.bans.length, 12);
    const future = await stream(99);
    assert.equal((await future.waitFor(() => true)).type, 'snapshot');
    // Still in the feed: a resume.
    const recent = await stream(8);
    assert.equal((await recent.waitFor(() => true)).type, 'resume');
    await recent.waitFor((m) => m.seq === 12);
  });

  it('refuses a missing or wrong token with 401, counts and logs it with the peer', async () => {
    for (const t of [null, 'not-a-token', `${token}x`]) {
      const { res } = await get(port, '/v1/agent/stream', t);
      assert.equal(res.statusCode, 401);
      assert.match(String(res.headers['www-authenticate']), /^Bearer/);
      assert.match(await bodyOf(res), /FLEETBAN_UNAUTHORIZED/);
    }
    const { res } = await get(port, '/v1/nftables', 'wrong');
    res.resume();
    assert.equal(res.statusCode, 401);
    assert.equal(api.authFailures, 4);
    const metric = api.metrics().find((m) => m.name === 'fleetban_agent_auth_failures_total');
    assert.equal(metric?.samples[0]?.value, 4);
    // The first failure is logged at once with the peer; the others only in the interval's summary.
    const refused = logs.filter((l) => l.level === 'warn' && /token/.test(l.msg));
    assert.equal(refused.length, 1);
    assert.equal((refused[0]?.obj as { remote?: string }).remote, '127.0.0.1');
    // A bad query is a 400, not a crash.
    const bad = await get(port, '/v1/agent/stream?since=-1', token);
    bad.res.resume();
    assert.equal(bad.res.statusCode, 400);
  });

  it('removing an agent closes its stream and its token stops working', async () => {
    const r = await stream();
    await r.waitFor((m) => m.type === 'snapshot');
    await api.removeAgent('web-01');
    await r.closed;
    assert.equal(api.endedCount(StreamEnd.REMOVED), 1);
    const { res } = await get(port, '/v1/agent/stream', token);
    res.resume();
    assert.equal(res.statusCode, 401);
    assert.deepEqual(api.agents(), []);
  });

  it('a newer stream of the same agent replaces the older one', async () => {
    const a = await stream();
    await a.waitFor((m) => m.type === 'snapshot');
    const b = await stream(0);
    await b.waitFor((m) => m.type === 'snapshot');
    await a.closed;
    assert.equal(api.endedCount(StreamEnd.REPLACED), 1);
    assert.equal(api.agents()[0]?.connected, true);
  });

  it('drops a reader that stops reading, and it catches up from the feed on reconnect', async () => {
    await api.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
    await setUp({ maxQueued: 20, feedRetention: 1_000_000 });
    // Not empty, so the snapshot's seq is one an agent can resume from (0 means "send a snapshot").
    await store.ban([ban('192.0.2.1')]);
    const r = await stream();
    await r.waitFor((m) => m.type === 'snapshot');
    const dropped = new Promise<string>((resolve) => {
      api.onStreamEnd((_agent, reason) => {
        resolve(reason);
      });
    });
    const state = { done: false };
    void dropped.then(() => {
      state.done = true;
    });
    // The agent stops reading; large lines fill the socket buffers quickly.
    r.res.pause();
    const bigJail = 'j'.repeat(4096);
    let written = 0;
    for (let batch = 0; batch < 400 && !state.done; batch++) {
      await store.ban(
        Array.from({ length: 50 }, (_, i) => ban(`10.${batch >> 8}.${batch & 255}.${i}`, bigJail)),
      );
      written += 50;
    }
    assert.equal(await dropped, StreamEnd.SLOW);
    assert.equal(api.endedCount(StreamEnd.SLOW), 1);
    assert.ok(written < 20_000, `dropped only after ${written} bans`);
    const slowMetric = api
      .metrics()
      .find((m) => m.name === 'fleetban_agent_streams_ended_total')
      ?.samples.find((s) => s.labels?.['reason'] === 'slow');
    assert.equal(slowMetric?.value, 1);
    // What the agent had applied before it stalled: it resumes from there and gets everything.
    const applied = r.lastSeq();
    r.close();
    const again = await stream(applied);
    assert.equal((await again.waitFor(() => true)).type, 'resume');
    const last = store.stats().lastSeq;
    await again.waitFor((m) => m.seq === last);
    const seqs = again.messages.filter((m): m is BanMessage => m.type === 'ban').map((m) => m.seq);
    assert.equal(seqs.length, last - applied);
    assert.equal(seqs[0], applied + 1);
  });

  it('sends pings carrying the last seq', async () => {
    await api.close();
    api = new AgentApi({
      store,
      registry,
      clock: new ManualClock(T0),
      logger: recordingLogger(logs),
      address: '127.0.0.1',
      port: 0,
      pingIntervalMs: 20,
      maxQueued: 100,
    });
    port = (await api.start()).port;
    await store.ban([ban('192.0.2.1')]);
    const r = await stream();
    const ping = await r.waitFor((m) => m.type === 'ping');
    assert.deepEqual(ping, { type: 'ping', seq: 1 });
  });
});
