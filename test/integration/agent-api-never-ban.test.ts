// The agent API withholds bans that cover never-ban addresses: snapshot, live changes, list growth, agent peers, nftables.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { parseCidr, type Cidr } from '../../src/core/ip.js';
import { silentLogger } from '../../src/core/logger.js';
import { AgentApi } from '../../src/distribute/agent-api.js';
import { AgentRegistry } from '../../src/distribute/agent-registry.js';
import type { StreamMessage } from '../../src/distribute/protocol.js';
import { NeverBanList } from '../../src/server/never-ban.js';
import { LevelBanStore } from '../../src/store/level-store.js';
import type { NewBan } from '../../src/store/store.js';
import { bodyOf, get, openStream, T0, testBan } from './agent-api-client.js';

const ban = (target: string): NewBan => testBan(target, 'sshd', 60);

function cidr(text: string): Cidr {
  return parseCidr(text) ?? assert.fail(text);
}

let dir: string;
let store: LevelBanStore;
let api: AgentApi;
let registry: AgentRegistry;
let list: NeverBanList;
let port: number;
let token: string;
const peers = new Set<string>();

const sources = (admin: string[]) => ({
  listen: [],
  allowedSenders: [],
  adminNetworks: admin.map(cidr),
  interfaces: () => [],
});

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetban-neverban-'));
  store = new LevelBanStore(join(dir, 'db'));
  await store.open();
  // From an older store: a ban that covers an admin network.
  await store.ban([ban('203.0.113.0/24'), ban('192.0.2.7')]);
  const clock = new ManualClock(T0);
  registry = new AgentRegistry(join(dir, 'agents.json'), clock);
  await registry.load();
  list = new NeverBanList(sources(['203.0.113.0/28']));
  api = new AgentApi({
    store,
    registry,
    clock,
    logger: silentLogger,
    address: '127.0.0.1',
    port: 0,
    pingIntervalMs: 60_000,
    maxQueued: 10_000,
    withhold: list,
    onAgentPeer: (agent, address) => {
      peers.add(`${agent} ${address}`);
      list.addAgentPeer(agent, address);
    },
  });
  port = (await api.start()).port;
  token = (await api.addAgent('gw')).token;
});

after(async () => {
  await api.close();
  await registry.flush();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const snapshotTargets = (m: StreamMessage): string[] =>
  m.type === 'snapshot' ? m.bans.map((b) => b.target).sort() : assert.fail(m.type);

it('a snapshot, and a resume from before the server started, leave the covered ban out', async () => {
  const fresh = await openStream({ port, token });
  assert.deepEqual(snapshotTargets(await fresh.waitFor(() => true)), ['192.0.2.7']);
  fresh.close();
  // An agent that may hold 203.0.113.0/24 from the old store gets a snapshot, not a resume.
  const resuming = await openStream({ port, token, since: 1 });
  assert.deepEqual(snapshotTargets(await resuming.waitFor(() => true)), ['192.0.2.7']);
  resuming.close();
  const { res } = await get(port, '/v1/nftables', token);
  const doc = await bodyOf(res);
  assert.doesNotMatch(doc, /203\.0\.113/);
  assert.match(doc, /192\.0\.2\.7/);
  assert.ok(api.withheld.stream >= 2 && api.withheld.nftables === 1, JSON.stringify(api.withheld));
});

it('a live ban of a covered target goes out as an unban of it, keeping seq order', async () => {
  const s = await openStream({ port, token });
  await s.waitFor((m) => m.type === 'snapshot');
  const [stored] = await store.ban([ban('203.0.113.8/29')]);
  const m = await s.waitFor((x) => x.type !== 'ping' && x.type !== 'snapshot');
  assert.deepEqual(m, { type: 'unban', seq: stored?.seq, target: '203.0.113.8/29' });
  await store.ban([ban('198.51.100.1')]);
  const next = await s.waitFor((x) => x.type === 'ban');
  assert.equal(next.type === 'ban' ? next.ban.target : '', '198.51.100.1');
  s.close();
});

it('a growing list ends live streams; the agent comes back to a snapshot without the newly covered ban', async () => {
  const s = await openStream({ port, token });
  await s.waitFor((m) => m.type === 'snapshot');
  const since = s.lastSeq();
  list.reconfigure(sources(['203.0.113.0/28', '198.51.100.0/30']));
  await s.closed;
  const again = await openStream({ port, token, since });
  assert.deepEqual(snapshotTargets(await again.waitFor(() => true)), ['192.0.2.7']);
  again.close();
});

it('every authenticated request reports the address the agent connects from', () => {
  assert.deepEqual([...peers], ['gw 127.0.0.1']);
  assert.equal(list.covers('127.0.0.1'), true);
});
