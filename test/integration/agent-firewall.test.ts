// The enforcer on real nft in a namespace: the same behaviours as the in-memory model, its speed, a mass unban, real packets dropped per set kind and across the layout migration.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { parseCidr } from '../../src/core/ip.js';
import { silentLogger } from '../../src/core/logger.js';
import type { BanEntry } from '../../src/distribute/protocol.js';
import { Enforcer } from '../../src/agent/enforcer.js';
import { Guard } from '../../src/agent/guard.js';
import { AgentCounter, AgentMetrics } from '../../src/agent/metrics.js';
import { DEFAULT_PLAN_LIMITS, type PlanLimits } from '../../src/nft/batch-plan.js';
import { BAN_SETS, setElement } from '../../src/nft/element.js';
import type { Firewall } from '../../src/nft/firewall.js';
import { NftFirewall } from '../../src/nft/nft.js';
import type { EnforceMode } from '../../src/nft/render.js';
import { waitFor } from '../helpers/wait.js';
import { olderLayoutDocument } from '../unit/firewall-contract.js';
import { Netns, requireNetns, runId } from './agent-netns-fixture.js';
import { ObservedFirewall } from './observed-firewall.js';
import { sendUdp, UdpCounter } from './udp-probe.js';

const netns = new Netns();
let ns = '';

before(async () => {
  await requireNetns();
  ns = await netns.add(`fbfw-${runId()}`);
});
after(() => netns.cleanup());

/** Real nft inside network namespace `inNs`. */
function nftIn(inNs: string): NftFirewall {
  return new NftFirewall({
    nftPath: 'nft',
    timeoutMs: 30_000,
    prefix: ['ip', 'netns', 'exec', inNs],
    clock: systemClock,
  });
}

function makeEnforcer(
  firewall: Firewall = nftIn(ns),
  mode: EnforceMode = 'both',
  planLimits: PlanLimits = DEFAULT_PLAN_LIMITS,
) {
  const metrics = new AgentMetrics();
  const enforcer = new Enforcer({
    firewall,
    ruleset: { mode, verdict: 'drop', hooks: [], ports: [], udpPorts: [], interface: '' },
    clock: systemClock,
    logger: silentLogger,
    metrics,
    guard: new Guard({ 'own address': [], 'server address': [], allowlist: [] }),
    batchWindowMs: 20,
    batchMax: 5000,
    toleranceMs: 10_000,
    planLimits,
  });
  return { firewall, enforcer, metrics };
}

