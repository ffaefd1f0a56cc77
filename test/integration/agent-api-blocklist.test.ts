// GET /v1/blocklist.txt over real HTTP: lines and filters, never-ban bans left out, auth, ETag/304, gzip, 100,000 bans streamed.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gunzipSync } from 'node:zlib';
import { ManualClock } from '../../src/core/clock.js';
import { parseCidr, type Cidr } from '../../src/core/ip.js';
import { silentLogger } from '../../src/core/logger.js';
import { AgentApi } from '../../src/distribute/agent-api.js';
import { AgentRegistry } from '../../src/distribute/agent-registry.js';
import { NeverBanList } from '../../src/server/never-ban.js';
import { LevelBanStore } from '../../src/store/level-store.js';
import { MemoryBanStore } from '../../src/store/memory-store.js';
import type { BanStore, NewBan } from '../../src/store/store.js';
import { T0, testBan } from './agent-api-client.js';

const ban = (target: string, jail: string): NewBan => testBan(target, jail, null);

function cidr(text: string): Cidr {
  return parseCidr(text) ?? assert.fail(text);
}

interface Reply {
  readonly res: IncomingMessage;
  readonly body: Buffer;
}

/** One GET with the given headers; the whole body, undecoded. */
function fetch(port: number, path: string, headers: Record<string, string>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({ res, body: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function startApi(
  store: BanStore,
  dir: string,
  withhold?: NeverBanList,
): Promise<{ api: AgentApi; registry: AgentRegistry; port: number; token: string }> {
  const clock = new ManualClock(T0);
  const registry = new AgentRegistry(join(dir, 'agents.json'), clock);
  await registry.load();
  const api = new AgentApi({
    store,
    registry,
    clock,
    logger: silentLogger,
    address: '127.0.0.1',
    port: 0,
    pingIntervalMs: 60_000,
    maxQueued: 10_000,
    ...(withhold === undefined ? {} : { withhold }),
  });
  const port = (await api.start()).port;
  const token = (await api.addAgent('gateway')).token;
  return { api, registry, port, token };
}

const lines = (body: Buffer): string[] =>
  body
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .sort();

describe('GET /v1/blocklist.txt', () => {
  let dir: string;
  let store: LevelBanStore;
  let api: AgentApi;
  let registry: AgentRegistry;
  let port: number;
  let auth: Record<string, string>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetban-blocklist-'));
    store = new LevelBanStore(join(dir, 'db'));
    await store.open();
    await store.ban([
      ban('198.51.100.7', 'sshd'),
      ban('198.51.100.0/24', 'web'),
      ban('2001:db8::1', 'sshd'),
      ban('2001:db8:1::/64', 'web'),
      // Covers a never-ban network: must not reach any gateway.
      ban('203.0.113.0/24', 'sshd'),
    ]);
    const list = new NeverBanList({
      listen: [],
      allowedSenders: [],
      adminNetworks: [cidr('203.0.113.0/28')],
      interfaces: () => [],
    });
    ({ api, registry, port } = await startApi(store, dir, list).then((s) => {
      auth = { authorization: `Bearer ${s.token}` };
      return s;
    }));
  });

  after(async () => {
    await api.close();
    await registry.flush();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists every active ban once per line, canonical, without the withheld one', async () => {
    const before = api.withheld.blocklist;
    const { res, body } = await fetch(port, '/v1/blocklist.txt', auth);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(res.headers['cache-control'], 'no-cache');
    assert.equal(res.headers['content-encoding'], undefined);
    assert.match(body.toString('utf8'), /\n$/);
    assert.deepEqual(lines(body), [
      '198.51.100.0/24',
      '198.51.100.7',
      '2001:db8:1::/64',
      '2001:db8::1',
    ]);
    assert.equal(api.withheld.blocklist, before + 1);
  });

  it('filters by family and by jail, each with its own ETag', async () => {
    const cases: [string, string[]][] = [
      ['family=4', ['198.51.100.0/24', '198.51.100.7']],
      ['family=6', ['2001:db8:1::/64', '2001:db8::1']],
      ['jail=web', ['198.51.100.0/24', '2001:db8:1::/64']],
      ['jail=sshd&family=6', ['2001:db8::1']],
      ['jail=nosuchjail', []],
    ];
    const tags = new Set<string>();
    for (const [query, expected] of cases) {
      const { res, body } = await fetch(port, `/v1/blocklist.txt?${query}`, auth);
      assert.equal(res.statusCode, 200, query);
      assert.deepEqual(lines(body), expected, query);
      tags.add(String(res.headers.etag));
    }
    assert.equal(tags.size, cases.length, 'every filter has its own ETag');
  });

  it('refuses a bad family or jail with 400 and says why', async () => {
    for (const [query, message] of [
      ['family=5', /family must be 4 or 6/],
      ['family=', /family must be 4 or 6/],
      ['jail=a%20b', /jail must be a jail name/],
      ['jail=', /jail must be a jail name/],
    ] as const) {
      const { res, body } = await fetch(port, `/v1/blocklist.txt?${query}`, auth);
      assert.equal(res.statusCode, 400, query);
      const error = (JSON.parse(body.toString('utf8')) as { error: { message: string } }).error;
      assert.match(error.message, message, query);
    }
  });

  it('answers 401 without a token, or with a wrong one', async () => {
    const wrongBasic = `Basic ${Buffer.from('fleetban:nope').toString('base64')}`;
    for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: wrongBasic }]) {
      const { res } = await fetch(port, '/v1/blocklist.txt', headers);
      assert.equal(res.statusCode, 401);
      assert.match(String(res.headers['www-authenticate']), /^Bearer realm=.*, Basic realm=/);
    }
  });

  it('takes the agent token as the password of basic authentication, for gateways', async () => {
    const plain = await fetch(port, '/v1/blocklist.txt', auth);
    const token = String(auth['authorization']).replace(/^Bearer /, '');
    const basic = `Basic ${Buffer.from(`firewall:${token}`).toString('base64')}`;
    const viaBasic = await fetch(port, '/v1/blocklist.txt', { authorization: basic });
    assert.equal(viaBasic.res.statusCode, 200);
    assert.equal(viaBasic.body.toString('utf8'), plain.body.toString('utf8'));
  });

  it('answers a matching If-None-Match with 304, and 200 with a new ETag after a ban', async () => {
    const first = await fetch(port, '/v1/blocklist.txt', auth);
    const etag = String(first.res.headers.etag);
    assert.match(etag, /^"[^"]+"$/);
    for (const tag of [etag, `W/${etag}`, `"other", ${etag}`]) {
      const again = await fetch(port, '/v1/blocklist.txt', { ...auth, 'if-none-match': tag });
      assert.equal(again.res.statusCode, 304, tag);
      assert.equal(again.body.length, 0);
      assert.equal(again.res.headers.etag, etag);
    }
    const stale = await fetch(port, '/v1/blocklist.txt', { ...auth, 'if-none-match': '"other"' });
    assert.equal(stale.res.statusCode, 200);
    await store.ban([ban('192.0.2.99', 'sshd')]);
    const changed = await fetch(port, '/v1/blocklist.txt', { ...auth, 'if-none-match': etag });
    assert.equal(changed.res.statusCode, 200);
    assert.notEqual(changed.res.headers.etag, etag);
    assert.ok(lines(changed.body).includes('192.0.2.99'));
  });

  it('gzips when asked: the decoded body equals the plain one, and its ETag revalidates', async () => {
    const plain = await fetch(port, '/v1/blocklist.txt', auth);
    const zipped = await fetch(port, '/v1/blocklist.txt', {
      ...auth,
      'accept-encoding': 'deflate, gzip;q=0.8',
    });
    assert.equal(zipped.res.statusCode, 200);
    assert.equal(zipped.res.headers['content-encoding'], 'gzip');
    assert.match(String(zipped.res.headers.vary), /accept-encoding/i);
    assert.notEqual(zipped.res.headers.etag, plain.res.headers.etag);
    assert.deepEqual(lines(gunzipSync(zipped.body)), lines(plain.body));
    const refused = await fetch(port, '/v1/blocklist.txt', {
      ...auth,
      'accept-encoding': 'gzip;q=0',
    });
    assert.equal(refused.res.headers['content-encoding'], undefined);
    const revalidated = await fetch(port, '/v1/blocklist.txt', {
      ...auth,
      'accept-encoding': 'gzip',
      'if-none-match': String(zipped.res.headers.etag),
    });
    assert.equal(revalidated.res.statusCode, 304);
  });
});

