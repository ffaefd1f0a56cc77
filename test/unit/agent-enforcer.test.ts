// The enforcer against the in-memory firewall that refuses what nft 1.0.6 refuses: no root needed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { parseCidr, type IpFamily } from '../../src/core/ip.js';
import { silentLogger } from '../../src/core/logger.js';
import type { BanEntry } from '../../src/distribute/protocol.js';
import { Enforcer } from '../../src/agent/enforcer.js';
import { Guard } from '../../src/agent/guard.js';
import { AgentCounter, AgentMetrics } from '../../src/agent/metrics.js';
import { BAN_SET_SPECS, BAN_SETS, setElement } from '../../src/nft/element.js';
import { MemoryFirewall } from '../../src/nft/memory-firewall.js';
import { renderReplace, type Hook } from '../../src/nft/render.js';
import { normaliseBans } from '../../src/nft/normalise.js';
import { olderLayoutDocument } from './firewall-contract.js';

function ban(target: string, end: number | null): BanEntry {
  return { target, family: target.includes(':') ? 6 : 4, end, jail: 'sshd' };
}

function setup(
  options: { allow?: string[]; batchMax?: number; windowMs?: number; hooks?: Hook[] } = {},
) {
  const clock = new ManualClock();
  const firewall = new MemoryFirewall(clock);
  const metrics = new AgentMetrics();
  const allow = (options.allow ?? []).map((t) => parseCidr(t)).filter((c) => c !== null);
  const enforcer = new Enforcer({
    firewall,
    ruleset: {
      mode: 'host',
      verdict: 'drop',
      hooks: options.hooks ?? [],
      ports: [],
      udpPorts: [],
      interface: '',
    },
    clock,
    logger: silentLogger,
    metrics,
    guard: new Guard({ 'own address': [], 'server address': [], allowlist: allow }),
    batchWindowMs: options.windowMs ?? 5,
    batchMax: options.batchMax ?? 5000,
    toleranceMs: 10_000,
  });
  /** Every element of the family's sets, by key. */
  const listed = async (family: IpFamily = 4): Promise<Map<string, number | null>> => {
    const out = new Map<string, number | null>();
    for (const set of BAN_SETS.filter((s) => BAN_SET_SPECS[s].family === family)) {
      for (const e of (await firewall.list(set))?.elements.values() ?? []) out.set(e.key, e.end);
    }
    return out;
  };
  return { clock, firewall, metrics, enforcer, listed };
}

test('a snapshot is one transaction; a prefix and an address inside it apply without error, each in its set', async () => {
  const { clock, firewall, enforcer, listed } = setup();
  const now = clock.now();
  await enforcer.replaceAll([
    ban('198.51.100.7', now + 60_000),
    ban('198.51.100.0/24', now + 3_600_000),
    ban('203.0.113.5', null),
    ban('2001:db8::/64', now + 60_000),
  ]);
  assert.equal(firewall.applied.length, 1);
  assert.equal(firewall.refused, 0);
  assert.deepEqual(
    await listed(4),
    new Map([
      ['198.51.100.7', now + 60_000],
      ['203.0.113.5', null],
      ['198.51.100.0/24', now + 3_600_000],
    ]),
  );
  assert.deepEqual([...(await listed(6)).keys()], ['2001:db8::/64']);
  assert.deepEqual([...firewall.chains()], [['input', 5]]);
});

test('changes within the window share one transaction; batchMax flushes without waiting', async () => {
  const { clock, firewall, enforcer, listed } = setup({ windowMs: 50, batchMax: 3 });
  await enforcer.replaceAll([]);
  const end = clock.now() + 600_000;
  enforcer.ban(ban('192.0.2.1', end));
  enforcer.ban(ban('192.0.2.2', end));
  enforcer.unban('192.0.2.1');
  await enforcer.idle();
  // The third change reached batchMax: applied at once, all three folded into one batch.
  assert.equal(firewall.applied.length, 2);
  assert.deepEqual([...(await listed()).keys()], ['192.0.2.2']);
  enforcer.ban(ban('192.0.2.3', end));
  enforcer.ban(ban('192.0.2.4', end));
  await enforcer.flush();
  assert.equal(firewall.applied.length, 3);
  assert.deepEqual([...(await listed()).keys()].sort(), ['192.0.2.2', '192.0.2.3', '192.0.2.4']);
});

test('a prefix replaces the prefixes it covers, and they come back when it is lifted; addresses stay', async () => {
  const { clock, firewall, enforcer, listed } = setup();
  const end = clock.now() + 600_000;
  await enforcer.replaceAll([
    ban('198.51.100.0/26', end),
    ban('198.51.100.64/26', end),
    ban('198.51.100.7', end),
  ]);
  enforcer.ban(ban('198.51.100.0/24', end));
  await enforcer.flush();
  assert.deepEqual([...(await listed()).keys()].sort(), ['198.51.100.0/24', '198.51.100.7']);
  enforcer.ban(ban('198.51.100.128/26', end));
  await enforcer.flush();
  assert.deepEqual([...(await listed()).keys()].sort(), ['198.51.100.0/24', '198.51.100.7']);
  enforcer.unban('198.51.100.0/24');
  await enforcer.flush();
  assert.deepEqual([...(await listed()).keys()].sort(), [
    '198.51.100.0/26',
    '198.51.100.128/26',
    '198.51.100.64/26',
    '198.51.100.7',
  ]);
  assert.equal(firewall.refused, 0);
});

