// Diffing only the changed targets: diffKeys agrees with diffSet, WantedSet knows when that is exact, the enforcer stays right.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Enforcer } from '../../src/agent/enforcer.js';
import { Guard } from '../../src/agent/guard.js';
import { AgentMetrics } from '../../src/agent/metrics.js';
import { WantedSet, type Wanted } from '../../src/agent/wanted-set.js';
import { ManualClock } from '../../src/core/clock.js';
import { parseCidr } from '../../src/core/ip.js';
import { silentLogger } from '../../src/core/logger.js';
import type { BanEntry } from '../../src/distribute/protocol.js';
import { diffKeys, diffSet } from '../../src/nft/diff.js';
import { BAN_SETS, setElement, type SetElement } from '../../src/nft/element.js';
import { MemoryFirewall } from '../../src/nft/memory-firewall.js';
import { normaliseBans } from '../../src/nft/normalise.js';

const NOW = Date.UTC(2026, 0, 1);

function element(target: string, end: number | null): SetElement {
  const cidr = parseCidr(target);
  assert.ok(cidr !== null, target);
  return setElement(cidr, end);
}

function contents(...elements: SetElement[]): Map<string, SetElement> {
  return new Map(elements.map((e) => [e.key, e]));
}

function wanted(target: string, end: number | null): Wanted {
  const cidr = parseCidr(target);
  assert.ok(cidr !== null, target);
  const ban: BanEntry = { target, family: cidr.family, end, jail: 'sshd' };
  return { ban, target, end, cidr };
}

test('diffKeys gives, for each key, the verdict diffSet gives, but re-adds any extension', () => {
  const kernel = contents(
    element('192.0.2.1', NOW + 60_000), // still wanted, same end: nothing
    element('192.0.2.2', NOW + 60_000), // no longer wanted: removed
    element('192.0.2.3', NOW - 1), // expired in the kernel, wanted again: added
    element('192.0.2.4', NOW + 60_000), // wanted much longer now: re-added
    element('192.0.2.5', NOW - 1), // expired and unwanted: nothing (deleting it would fail)
    element('192.0.2.7', NOW + 60_000), // extended by 5 s, within the tolerance
  );
  const want = contents(
    element('192.0.2.1', NOW + 60_000),
    element('192.0.2.3', NOW + 60_000),
    element('192.0.2.4', NOW + 3_600_000),
    element('192.0.2.6', null), // new, permanent: added
    element('192.0.2.7', NOW + 65_000),
  );
  const keys = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5', '192.0.2.6'];
  const full = diffSet(want, kernel, NOW, 10_000);
  const partial = diffKeys(want, kernel, keys, NOW, 10_000);
  const sorted = (l: readonly SetElement[]): string[] => l.map((e) => e.key).sort();
  assert.deepEqual(sorted(partial.add), sorted(full.add));
  assert.deepEqual(sorted(partial.remove), sorted(full.remove));
  assert.deepEqual(sorted(partial.add), ['192.0.2.3', '192.0.2.4', '192.0.2.6']);
  assert.deepEqual(sorted(partial.remove), ['192.0.2.2']);
  // diffSet leaves a small extension to reconcile; a changed key is re-added so it cannot lapse.
  assert.deepEqual(
    diffSet(want, kernel, NOW, 10_000)
      .add.map((e) => e.key)
      .includes('192.0.2.7'),
    false,
  );
  assert.deepEqual(
    diffKeys(want, kernel, ['192.0.2.7'], NOW, 10_000).add.map((e) => e.key),
    ['192.0.2.7'],
  );
  // Keys not named are not looked at.
  assert.deepEqual(diffKeys(want, kernel, ['192.0.2.1'], NOW, 10_000), { add: [], remove: [] });
});