function v4(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

test('real nft: prefix over prefix, flush by hand, expiry, unban of an expired element', async () => {
  const { firewall, enforcer, metrics } = makeEnforcer();
  const now = Date.now();
  const b = (target: string, end: number | null): BanEntry => ({
    target,
    family: target.includes(':') ? 6 : 4,
    end,
    jail: 't',
  });
  await enforcer.replaceAll([
    b('198.51.100.7', now + 600_000),
    b('198.51.100.0/25', now + 600_000),
    b('2001:db8::/64', null),
    b('203.0.113.1', now + 1500),
  ]);
  enforcer.ban(b('198.51.100.0/24', now + 600_000));
  enforcer.ban(b('198.51.100.9', now + 600_000));
  await enforcer.flush();
  const keys = async () => {
    const v4 = await firewall.list('banned_v4');
    const net = await firewall.list('banned_v4_net');
    return [...(v4?.elements.keys() ?? []), ...(net?.elements.keys() ?? [])].sort();
  };
  assert.deepEqual(await keys(), [
    '198.51.100.0/24',
    '198.51.100.7',
    '198.51.100.9',
    '203.0.113.1',
  ]);
  assert.deepEqual(
    [...((await firewall.list('banned_v6_64'))?.elements.keys() ?? [])],
    ['2001:db8::/64'],
  );
  await new Promise((r) => setTimeout(r, 2100)); // the kernel's own timeout is what is under test
  assert.deepEqual(await keys(), ['198.51.100.0/24', '198.51.100.7', '198.51.100.9']);
  enforcer.unban('203.0.113.1');
  enforcer.unban('198.51.100.0/24');
  await enforcer.flush();
  assert.deepEqual(await keys(), ['198.51.100.0/25', '198.51.100.7', '198.51.100.9']);
  await firewall.apply({
    nftables: [{ flush: { set: { family: 'inet', table: 'fleetban', name: 'banned_v4' } } }],
  });
  const r = await enforcer.reconcile();
  assert.equal(r.added, 2);
  assert.deepEqual(await keys(), ['198.51.100.0/25', '198.51.100.7', '198.51.100.9']);
  assert.equal(metrics.get(AgentCounter.NFT_FAILURES), 0);
});

test('real nft: 100,000-ban snapshot in one transaction, then a burst of 10,000 bans', async () => {
  const { firewall, enforcer, metrics } = makeEnforcer();
  const now = Date.now();
  const bans: BanEntry[] = [];
  for (let i = 0; i < 100_000; i++)
    bans.push({ target: v4(i), family: 4, end: now + 3_600_000 + i, jail: 't' });
  let t0 = performance.now();
  await enforcer.replaceAll(bans);
  const snapshotMs = performance.now() - t0;
  assert.equal(metrics.get(AgentCounter.NFT_BATCHES), 1);
  t0 = performance.now();
  for (let i = 0; i < 10_000; i++)
    enforcer.ban({ target: v4(200_000 + i), family: 4, end: now + 3_600_000, jail: 't' });
  await enforcer.flush();
  await enforcer.idle();
  const burstMs = performance.now() - t0;
  t0 = performance.now();
  const listed = await firewall.list('banned_v4');
  const listMs = performance.now() - t0;
  assert.equal(listed?.elements.size, 110_000);
  console.log(
    `# nft figures: snapshot 100k ${snapshotMs.toFixed(0)} ms, burst 10k ${burstMs.toFixed(0)} ms ` +
      `(${metrics.get(AgentCounter.NFT_BATCHES) - 1} batches), list 110k ${listMs.toFixed(0)} ms`,
  );
  // Targets from the issue, with headroom for a shared 2-core machine under parallel tests.
  assert.ok(snapshotMs < 6000, `snapshot took ${snapshotMs.toFixed(0)} ms`);
  const r = await enforcer.reconcile();
  assert.deepEqual(r, { added: 0, removed: 0, rebuilt: false });
});

test('real nft: a large snapshot into a namespace with no table goes in chunks, every kind of set', async () => {
  const fresh = await netns.add(`fbfill-${runId()}`);
  const limits = { ...DEFAULT_PLAN_LIMITS, fillChunk: 2_000 };
  const { firewall, enforcer, metrics } = makeEnforcer(nftIn(fresh), 'both', limits);
  const now = Date.now();
  const end = now + 3_600_000;
  const bans: BanEntry[] = [];
  for (let i = 0; i < 5_000; i++) bans.push({ target: v4(i), family: 4, end, jail: 't' });
  for (let i = 0; i < 1_500; i++)
    bans.push({ target: `2001:db8:${i.toString(16)}::/64`, family: 6, end, jail: 't' });
  for (let i = 0; i < 400; i++)
    bans.push({ target: `2001:db8:ffff::${i.toString(16)}`, family: 6, end: null, jail: 't' });
  // The /24 inside the /16 is left to the /16: nft refuses overlapping intervals.
  for (const target of ['198.51.0.0/16', '198.51.100.0/24', '203.0.113.0/24'])
    bans.push({ target, family: 4, end, jail: 't' });
  bans.push({ target: '2001:db8:8000::/33', family: 6, end, jail: 't' });
  await enforcer.replaceAll(bans);
  // 6,900 hash-set elements in chunks of 2,000: four transactions, the prefixes with the last.
  assert.equal(metrics.get(AgentCounter.NFT_BATCHES), 4);
  const sizes: Record<string, number | undefined> = {};
  for (const set of BAN_SETS) sizes[set] = (await firewall.list(set))?.elements.size;
  assert.deepEqual(sizes, {
    banned_v4: 5_000,
    banned_v6: 400,
    banned_v6_64: 1_500,
    banned_v4_net: 2,
    banned_v6_net: 1,
  });
  assert.deepEqual(await enforcer.reconcile(), { added: 0, removed: 0, rebuilt: false });
  // A later snapshot refills the kept sets in one transaction, as before.
  await enforcer.replaceAll(bans.slice(0, 3_000));
  assert.equal(metrics.get(AgentCounter.NFT_BATCHES), 5);
  assert.equal((await firewall.list('banned_v4'))?.elements.size, 3_000);
  assert.equal((await firewall.list('banned_v6_64'))?.elements.size, 0);
});

// In this file, not its own: its bounds must not share the machine with the 100,000-ban test above.
const BANS = 50_000;
const WAVE = 5_000;
const NEW_BAN = '203.0.113.77';

test('real nft: unban of 50,000 bans while a new ban arrives', async () => {
  // A namespace of its own: setting up must not first delete the 110,000 elements left above.
  const own = await netns.add(`fbmu-${runId()}`);
  const firewall = new ObservedFirewall(nftIn(own));
  const { enforcer, metrics } = makeEnforcer(firewall, 'host');
  try {
    const now = Date.now();
    const bans: BanEntry[] = [];
    for (let i = 0; i < BANS; i++)
      bans.push({ target: v4(i), family: 4, end: now + 3_600_000, jail: 't' });
    await enforcer.replaceAll(bans);
    assert.equal((await firewall.list('banned_v4'))?.elements.size, BANS);

    // `unban --all` reaches the agent as one unban line per ban, read in waves off the stream;
    // a new ban comes while the first nft transaction of the unban is under way.
    let banAt = 0;
    firewall.onNextApply = () => {
      banAt = performance.now();
      enforcer.ban({ target: NEW_BAN, family: 4, end: Date.now() + 3_600_000, jail: 't' });
    };
    const t0 = performance.now();
    for (let i = 0; i < BANS; i++) {
      enforcer.unban(v4(i));
      if ((i + 1) % WAVE === 0) await new Promise((r) => setImmediate(r));
    }
    const enforcedAt = await firewall.waitFor(`"${NEW_BAN}"`, 20_000);
    const banMs = enforcedAt - banAt;
    await enforcer.flush();
    await enforcer.idle();
    const unbanMs = performance.now() - t0;
    const left = await firewall.list('banned_v4');
    console.log(
      `# mass unban: ${BANS} removed in ${unbanMs.toFixed(0)} ms, new ban enforced after ` +
        `${banMs.toFixed(0)} ms, ${metrics.get(AgentCounter.NFT_BATCHES) - 1} transactions`,
    );
    assert.deepEqual([...(left?.elements.keys() ?? [])], [NEW_BAN]);
    assert.ok(banMs < 2000, `the new ban took ${banMs.toFixed(0)} ms to be enforced`);
    assert.ok(unbanMs < 10_000, `the unban took ${unbanMs.toFixed(0)} ms`);
    assert.equal(metrics.get(AgentCounter.NFT_FAILURES), 0);
  } finally {
    enforcer.close();
  }
});

/** Attack sources, one per set kind, each with the ban that covers it; and sources no ban covers. */
const KINDS = [
  { set: 'banned_v4', ban: '10.91.1.1', source: '10.91.1.1' },
  { set: 'banned_v4_net', ban: '10.91.2.0/24', source: '10.91.2.7' },
  { set: 'banned_v6', ban: 'fd91:0:0:1::1', source: 'fd91:0:0:1::1' },
  { set: 'banned_v6_64', ban: 'fd91:0:0:2::/64', source: 'fd91:0:0:2::5' },
  { set: 'banned_v6_net', ban: 'fd91:1::/48', source: 'fd91:1::5' },
] as const;
const CONTROLS = ['10.91.3.1', 'fd91:0:0:3::1'];
const PROBE_PORT = 9091;

/** A host namespace and an attacker namespace on a veth pair, the attacker holding every source. */
async function attackRig(): Promise<{
  host: string;
  attacker: string;
  pairs: (readonly [string, string])[];
}> {
  const id = runId();
  const host = await netns.add(`fbdh-${id}`);
  const attacker = await netns.add(`fbda-${id}`);
  await netns.link(
    { ns: host, dev: `fbdh${id}`, cidr: '10.91.0.1/16' },
    { ns: attacker, dev: `fbda${id}`, cidr: '10.91.0.2/16' },
  );
  await netns.exec(host, 'ip', ['addr', 'add', 'fd91::1/32', 'dev', `fbdh${id}`, 'nodad']);
  for (const source of [...KINDS.map((k) => k.source), ...CONTROLS]) {
    const cidr = source.includes(':') ? `${source}/32` : `${source}/16`;
    await netns.exec(attacker, 'ip', ['addr', 'add', cidr, 'dev', `fbda${id}`, 'nodad']);
  }
  // The attacker's neighbour solicitations come from banned sources and are dropped too: a fixed
  // neighbour entry for the host keeps IPv6 going, as ARP (not filtered by inet tables) does for IPv4.
  const link = JSON.parse(await netns.exec(host, 'ip', ['-j', 'link', 'show', `fbdh${id}`])) as {
    address: string;
  }[];
  const mac = link[0]?.address ?? assert.fail('the host end has no MAC address');
  await netns.exec(attacker, 'ip', [
    'neigh',
    'replace',
    'fd91::1',
    'lladdr',
    mac,
    'dev',
    `fbda${id}`,
    'nud',
    'permanent',
  ]);
  const pairs = [...KINDS.map((k) => k.source), ...CONTROLS].map(
    (s) => [s, s.includes(':') ? 'fd91::1' : '10.91.0.1'] as const,
  );
  return { host, attacker, pairs };
}

function kindBans(end: number | null): BanEntry[] {
  return KINDS.map((k) => ({ target: k.ban, family: k.ban.includes(':') ? 6 : 4, end, jail: 't' }));
}

/** Sends `rounds` datagrams from every source and waits until the controls' last ones are in. */
async function probeRound(
  rig: { attacker: string; pairs: (readonly [string, string])[] },
  counter: UdpCounter,
  rounds: number,
): Promise<void> {
  counter.received.clear();
  await sendUdp(rig.attacker, rig.pairs, {
    port: PROBE_PORT,
    everyMs: 5,
    count: rounds,
  }).done;
  await waitFor(() => CONTROLS.every((c) => counter.count(c) >= rounds), {
    what: 'the control datagrams received',
    timeoutMs: 5000,
  }).catch((e: unknown) => {
    throw new Error(`${String(e)}; received ${JSON.stringify([...counter.received])}`);
  });
}

test('real packets: each set kind drops its attacker, and only it', async () => {
  const rig = await attackRig();
  const counter = await UdpCounter.start(rig.host, PROBE_PORT);
  const { enforcer } = makeEnforcer(nftIn(rig.host), 'host');
  try {
    await probeRound(rig, counter, 3);
    assert.deepEqual(
      counter.sources(),
      rig.pairs.map(([s]) => s).sort(),
      'before any ban every source gets through',
    );
    await enforcer.replaceAll(kindBans(Date.now() + 600_000));
    await probeRound(rig, counter, 3);
    assert.deepEqual(
      counter.sources(),
      [...CONTROLS].sort(),
      'only the unbanned sources get through',
    );
    for (const k of KINDS) {
      const listed = await nftIn(rig.host).list(k.set);
      assert.ok(listed?.elements.has(k.ban), `${k.ban} is enforced by ${k.set}`);
    }
  } finally {
    enforcer.close();
    await counter.stop();
  }
});

test('real packets: a table of the older layout is migrated under traffic without one banned packet passing', async () => {
  const rig = await attackRig();
  const counter = await UdpCounter.start(rig.host, PROBE_PORT);
  const nft = nftIn(rig.host);
  const now = Date.now();
  // A realistic older table: the five kinds plus 20,000 single addresses, all in interval sets.
  const bans = kindBans(now + 600_000);
  for (let i = 0; i < 20_000; i++)
    bans.push({ target: v4(300_000 + i), family: 4, end: now + 600_000, jail: 't' });
  const older = bans.map((b) => setElement(parseCidr(b.target) ?? assert.fail(b.target), b.end));
  await nft.apply(olderLayoutDocument(older, now));
  const observed = new ObservedFirewall(nft);
  const { enforcer } = makeEnforcer(observed, 'host');
  try {
    await probeRound(rig, counter, 3);
    assert.deepEqual(counter.sources(), [...CONTROLS].sort(), 'the older layout enforces');

    // Every source sends every 2 ms for some 4 s; the agent starts and adopts its remembered bans.
    counter.received.clear();
    const sender = sendUdp(rig.attacker, rig.pairs, {
      port: PROBE_PORT,
      everyMs: 2,
      count: 2000,
    });
    await waitFor(() => CONTROLS.every((c) => counter.count(c) > 20), {
      what: 'traffic flowing before the migration',
      timeoutMs: 5000,
    });
    const before = counter.count(CONTROLS[0] ?? '');
    await enforcer.adopt(bans);
    const during = counter.count(CONTROLS[0] ?? '');
    await sender.done;
    await waitFor(() => counter.count(CONTROLS[0] ?? '') > during, {
      what: 'traffic after the migration',
      timeoutMs: 5000,
    });
    assert.ok(during > before, 'the migration ran while the attack was under way');
    for (const k of KINDS) assert.equal(counter.count(k.source), 0, `${k.source} never passed`);

    assert.equal(observed.applied.length, 2, 'the new sets filled, then one switch');
    for (const k of KINDS) {
      const listed = await nft.list(k.set);
      assert.equal(listed?.interval, k.set.endsWith('_net'), `${k.set} has its layout`);
      assert.ok(listed.elements.has(k.ban), `${k.ban} carried into ${k.set}`);
    }
    assert.equal((await nft.list('banned_v4'))?.elements.size, 20_001);
  } finally {
    enforcer.close();
    await counter.stop();
  }
});

test('real packets: snapshots over a present table let no banned packet through', async () => {
  const rig = await attackRig();
  const counter = await UdpCounter.start(rig.host, PROBE_PORT);
  const nft = nftIn(rig.host);
  const observed = new ObservedFirewall(nft);
  const { enforcer } = makeEnforcer(observed, 'host');
  try {
    const now = Date.now();
    const bans = kindBans(now + 600_000);
    for (let i = 0; i < 20_000; i++)
      bans.push({ target: v4(300_000 + i), family: 4, end: now + 600_000, jail: 't' });
    await enforcer.replaceAll(bans);
    counter.received.clear();
    const sender = sendUdp(rig.attacker, rig.pairs, { port: PROBE_PORT, everyMs: 1, count: 4000 });
    await waitFor(() => CONTROLS.every((c) => counter.count(c) > 20), {
      what: 'traffic flowing before the snapshots',
      timeoutMs: 5000,
    });
    // A reconnect brings a snapshot; a table replaced whole let 3-4 packets of the prefixes through
    // over 8 of these.
    for (let i = 0; i < 8; i++) await enforcer.replaceAll(bans);
    await sender.done;
    assert.ok(
      CONTROLS.every((c) => counter.count(c) > 1000),
      'the attack went on throughout',
    );
    for (const k of KINDS) assert.equal(counter.count(k.source), 0, `${k.source} never passed`);
    const snapshots = observed.applied.slice(1).map((a) => a.text);
    assert.equal(snapshots.length, 8);
    for (const text of snapshots) assert.doesNotMatch(text, /"delete":\{"table"/);
  } finally {
    enforcer.close();
    await counter.stop();
  }
});
