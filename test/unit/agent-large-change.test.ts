// Large set changes: many removals rewrite an interval set in one transaction, large adds go in chunks with new bans first.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { parseCidr } from '../../src/core/ip.js';
import { silentLogger } from '../../src/core/logger.js';
import type { BanEntry } from '../../src/distribute/protocol.js';
import { Enforcer } from '../../src/agent/enforcer.js';
import { Guard } from '../../src/agent/guard.js';
import { AgentCounter, AgentMetrics } from '../../src/agent/metrics.js';
import { planBatch, renderPlan } from '../../src/nft/batch-plan.js';
import { perSet, setElement, type SetElement } from '../../src/nft/element.js';
import { MemoryFirewall } from '../../src/nft/memory-firewall.js';
import type { NftDocument } from '../../src/nft/render.js';

const NOW = 1_700_000_000_000;

function el(target: string): SetElement {
  const cidr = parseCidr(target);
  if (cidr === null) throw new TypeError(target);
  return setElement(cidr, NOW + 60_000);
}

function ban(target: string): BanEntry {
  return { target, family: 4, end: NOW + 3_600_000, jail: 't' };
}

const none = { remove: [], add: [] };

test('planBatch: past the removal limit an interval set is rewritten whole, below it elements are deleted; a hash set never is', () => {
  const wanted = new Map([['192.0.2.0/30', el('192.0.2.0/30')]]);
  const limits = { rewriteAfterRemoves: 2, maxAdds: 10, fillChunk: 100 };
  const nets = ['198.51.100.0/24', '198.51.101.0/24', '198.51.102.0/24'].map(el);
  const few = planBatch(
    { ...perSet(() => none), banned_v4_net: { remove: nets.slice(0, 2), add: [] } },
    () => wanted,
    limits,
  );
  assert.deepEqual(few.steps.banned_v4_net, { kind: 'change', remove: nets.slice(0, 2), add: [] });
  const many = planBatch(
    {
      ...perSet(() => none),
      banned_v4_net: { remove: nets, add: [] },
      banned_v4: { remove: ['192.0.2.1', '192.0.2.2', '192.0.2.3'].map(el), add: [] },
    },
    () => wanted,
    limits,
  );
  assert.deepEqual(many.steps.banned_v4_net, { kind: 'rewrite', elements: [el('192.0.2.0/30')] });
  assert.equal(many.steps.banned_v4.kind, 'change');
  assert.deepEqual(renderPlan(many, NOW), [
    {
      delete: {
        element: {
          family: 'inet',
          table: 'fleetban',
          name: 'banned_v4',
          elem: ['192.0.2.1', '192.0.2.2', '192.0.2.3'],
        },
      },
    },
    { flush: { set: { family: 'inet', table: 'fleetban', name: 'banned_v4_net' } } },
    {
      add: {
        element: {
          family: 'inet',
          table: 'fleetban',
          name: 'banned_v4_net',
          elem: [{ elem: { val: { prefix: { addr: '192.0.2.0', len: 30 } }, timeout: 60 } }],
        },
      },
    },
  ]);
});

test('planBatch: hash set adds past the chunk size are deferred, the newest changes first; interval sets go whole', () => {
  const add = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'].map(el);
  const nets = ['198.51.100.0/24', '198.51.101.0/24', '198.51.102.0/24'].map(el);
  const plan = planBatch(
    {
      ...perSet(() => none),
      banned_v4: { remove: [], add },
      banned_v4_net: { remove: [], add: nets },
    },
    () => new Map(),
    { rewriteAfterRemoves: 8, maxAdds: 2, fillChunk: 100 },
    new Set(['192.0.2.4']),
  );
  assert.deepEqual(plan.steps.banned_v4, {
    kind: 'change',
    remove: [],
    add: [el('192.0.2.4'), el('192.0.2.1')],
  });
  assert.deepEqual(
    plan.deferred.banned_v4.map((e) => e.key),
    ['192.0.2.2', '192.0.2.3'],
  );
  // A prefix may replace the prefixes it covers, deleted in the same transaction: never deferred.
  assert.deepEqual(plan.steps.banned_v4_net, { kind: 'change', remove: [], add: nets });
  assert.deepEqual(plan.deferred.banned_v4_net, []);
});

/** The in-memory model, with a hook run once as the next batch is handed to it. */
class HookedFirewall extends MemoryFirewall {
  onNextApply: (() => void) | undefined;

  override apply(doc: NftDocument): Promise<void> {
    const hook = this.onNextApply;
    this.onNextApply = undefined;
    hook?.();
    return super.apply(doc);
  }
}

function setup(fillChunk = 1000) {
  const clock = new ManualClock(NOW);
  const firewall = new HookedFirewall(clock);
  const metrics = new AgentMetrics();
  const enforcer = new Enforcer({
    firewall,
    ruleset: { mode: 'host', verdict: 'drop', hooks: [], ports: [], udpPorts: [], interface: '' },
    clock,
    logger: silentLogger,
    metrics,
    guard: new Guard({ 'own address': [], 'server address': [], allowlist: [] }),
    batchWindowMs: 5,
    batchMax: 5000,
    toleranceMs: 10_000,
    planLimits: { rewriteAfterRemoves: 3, maxAdds: 4, fillChunk },
  });
  const keys = async (): Promise<string[]> => {
    const v4 = await firewall.list('banned_v4');
    const net = await firewall.list('banned_v4_net');
    return [...(v4?.elements.keys() ?? []), ...(net?.elements.keys() ?? [])].sort();
  };
  return { firewall, metrics, enforcer, keys };
}

const addr = (i: number): string => `10.0.${i >> 8}.${i & 255}`;