test('WantedSet: changed keys only after a full job from a state where no target covers another', () => {
  const set = new WantedSet();
  set.set(wanted('192.0.2.1', NOW + 60_000));
  assert.equal(set.incremental, false, 'nothing vouched for the kernel yet');
  set.startFull()();
  assert.equal(set.incremental, true);

  set.set(wanted('192.0.2.2', NOW + 60_000));
  set.set(wanted('192.0.2.3', NOW - 1)); // already expired: not wanted
  set.delete('192.0.2.1');
  const changes = set.takeChanges(NOW);
  assert.deepEqual(changes.keys.banned_v4.sort(), ['192.0.2.1', '192.0.2.2', '192.0.2.3']);
  assert.deepEqual([...changes.wanted.banned_v4.keys()], ['192.0.2.2']);
  assert.deepEqual(set.takeChanges(NOW).keys.banned_v4, [], 'taken changes are forgotten');

  // A /24 beside /32s does not mix: addresses live in the hash set, prefixes in the interval set.
  set.set(wanted('192.0.2.0/24', NOW + 60_000));
  assert.equal(set.incremental, true);
  assert.deepEqual(set.takeChanges(NOW).keys.banned_v4_net, ['192.0.2.0/24']);
  // A /25 beside it in the interval set: a change to one key can move another.
  set.set(wanted('192.0.2.0/25', NOW + 60_000));
  assert.equal(set.incremental, false);
  set.startFull()();
  assert.equal(set.incremental, false, 'the state the full job started from still mixes lengths');
  set.delete('192.0.2.0/25');
  const applied = set.startFull();
  set.set(wanted('198.51.100.0/26', NOW + 60_000)); // arrives while that job runs
  applied();
  assert.equal(set.incremental, false, 'a mixing change during the job keeps full diffs');
  set.delete('198.51.100.0/26');
  set.startFull()();
  assert.equal(set.incremental, true);

  // IPv6 /64s, /128s and IPv4 prefixes do not mix: each has its set.
  set.set(wanted('2001:db8::/64', NOW + 60_000));
  set.set(wanted('2001:db8::1', NOW + 60_000));
  assert.equal(set.incremental, true);
  // A non-canonical spelling could name an element another target also names.
  set.set(wanted('2001:0db8:0:1::/64', NOW + 60_000));
  assert.equal(set.incremental, false);
});

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('the enforcer keeps the sets equal to the normalised wanted bans through random changes', async () => {
  const clock = new ManualClock(NOW);
  const firewall = new MemoryFirewall(clock);
  const enforcer = new Enforcer({
    firewall,
    ruleset: { mode: 'host', verdict: 'drop', hooks: [], ports: [], udpPorts: [], interface: '' },
    clock,
    logger: silentLogger,
    metrics: new AgentMetrics(),
    guard: new Guard({ 'own address': [], 'server address': [], allowlist: [] }),
    batchWindowMs: 1,
    batchMax: 1_000_000,
    toleranceMs: 10_000,
  });
  const next = random(20261125);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const addresses = Array.from({ length: 40 }, (_, i) => `198.51.100.${i + 1}`);
  const v6 = Array.from({ length: 10 }, (_, i) => `2001:db8:${i + 1}::/64`);
  const prefixes = ['198.51.100.0/27', '198.51.100.0/26', '198.51.100.0/24', '2001:db8::/48'];
  const bans = new Map<string, BanEntry>();
  await enforcer.replaceAll([]);
  for (let step = 0; step < 400; step++) {
    // Prefixes only in the middle third: before, between and after, the quick path is in play.
    const pool =
      step > 130 && step < 260 ? [...addresses, ...v6, ...prefixes] : [...addresses, ...v6];
    const changes = 1 + Math.floor(next() * 4);
    for (let c = 0; c < changes; c++) {
      const target = pick(pool);
      if (bans.has(target) && next() < 0.4) {
        bans.delete(target);
        enforcer.unban(target);
      } else {
        // On a 20 s grid: the kernel's whole-second expiry equals the ban's end, and two ends of
        // one target are equal or further apart than the tolerance (a full diff leaves a smaller
        // extension to reconcile, which this test does not run).
        const end =
          next() < 0.1
            ? null
            : Math.ceil((clock.now() + 1000 + next() * 120_000) / 20_000) * 20_000;
        const b: BanEntry = { target, family: target.includes(':') ? 6 : 4, end, jail: 'sshd' };
        bans.set(target, b);
        enforcer.ban(b);
      }
    }
    if (step === 300) {
      for (const p of prefixes) {
        if (bans.delete(p)) enforcer.unban(p);
      }
    }
    await enforcer.flush();
    // Compared at the time of the batch: a prefix that expires later uncovers its addresses only
    // with the next batch, whichever way it is computed.
    const want = normaliseBans(bans.values(), clock.now());
    for (const set of BAN_SETS) {
      const listed = await firewall.list(set);
      const have = [...(listed?.elements.keys() ?? [])].sort();
      assert.deepEqual(have, [...want.sets[set].keys()].sort(), `step ${step}, ${set}`);
    }
    clock.advance(1000 * Math.floor(next() * 5));
  }
  assert.equal(firewall.refused, 0);
});
