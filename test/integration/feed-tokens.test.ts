// Read-only feed tokens on the agent API over real HTTP: both feeds read (ETag/304 kept), everything else 403, removed 401, agent tokens unchanged, bad tokens still limited.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AuthLimitOptions } from '../../src/control/auth-limiter.js';
import { ManualClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { AgentApi } from '../../src/distribute/agent-api.js';
import { AgentRegistry } from '../../src/distribute/agent-registry.js';
import { FEED_TOKENS, TokenRegistry } from '../../src/distribute/token-registry.js';
import { MemoryBanStore } from '../../src/store/memory-store.js';
import { T0, openStream, testBan } from './agent-api-client.js';

const LIMIT: AuthLimitOptions = {
  maxFailures: 5,
  windowMs: 60_000,
  maxSources: 1000,
  logIntervalMs: 60_000,
};

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function call(
  port: number,
  path: string,
  options: {
    readonly method?: string;
    readonly headers?: Record<string, string>;
    readonly localAddress?: string;
  } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
        agent: false,
        ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

function errorOf(reply: Reply): { code: string; message: string } {
  return (JSON.parse(reply.body) as { error: { code: string; message: string } }).error;
}

describe('read-only feed tokens on the agent API', () => {
  let dir: string;
  let clock: ManualClock;
  let store: MemoryBanStore;
  let agents: AgentRegistry;
  let feeds: TokenRegistry;
  let api: AgentApi;
  let port: number;
  let agentToken: string;
  let feedToken: string;
  const peers: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetban-feeds-'));
    clock = new ManualClock(T0);
    store = new MemoryBanStore();
    await store.open();
    await store.ban([testBan('198.51.100.7'), testBan('2001:db8::/64', 'web')]);
    agents = new AgentRegistry(join(dir, 'agents.json'), clock);
    feeds = new TokenRegistry(join(dir, 'feeds.json'), clock, FEED_TOKENS);
    await agents.load();
    await feeds.load();
    api = new AgentApi({
      store,
      registry: agents,
      feeds,
      clock,
      logger: silentLogger,
      address: '127.0.0.1',
      port: 0,
      pingIntervalMs: 60_000,
      maxQueued: 1000,
      authLimit: LIMIT,
      onAgentPeer: (agent, address) => peers.push(`${agent}@${address}`),
    });
    port = (await api.start()).port;
    agentToken = (await agents.add('edge-1')).token;
    feedToken = (await feeds.add('fortigate')).token;
  });

  after(async () => {
    await api.close();
    await agents.flush();
    await feeds.flush();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads /v1/blocklist.txt, with ETag and 304, by Bearer and by basic authentication', async () => {
    clock.advance(1000);
    const first = await call(port, '/v1/blocklist.txt', { headers: bearer(feedToken) });
    assert.equal(first.status, 200, first.body);
    assert.deepEqual(first.body.split('\n').filter(Boolean).sort(), [
      '198.51.100.7',
      '2001:db8::/64',
    ]);
    const etag = first.headers.etag;
    assert.ok(typeof etag === 'string' && etag !== '');
    const again = await call(port, '/v1/blocklist.txt', {
      headers: { ...bearer(feedToken), 'if-none-match': etag },
    });
    assert.equal(again.status, 304);
    assert.equal(again.body, '');
    // A FortiGate or Palo Alto sends the token as the basic-auth password.
    const basic = Buffer.from(`anyone:${feedToken}`).toString('base64');
    const viaBasic = await call(port, '/v1/blocklist.txt?family=4', {
      headers: { authorization: `Basic ${basic}` },
    });
    assert.equal(viaBasic.status, 200);
    assert.equal(viaBasic.body, '198.51.100.7\n');
    // A new ban changes the tag: the gateway's copy is stale.
    await store.ban([testBan('203.0.113.9')]);
    const changed = await call(port, '/v1/blocklist.txt', {
      headers: { ...bearer(feedToken), 'if-none-match': etag },
    });
    assert.equal(changed.status, 200);
    assert.match(changed.body, /^203\.0\.113\.9$/m);
    // Last use recorded, as for agents; a gateway's address does not join the never-ban list.
    assert.equal(feeds.get('fortigate')?.lastContact, T0 + 1000);
    assert.deepEqual(peers, []);
  });

  it('reads /v1/nftables as a whole nftables JSON document', async () => {
    const reply = await call(port, '/v1/nftables?mode=gateway', { headers: bearer(feedToken) });
    assert.equal(reply.status, 200, reply.body);
    assert.equal(reply.headers['content-type'], 'application/json; charset=utf-8');
    const doc = JSON.parse(reply.body) as { nftables: { add?: { element?: { name: string } } }[] };
    const sets = doc.nftables.flatMap((c) => (c.add?.element ? [c.add.element] : []));
    const v4 = JSON.stringify(sets.find((e) => e.name === 'banned_v4'));
    assert.match(v4, /198\.51\.100\.7/);
    assert.match(v4, /203\.0\.113\.9/);
    assert.match(reply.body, /"hook": ?"forward"/);
  });

  it('is refused with 403 and a message saying what it may read on every other route', async () => {
    const failures = api.authFailures;
    const stream = await call(port, '/v1/agent/stream?size=0', { headers: bearer(feedToken) });
    assert.equal(stream.status, 403);
    assert.equal(errorOf(stream).code, 'FLEETBAN_FORBIDDEN');
    assert.match(
      errorOf(stream).message,
      /^the token of feed fortigate is read-only: it reads GET \/v1\/blocklist\.txt and GET \/v1\/nftables on the agent API, not the agent stream \(that takes an agent token: fleetban agents add NAME\)$/,
    );
    const posted = await call(port, '/v1/agent/stream', {
      method: 'POST',
      headers: bearer(feedToken),
    });
    assert.equal(posted.status, 403);
    assert.equal(errorOf(posted).message, errorOf(stream).message);
    const others: [string, string][] = [
      ['POST', '/v1/nftables'],
      ['PUT', '/v1/blocklist.txt'],
      ['DELETE', '/v1/blocklist.txt'],
      ['GET', '/v1/agents'],
      ['POST', '/v1/bans'],
      ['GET', '/metrics'],
      ['GET', '/'],
    ];
    for (const [method, path] of others) {
      const reply = await call(port, path, { method, headers: bearer(feedToken) });
      assert.equal(reply.status, 403, `${method} ${path}: ${reply.body}`);
      assert.match(errorOf(reply).message, new RegExp(`read-only: .* not ${method} ${path}$`));
    }
    // Not guesses: a gateway pointed at the wrong route does not lock its own address out.
    assert.equal(api.authFailures, failures);
    const value = (name: string) => api.metrics().find((m) => m.name === name)?.samples[0]?.value;
    assert.equal(value('fleetban_feed_token_refused_total'), others.length + 2);
    assert.equal(value('fleetban_feeds_registered'), 1);
    // With an agent token, or none, an unknown route is still just not found.
    assert.equal((await call(port, '/v1/agents', { headers: bearer(agentToken) })).status, 404);
    assert.equal((await call(port, '/v1/agents')).status, 404);
    assert.deepEqual(peers, [], 'no refused request counts as an agent contact');
  });

  it('leaves agent tokens as they were: the stream and both feeds', async () => {
    const stream = await openStream({ port, token: agentToken, size: 0 });
    const snapshot = await stream.waitFor(() => true);
    assert.equal(snapshot.type, 'snapshot');
    stream.close();
    await stream.closed;
    const list = await call(port, '/v1/blocklist.txt', { headers: bearer(agentToken) });
    assert.equal(list.status, 200);
    const etag = String(list.headers.etag);
    const unchanged = await call(port, '/v1/blocklist.txt', {
      headers: { ...bearer(agentToken), 'if-none-match': etag },
    });
    assert.equal(unchanged.status, 304);
    assert.equal((await call(port, '/v1/nftables', { headers: bearer(agentToken) })).status, 200);
    assert.deepEqual(peers.slice(0, 1), ['edge-1@127.0.0.1']);
  });

  it('answers 401 once the feed is removed, and the digest leaves the file', async () => {
    const { token } = await feeds.add('pfsense');
    assert.equal((await call(port, '/v1/nftables', { headers: bearer(token) })).status, 200);
    await feeds.remove('pfsense');
    const refused = await call(port, '/v1/nftables', { headers: bearer(token) });
    assert.equal(refused.status, 401);
    assert.equal(errorOf(refused).message, 'a valid agent or feed token is required');
    assert.match(String(refused.headers['www-authenticate']), /^Bearer realm=/);
    // Unknown now, so no longer told apart on other routes either.
    assert.equal((await call(port, '/v1/agents', { headers: bearer(token) })).status, 404);
    await feeds.flush();
    const file = await readFile(join(dir, 'feeds.json'), 'utf8');
    assert.ok(!file.includes(token));
    assert.doesNotMatch(file, /pfsense/);
    assert.match(file, /"fortigate"/);
  });

  it('limits bad tokens as before: 429 past the limit, even for a good feed token from that source', async () => {
    const source = '127.0.0.3';
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT.maxFailures + 3; i++) {
      const reply = await call(port, '/v1/blocklist.txt', {
        headers: bearer(`guess-${i}`),
        localAddress: source,
      });
      statuses.push(reply.status);
    }
    assert.deepEqual(statuses, [
      ...Array<number>(LIMIT.maxFailures).fill(401),
      ...Array<number>(3).fill(429),
    ]);
    const blocked = await call(port, '/v1/blocklist.txt', {
      headers: bearer(feedToken),
      localAddress: source,
    });
    assert.equal(blocked.status, 429);
    assert.ok(Number(blocked.headers['retry-after']) >= 1);
    // Another source with the feed token is served.
    const other = await call(port, '/v1/blocklist.txt', {
      headers: bearer(feedToken),
      localAddress: '127.0.0.4',
    });
    assert.equal(other.status, 200);
  });
});