test('a wrong picture of the kernel (set flushed by hand) is repaired: list, re-diff, retry', async () => {
  const { clock, firewall, enforcer, listed, metrics } = setup();
  const end = clock.now() + 600_000;
  await enforcer.replaceAll([ban('192.0.2.1', end), ban('192.0.2.2', end)]);
  firewall.flushByHand('banned_v4');
  enforcer.unban('192.0.2.1'); // deleting it now would fail: it is gone
  await enforcer.flush();
  assert.equal(firewall.refused, 1);
  assert.equal(metrics.get(AgentCounter.NFT_FAILURES), 1);
  assert.deepEqual([...(await listed()).keys()], ['192.0.2.2']);
});

test('reconcile restores a flushed set and re-asserts a drifted timeout', async () => {
  const { clock, firewall, enforcer, listed, metrics } = setup();
  const now = clock.now();
  await enforcer.replaceAll([
    ban('192.0.2.1', now + 600_000),
    ban('192.0.2.2', now + 3_600_000),
    ban('2001:db8::9', null),
  ]);
  firewall.flushByHand('banned_v4');
  // Someone re-added one element by hand with a short timeout.
  await firewall.apply({
    nftables: [
      {
        add: {
          element: {
            family: 'inet',
            table: 'fleetban',
            name: 'banned_v4',
            elem: [{ elem: { val: '192.0.2.2', timeout: 5 } }],
          },
        },
      },
    ],
  });
  const result = await enforcer.reconcile();
  assert.deepEqual(result, { added: 2, removed: 0, rebuilt: false });
  assert.deepEqual(
    await listed(),
    new Map([
      ['192.0.2.1', now + 600_000],
      ['192.0.2.2', now + 3_600_000],
    ]),
  );
  assert.equal(metrics.get(AgentCounter.RECONCILE_REPAIRS), 2);
  assert.deepEqual(await enforcer.reconcile(), { added: 0, removed: 0, rebuilt: false });
});

test('kernel timeouts lift bans on their own; an unban after that is not an error', async () => {
  const { clock, firewall, enforcer, listed } = setup();
  await enforcer.replaceAll([ban('192.0.2.1', clock.now() + 10_000), ban('192.0.2.2', null)]);
  clock.advance(11_000);
  assert.deepEqual([...(await listed()).keys()], ['192.0.2.2']);
  enforcer.unban('192.0.2.1');
  await enforcer.flush();
  assert.equal(firewall.refused, 0);
});

test('own, server and allowlisted addresses are never banned, not even inside a prefix', async () => {
  const { clock, enforcer, listed, metrics } = setup({ allow: ['192.0.2.0/28'] });
  const end = clock.now() + 600_000;
  await enforcer.replaceAll([
    ban('192.0.2.5', end),
    ban('192.0.0.0/16', end),
    ban('192.0.2.200', end),
  ]);
  enforcer.ban(ban('192.0.2.6', end));
  await enforcer.flush();
  assert.deepEqual([...(await listed()).keys()], ['192.0.2.200']);
  assert.equal(metrics.get(AgentCounter.PROTECTED_SKIPPED), 3);
  const own = new Guard({
    'own address': [parseCidr('192.0.2.200') ?? assert.fail('cidr')],
    'server address': [],
    // As the agent builds it: the allow list stays (a guard without it would let .5 and .6 back).
    allowlist: [parseCidr('192.0.2.0/28') ?? assert.fail('cidr')],
  });
  await enforcer.reconcile(own);
  assert.deepEqual([...(await listed()).keys()], []);
});

test('before the first snapshot, reconcile leaves the kernel bans alone', async () => {
  const { clock, firewall, enforcer, listed } = setup();
  await firewall.apply({
    nftables: [
      { add: { table: { family: 'inet', name: 'fleetban' } } },
      { add: { set: { family: 'inet', table: 'fleetban', name: 'banned_v4' } } },
      { add: { set: { family: 'inet', table: 'fleetban', name: 'banned_v6' } } },
      {
        add: {
          element: {
            family: 'inet',
            table: 'fleetban',
            name: 'banned_v4',
            elem: [{ elem: { val: '192.0.2.1', timeout: 60 } }],
          },
        },
      },
    ],
  });
  await enforcer.reconcile();
  assert.deepEqual([...(await listed()).keys()], ['192.0.2.1']);
  // adopt: the remembered bans take over without a full rebuild.
  await enforcer.adopt([ban('192.0.2.1', clock.now() + 60_000), ban('192.0.2.3', null)]);
  assert.deepEqual([...(await listed()).keys()].sort(), ['192.0.2.1', '192.0.2.3']);
});

