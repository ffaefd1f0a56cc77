// Large set changes: many removals rewrite the set in one transaction, large adds go in chunks with new bans first.
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
import { setElement, type SetElement } from '../../src/nft/element.js';
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

test('planBatch: past the removal limit a set is rewritten whole, below it elements are deleted', () => {
  const wanted = new Map([['192.0.2.9', el('192.0.2.9')]]);
  const none = { remove: [], add: [] };
  const few = planBatch(
    { 4: { remove: [el('192.0.2.1'), el('192.0.2.2')], add: [] }, 6: none },
    () => wanted,
    { rewriteAfterRemoves: 2, maxAdds: 10 },
  );
  assert.deepEqual(few.steps[4], {
    kind: 'change',
    remove: [el('192.0.2.1'), el('192.0.2.2')],
    add: [],
  });
  const many = planBatch(
    { 4: { remove: [el('192.0.2.1'), el('192.0.2.2'), el('192.0.2.3')], add: [] }, 6: none },
    () => wanted,
    { rewriteAfterRemoves: 2, maxAdds: 10 },
  );
  assert.deepEqual(many.steps[4], { kind: 'rewrite', elements: [el('192.0.2.9')] });
  assert.deepEqual(renderPlan(many, NOW), [
    { flush: { set: { family: 'inet', table: 'fleetban', name: 'banned_v4' } } },
    {
      add: {
        element: {
          family: 'inet',
          table: 'fleetban',
          name: 'banned_v4',
          elem: [{ elem: { val: '192.0.2.9', timeout: 60 } }],
        },
      },
    },
  ]);
});

test('planBatch: adds past the chunk size are deferred, prefixes and the newest changes first', () => {
  const add = ['192.0.2.1', '192.0.2.2', '198.51.100.0/24', '192.0.2.3', '192.0.2.4'].map(el);
  const plan = planBatch(
    { 4: { remove: [], add }, 6: { remove: [], add: [] } },
    () => new Map(),
    { rewriteAfterRemoves: 8, maxAdds: 2 },
    new Set(['192.0.2.4']),
  );
  assert.deepEqual(plan.steps[4], {
    kind: 'change',
    remove: [],
    add: [el('198.51.100.0/24'), el('192.0.2.4')],
  });
  assert.deepEqual(
    plan.deferred[4].map((e) => e.key),
    ['192.0.2.1', '192.0.2.2', '192.0.2.3'],
  );
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

function setup() {
  const clock = new ManualClock(NOW);
  const firewall = new HookedFirewall(clock);
  const metrics = new AgentMetrics();
  const enforcer = new Enforcer({
    firewall,
    ruleset: { mode: 'host', verdict: 'drop', ports: [], interface: '' },
    clock,
    logger: silentLogger,
    metrics,
    guard: new Guard({ 'own address': [], 'server address': [], allowlist: [] }),
    batchWindowMs: 5,
    batchMax: 5000,
    toleranceMs: 10_000,
    planLimits: { rewriteAfterRemoves: 3, maxAdds: 4 },
  });
  const keys = async (): Promise<string[]> =>
    [...((await firewall.list(4))?.elements.keys() ?? [])].sort();
  return { firewall, metrics, enforcer, keys };
}

const addr = (i: number): string => `10.0.${i >> 8}.${i & 255}`;

test('enforcer: a mass unban is one set rewrite that keeps the other bans', async () => {
  const { firewall, metrics, enforcer, keys } = setup();
  await enforcer.replaceAll([...Array.from({ length: 10 }, (_, i) => ban(addr(i)))]);
  for (let i = 0; i < 8; i++) enforcer.unban(addr(i));
  await enforcer.flush();
  await enforcer.idle();
  assert.deepEqual(await keys(), [addr(8), addr(9)]);
  assert.equal(metrics.get(AgentCounter.NFT_REWRITES), 1);
  assert.equal(firewall.applied.length, 2);
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