const net = (i: number): string => `10.${i}.0.0/16`;

test('enforcer: a mass unban of prefixes is one interval set rewrite that keeps the other bans', async () => {
  const { firewall, metrics, enforcer, keys } = setup();
  await enforcer.replaceAll([...Array.from({ length: 10 }, (_, i) => ban(net(i))), ban(addr(0))]);
  for (let i = 0; i < 8; i++) enforcer.unban(net(i));
  await enforcer.flush();
  await enforcer.idle();
  assert.deepEqual(await keys(), [addr(0), net(8), net(9)].sort());
  assert.equal(metrics.get(AgentCounter.NFT_REWRITES), 1);
  assert.equal(firewall.applied.length, 2);
  assert.equal(firewall.refused, 0);
});

test('enforcer: a mass unban of addresses deletes them from the hash set in one transaction', async () => {
  const { firewall, metrics, enforcer, keys } = setup();
  await enforcer.replaceAll([...Array.from({ length: 10 }, (_, i) => ban(addr(i)))]);
  for (let i = 0; i < 8; i++) enforcer.unban(addr(i));
  await enforcer.flush();
  await enforcer.idle();
  assert.deepEqual(await keys(), [addr(8), addr(9)]);
  assert.equal(metrics.get(AgentCounter.NFT_REWRITES), 0);
  assert.equal(firewall.applied.length, 2);
  assert.match(JSON.stringify(firewall.applied[1]), /"delete":\{"element"/);
  assert.equal(firewall.refused, 0);
});

test('enforcer: a large add goes in chunks, and a ban that arrives meanwhile goes in the next one', async () => {
  const { firewall, enforcer, keys } = setup();
  await enforcer.replaceAll([]);
  for (let i = 0; i < 10; i++) enforcer.ban(ban(addr(i)));
  firewall.onNextApply = () => {
    enforcer.ban(ban('203.0.113.7'));
  };
  await enforcer.flush();
  await enforcer.idle();
  const chunks = firewall.applied.slice(1).map((doc) => JSON.stringify(doc));
  assert.equal(chunks.length, 3);
  assert.ok(
    chunks[1]?.includes('203.0.113.7'),
    `the new ban is not in the second chunk: ${chunks[1]}`,
  );
  assert.deepEqual(
    await keys(),
    [...Array.from({ length: 10 }, (_, i) => addr(i)), '203.0.113.7'].sort(),
  );
  assert.equal(firewall.refused, 0);
});

test('enforcer: a large snapshot with no table goes in chunks; the interval sets last, normalised', async () => {
  const { firewall, metrics, enforcer, keys } = setup(4);
  const singles = Array.from({ length: 10 }, (_, i) => addr(i));
  // 10.0.0.0/16 covers the /24: only the /16 goes in (nft refuses overlapping intervals).
  const bans = [...singles, net(0), '10.0.5.0/24', net(1)].map(ban);
  // The same address twice in one chunk: one element, the later end.
  bans.splice(2, 0, { ...ban(addr(1)), end: NOW + 7_200_000 });
  let during = 0;
  firewall.onNextApply = () => {
    // The first chunk is handed over before the rest is sorted: a ban arriving now is seen by
    // the sort still under way (or else by the next job), and applied once.
    during = firewall.applied.length;
    enforcer.ban(ban('203.0.113.9'));
  };
  await enforcer.replaceAll(bans);
  await enforcer.idle();
  assert.equal(during, 0);
  const docs = firewall.applied.map((doc) => JSON.stringify(doc));
  // Chunks of 4: 10 addresses, the repeat and the ban that arrived meanwhile in three, the
  // interval sets with the last one; the job after it finds nothing left to do.
  assert.equal(docs.length, 3, docs.join('\n'));
  assert.match(docs[0] ?? '', /"delete":\{"table"/);
  assert.doesNotMatch(docs[0] ?? '', /banned_v4_net","elem/);
  assert.match(docs[2] ?? '', /"10\.0\.0\.0","len":16/);
  assert.doesNotMatch(docs.join(''), /10\.0\.5\.0/);
  assert.equal(docs.join('').split('203.0.113.9').length, 2);
  assert.deepEqual(await keys(), [...singles, net(0), net(1), '203.0.113.9'].sort());
  const v4 = await firewall.list('banned_v4');
  assert.equal(v4?.elements.get(addr(1))?.end, NOW + 7_200_000);
  assert.equal(metrics.get(AgentCounter.NFT_BATCHES), 3);
  // What the enforcer believes the kernel holds is right: an unban is a plain delete.
  enforcer.unban(addr(3));
  enforcer.unban(net(1));
  await enforcer.flush();
  assert.deepEqual(
    await keys(),
    [...singles.filter((a) => a !== addr(3)), net(0), '203.0.113.9'].sort(),
  );
  assert.equal(firewall.refused, 0);
});

test('enforcer: a chunked fill that nft refuses half-way fails the snapshot, and the next sync repairs it', async () => {
  const { firewall, enforcer, keys } = setup(3);
  const singles = Array.from({ length: 9 }, (_, i) => addr(i));
  let applies = 0;
  const apply = firewall.apply.bind(firewall);
  firewall.apply = (doc) =>
    ++applies === 2 ? Promise.reject(new Error('nft: out of memory')) : apply(doc);
  await assert.rejects(enforcer.replaceAll(singles.map(ban)), /out of memory/);
  // The first chunk is in; the enforcer no longer trusts its picture, so the next job lists.
  assert.deepEqual(await keys(), singles.slice(0, 3).sort());
  const result = await enforcer.reconcile();
  assert.equal(result.rebuilt, false);
  await enforcer.idle();
  assert.deepEqual(await keys(), [...singles].sort());
});