test('an older table put back behind the agent is migrated by the next snapshot, its bans kept meanwhile', async () => {
  const { clock, firewall, enforcer, listed } = setup();
  const end = clock.now() + 600_000;
  await enforcer.replaceAll([ban('192.0.2.1', end)]);
  // An older fleetban's gateway document applied by hand: interval banned_v4/banned_v6.
  const older = ['198.51.100.0/24', '2001:db8::/64'].map((t) =>
    setElement(parseCidr(t) ?? assert.fail(t), end),
  );
  await firewall.apply(olderLayoutDocument(older, clock.now()));
  const before = firewall.applied.length;
  await enforcer.replaceAll([ban('192.0.2.1', end), ban('198.51.100.0/24', end)]);
  // Refused refill, then the two migration steps, then the refill.
  assert.equal(firewall.refused, 1);
  assert.equal(firewall.applied.length - before, 3);
  assert.deepEqual([...(await listed(4)).keys()].sort(), ['192.0.2.1', '198.51.100.0/24']);
  assert.deepEqual([...(await listed(6)).keys()], []);
  assert.equal((await firewall.list('banned_v4'))?.interval, false);
});

test('reconfigure (a reload): chains replaced over the kept sets; a wider allow list lifts a ban, a narrower one brings it back', async () => {
  const { clock, firewall, enforcer, listed } = setup({ allow: ['198.51.100.7'] });
  const now = clock.now();
  await enforcer.replaceAll([ban('198.51.100.7', now + 60_000), ban('203.0.113.5', null)]);
  assert.deepEqual([...(await listed()).keys()], ['203.0.113.5'], 'the allow list holds back .7');
  const guard = (allow: string[]) =>
    new Guard({
      'own address': [],
      'server address': [],
      allowlist: allow.map((t) => parseCidr(t)).filter((c) => c !== null),
    });
  const docker = {
    mode: 'host',
    verdict: 'drop',
    hooks: ['input', 'prerouting'],
    ports: [22],
    udpPorts: [53],
    interface: '',
  } as const;
  const batches = firewall.applied.length;
  await enforcer.reconfigure(docker, guard([]));
  assert.deepEqual(
    [...firewall.chains()],
    [
      ['input', 10],
      ['prerouting', 10],
    ],
    'a TCP and a UDP rule per set in each chain',
  );
  assert.deepEqual([...(await listed()).keys()].sort(), ['198.51.100.7', '203.0.113.5']);
  assert.equal(firewall.applied.length, batches + 2, 'the chains, then the batch of the guard');
  assert.equal(
    JSON.stringify(firewall.applied[batches]).includes('"flush":{"set"'),
    false,
    'the sets are kept as they are',
  );
  await enforcer.reconfigure({ ...docker, hooks: [], udpPorts: [] }, guard(['203.0.113.0/24']));
  assert.deepEqual([...firewall.chains()], [['input', 5]]);
  assert.deepEqual([...(await listed()).keys()], ['198.51.100.7']);
  // An unban of a refused ban is remembered: a later reload does not bring it back.
  enforcer.unban('203.0.113.5');
  await enforcer.flush();
  await enforcer.reconfigure({ ...docker, hooks: [] }, guard([]));
  assert.deepEqual([...(await listed()).keys()], ['198.51.100.7']);
  assert.equal(firewall.refused, 0);
});

test('an older table adopted by an agent with hooks input + prerouting: migrated, both chains hold every set', async () => {
  const { clock, firewall, enforcer, listed } = setup({ hooks: ['input', 'prerouting'] });
  const end = clock.now() + 600_000;
  const older = ['198.51.100.0/24', '192.0.2.1'].map((t) =>
    setElement(parseCidr(t) ?? assert.fail(t), end),
  );
  await firewall.apply(olderLayoutDocument(older, clock.now()));
  await enforcer.adopt([ban('198.51.100.0/24', end), ban('192.0.2.1', end)]);
  assert.equal(firewall.refused, 0);
  assert.deepEqual([...firewall.chains()].sort(), [
    ['input', 5],
    ['prerouting', 5],
  ]);
  assert.deepEqual([...(await listed(4)).keys()].sort(), ['192.0.2.1', '198.51.100.0/24']);
});

test('reconfigure with the kernel picture unknown (a table of an earlier run, no snapshot yet) lists it and replaces the chains', async () => {
  const { clock, firewall, enforcer, listed } = setup();
  const end = clock.now() + 600_000;
  const sets = normaliseBans([{ target: '192.0.2.1', end }], clock.now()).sets;
  const host = {
    mode: 'host',
    verdict: 'drop',
    hooks: [],
    ports: [],
    udpPorts: [],
    interface: '',
  } as const;
  await firewall.apply(renderReplace(host, sets, clock.now()));
  const guard = new Guard({ 'own address': [], 'server address': [], allowlist: [] });
  await enforcer.reconfigure({ ...host, hooks: ['prerouting'] }, guard);
  assert.deepEqual([...firewall.chains()], [['prerouting', 5]]);
  assert.deepEqual([...(await listed()).keys()], ['192.0.2.1'], 'the earlier bans stay');
});