describe('GET /v1/blocklist.txt with 100,000 bans', () => {
  const COUNT = 100_000;
  let dir: string;
  let store: MemoryBanStore;
  let api: AgentApi;
  let registry: AgentRegistry;
  let port: number;
  let token: string;
  /** Targets the route has taken from the store so far. */
  let taken = 0;
  /** Memory in use before the request, once measuring is on. */
  let baseline: number | null = null;
  /** Most memory in use above the baseline while the route was walking the list. */
  let peakGrowth = 0;
  const held = (): number => {
    (runInNewContext('gc') as () => void)();
    const m = process.memoryUsage();
    return m.heapUsed + m.external;
  };

  before(async () => {
    setFlagsFromString('--expose-gc');
    dir = await mkdtemp(join(tmpdir(), 'fleetban-blocklist-big-'));
    store = new MemoryBanStore();
    await store.open();
    const batch: NewBan[] = [];
    for (let i = 0; i < COUNT; i++) {
      // Long IPv6 text: a body of about 4 MB.
      const hex = i.toString(16).padStart(8, '0');
      batch.push(ban(`2001:db8:abcd:ef01:2345:6789:${hex.slice(0, 4)}:${hex.slice(4)}`, 'sshd'));
    }
    for (let i = 0; i < COUNT; i += 10_000) await store.ban(batch.slice(i, i + 10_000));
    const targets = store.activeTargets.bind(store);
    // Looks at memory while the route walks the list: a body built in memory would show there.
    store.activeTargets = function* measured(): IterableIterator<string> {
      for (const t of targets()) {
        taken++;
        if (baseline !== null && taken % 20_000 === 0)
          peakGrowth = Math.max(peakGrowth, held() - baseline);
        yield t;
      }
    };
    ({ api, registry, port, token } = await startApi(store, dir));
  });

  after(async () => {
    await api.close();
    await registry.flush();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('streams in chunks: memory never holds the body while the list is walked', async () => {
    const expected = createHash('sha256');
    for (const target of store.activeTargets()) expected.update(`${target}\n`);
    taken = 0;
    baseline = held();
    const started = Date.now();
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/v1/blocklist.txt',
          headers: { authorization: `Bearer ${token}` },
          agent: false,
        },
        resolve,
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(res.statusCode, 200);
    // The body is hashed and counted as it comes, not kept: what memory holds is the server's.
    const received = createHash('sha256');
    let bytes = 0;
    let chunks = 0;
    let firstChunkMs = -1;
    res.on('data', (c: Buffer) => {
      if (chunks === 0) firstChunkMs = Date.now() - started;
      chunks++;
      bytes += c.length;
      received.update(c);
    });
    await new Promise((resolve) => res.once('end', resolve));
    console.log(
      `blocklist: ${bytes} bytes in ${chunks} chunks in ${Date.now() - started} ms; first chunk ` +
        `after ${firstChunkMs} ms; peak memory growth while listing ${peakGrowth} bytes`,
    );
    assert.equal(received.digest('hex'), expected.digest('hex'), 'the body lists every ban once');
    assert.equal(taken, COUNT);
    assert.ok(chunks >= 10, `${chunks} chunks`);
    assert.ok(peakGrowth < bytes / 4, `memory grew ${peakGrowth} bytes for a ${bytes}-byte body`);
  });
});
