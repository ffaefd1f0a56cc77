// The enforcer on real nft in a namespace: the same behaviours as the in-memory model, its speed, and a mass unban.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import type { BanEntry } from '../../src/distribute/protocol.js';
import { Enforcer } from '../../src/agent/enforcer.js';
import { Guard } from '../../src/agent/guard.js';
import { AgentCounter, AgentMetrics } from '../../src/agent/metrics.js';
import type { Firewall } from '../../src/nft/firewall.js';
import { NftFirewall } from '../../src/nft/nft.js';
import type { EnforceMode } from '../../src/nft/render.js';
import { Netns, requireNetns, runId } from './agent-netns-fixture.js';
import { ObservedFirewall } from './observed-firewall.js';

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

function makeEnforcer(firewall: Firewall = nftIn(ns), mode: EnforceMode = 'both') {
  const metrics = new AgentMetrics();
  const enforcer = new Enforcer({
    firewall,
    ruleset: { mode, verdict: 'drop', ports: [], interface: '' },
    clock: systemClock,
    logger: silentLogger,
    metrics,
    guard: new Guard({ 'own address': [], 'server address': [], allowlist: [] }),
    batchWindowMs: 20,
    batchMax: 5000,
    toleranceMs: 10_000,
  });
  return { firewall, enforcer, metrics };
}

function v4(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

test('real nft: prefix over addresses, flush by hand, expiry, unban of an expired element', async () => {
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
    b('2001:db8::/64', null),
    b('203.0.113.1', now + 1500),
  ]);
  enforcer.ban(b('198.51.100.0/24', now + 600_000));
  enforcer.ban(b('198.51.100.9', now + 600_000));
  await enforcer.flush();
  const keys = async () => [...((await firewall.list(4))?.elements.keys() ?? [])].sort();
  assert.deepEqual(await keys(), ['198.51.100.0/24', '203.0.113.1']);
  assert.deepEqual([...((await firewall.list(6))?.elements.keys() ?? [])], ['2001:db8::/64']);
  await new Promise((r) => setTimeout(r, 2100)); // the kernel's own timeout is what is under test
  assert.deepEqual(await keys(), ['198.51.100.0/24']);
  enforcer.unban('203.0.113.1');
  enforcer.unban('198.51.100.0/24');
  await enforcer.flush();
  assert.deepEqual(await keys(), ['198.51.100.7', '198.51.100.9']);
  await firewall.apply({
    nftables: [{ flush: { set: { family: 'inet', table: 'fleetban', name: 'banned_v4' } } }],
  });
  const r = await enforcer.reconcile();
  assert.equal(r.added, 2);
  assert.deepEqual(await keys(), ['198.51.100.7', '198.51.100.9']);
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
  const listed = await firewall.list(4);
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
    assert.equal((await firewall.list(4))?.elements.size, BANS);

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
    const left = await firewall.list(4);
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
