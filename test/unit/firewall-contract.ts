// The Firewall contract, one suite run against every implementation: the in-memory model and real nft in a namespace.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Enforcer } from '../../src/agent/enforcer.js';
import { Guard } from '../../src/agent/guard.js';
import { AgentMetrics } from '../../src/agent/metrics.js';
import type { Clock, EpochMs } from '../../src/core/clock.js';
import { ErrorCode, isFleetbanError } from '../../src/core/errors.js';
import { parseCidr } from '../../src/core/ip.js';
import { silentLogger } from '../../src/core/logger.js';
import type { BanEntry } from '../../src/distribute/protocol.js';
import {
  BAN_SETS,
  setElement,
  timeoutSeconds,
  type BanSet,
  type SetElement,
} from '../../src/nft/element.js';
import type { Firewall } from '../../src/nft/firewall.js';
import {
  renderAdd,
  renderDelete,
  renderRuleset,
  type NftCommand,
  type NftDocument,
  type RulesetOptions,
} from '../../src/nft/render.js';

export interface FirewallUnderTest {
  readonly firewall: Firewall;
  readonly clock: Clock;
  readonly cleanup: () => Promise<void>;
}

const RULESET: RulesetOptions = {
  mode: 'both',
  verdict: 'drop',
  hooks: [],
  ports: [],
  udpPorts: [],
  interface: '',
};
const HOUR = 3600_000;

function element(text: string, end: number | null): SetElement {
  const cidr = parseCidr(text);
  if (cidr === null) throw new Error(`bad test address ${text}`);
  return setElement(cidr, end);
}

/**
 * The table as fleetban wrote it before the hash-set layout: `banned_v4` / `banned_v6` with
 * `flags interval,timeout` holding addresses and prefixes alike, one drop rule each in `input`.
 */
export function olderLayoutDocument(elements: readonly SetElement[], now: EpochMs): NftDocument {
  const T = { family: 'inet', table: 'fleetban' };
  const value = (e: SetElement): unknown => {
    const full = e.cidr.family === 4 ? 32 : 128;
    const val =
      e.cidr.prefix === full
        ? e.cidr.address
        : { prefix: { addr: e.cidr.address, len: e.cidr.prefix } };
    const timeout = timeoutSeconds(e.end, now);
    return timeout === null ? val : { elem: { val, timeout } };
  };
  const out: NftCommand[] = [
    { add: { table: { family: 'inet', name: 'fleetban' } } },
    { delete: { table: { family: 'inet', name: 'fleetban' } } },
    { add: { table: { family: 'inet', name: 'fleetban' } } },
    {
      add: {
        chain: { ...T, name: 'input', type: 'filter', hook: 'input', prio: -10, policy: 'accept' },
      },
    },
  ];
  for (const family of [4, 6] as const) {
    const name = `banned_v${family}`;
    const protocol = family === 4 ? 'ip' : 'ip6';
    out.push({
      add: {
        set: { ...T, name, type: `ipv${family}_addr`, flags: ['interval', 'timeout'] },
      },
    });
    const mine = elements.filter((e) => e.cidr.family === family);
    if (mine.length > 0) out.push({ add: { element: { ...T, name, elem: mine.map(value) } } });
    out.push({
      add: {
        rule: {
          ...T,
          chain: 'input',
          expr: [
            {
              match: {
                op: '==',
                left: { payload: { protocol, field: 'saddr' } },
                right: `@${name}`,
              },
            },
            { drop: null },
          ],
        },
      },
    });
  }
  return { nftables: out };
}

/** Counts the transactions handed to the firewall underneath. */
class CountingFirewall implements Firewall {
  readonly applied: NftDocument[] = [];
  constructor(readonly inner: Firewall) {}
  async apply(doc: NftDocument): Promise<void> {
    await this.inner.apply(doc);
    this.applied.push(doc);
  }
  list(set: BanSet) {
    return this.inner.list(set);
  }
}

/** Runs the contract against a fresh, empty firewall from `factory` (one for the whole suite). */
export function firewallContract(name: string, factory: () => Promise<FirewallUnderTest>): void {
  describe(`Firewall contract: ${name}`, () => {
    let sut: FirewallUnderTest;
    before(async () => {
      sut = await factory();
    });
    after(() => sut.cleanup());

    const apply = (...commands: NftCommand[][]) =>
      sut.firewall.apply({ nftables: commands.flat() });
    const listed = async (set: BanSet): Promise<Map<string, number | null>> => {
      const got = await sut.firewall.list(set);
      assert.ok(got !== null, `${set} exists`);
      assert.equal(got.foreign, 0);
      return new Map([...got.elements.values()].map((e) => [e.key, e.end]));
    };
    const allKeys = async (): Promise<string[]> => {
      const keys: string[] = [];
      for (const set of BAN_SETS)
        keys.push(...[...(await listed(set)).keys()].map((k) => `${set} ${k}`));
      return keys.sort();
    };
    /** The kernel's expiry, read back, lies within rounding of the wanted end, never before it. */
    const assertEnd = (got: number | null | undefined, wanted: number | null, what: string) => {
      if (wanted === null) {
        assert.equal(got, null, `${what} is permanent`);
        return;
      }
      assert.ok(typeof got === 'number', `${what} has an expiry`);
      assert.ok(got >= wanted - 1000 && got <= wanted + 3000, `${what}: ${got} vs ${wanted}`);
    };

    it('lists null before the table exists, an empty set of the right kind once it is set up', async () => {
      for (const set of BAN_SETS) assert.equal(await sut.firewall.list(set), null);
      await apply(renderRuleset(RULESET, true));
      for (const set of BAN_SETS) {
        assert.equal((await listed(set)).size, 0);
        const interval = set === 'banned_v4_net' || set === 'banned_v6_net';
        assert.equal((await sut.firewall.list(set))?.interval, interval, `${set} interval flag`);
      }
    });

    it('adds each kind to its set with its timeout, permanent ones without', async () => {
      const now = sut.clock.now();
      await apply(
        renderAdd('banned_v4', [element('192.0.2.7', now + HOUR)], now),
        renderAdd('banned_v4_net', [element('198.51.100.0/24', null)], now),
        renderAdd('banned_v6', [element('2001:db8:9::1', null)], now),
        renderAdd('banned_v6_64', [element('2001:db8:1::/64', now + 2 * HOUR)], now),
        renderAdd('banned_v6_net', [element('2001:db8:2::/48', now + HOUR)], now),
      );
      assert.deepEqual(await allKeys(), [
        'banned_v4 192.0.2.7',
        'banned_v4_net 198.51.100.0/24',
        'banned_v6 2001:db8:9::1',
        'banned_v6_64 2001:db8:1::/64',
        'banned_v6_net 2001:db8:2::/48',
      ]);
      assertEnd((await listed('banned_v4')).get('192.0.2.7'), now + HOUR, '192.0.2.7');
      assertEnd((await listed('banned_v4_net')).get('198.51.100.0/24'), null, 'the /24');
      assertEnd((await listed('banned_v6')).get('2001:db8:9::1'), null, 'the /128');
      assertEnd((await listed('banned_v6_64')).get('2001:db8:1::/64'), now + 2 * HOUR, 'the /64');
      assertEnd((await listed('banned_v6_net')).get('2001:db8:2::/48'), now + HOUR, 'the /48');
    });

    it('re-adding a present element replaces its timeout, in a hash set as in an interval set', async () => {
      const now = sut.clock.now();
      await apply(
        renderAdd('banned_v4', [element('192.0.2.7', now + 5 * HOUR)], now),
        renderAdd('banned_v6_64', [element('2001:db8:1::/64', null)], now),
        renderAdd('banned_v4_net', [element('198.51.100.0/24', now + 3 * HOUR)], now),
      );
      assertEnd((await listed('banned_v4')).get('192.0.2.7'), now + 5 * HOUR, 'the address');
      assertEnd((await listed('banned_v6_64')).get('2001:db8:1::/64'), null, 'the /64');
      assertEnd((await listed('banned_v4_net')).get('198.51.100.0/24'), now + 3 * HOUR, 'the /24');
    });

    it('a batch is all or nothing: an absent delete, an interval overlap, a prefix in a hash set or deleting a set in use refuses all of it', async () => {
      const now = sut.clock.now();
      const before = await allKeys();
      const refusals: NftCommand[][][] = [
        [
          renderAdd('banned_v4', [element('192.0.2.50', now + HOUR)], now),
          renderDelete('banned_v4', [element('192.0.2.99', null)]),
        ],
        [
          renderAdd('banned_v4', [element('192.0.2.51', now + HOUR)], now),
          renderAdd('banned_v4_net', [element('198.51.100.128/25', now + HOUR)], now),
        ],
        [
          renderAdd('banned_v4', [element('192.0.2.52', now + HOUR)], now),
          [
            {
              add: {
                element: {
                  family: 'inet',
                  table: 'fleetban',
                  name: 'banned_v6',
                  elem: [{ prefix: { addr: '2001:db8:3::', len: 48 } }],
                },
              },
            },
          ],
        ],
        [
          renderAdd('banned_v4', [element('192.0.2.53', now + HOUR)], now),
          [{ delete: { set: { family: 'inet', table: 'fleetban', name: 'banned_v4_net' } } }],
        ],
      ];
      for (const commands of refusals) {
        await assert.rejects(apply(...commands), (e: unknown) =>
          isFleetbanError(e, ErrorCode.NFT_FAILED),
        );
        assert.deepEqual(await allKeys(), before);
      }
    });

    it('deletes present elements; a ruleset rebuild keeps them, a fresh one empties the sets', async () => {
      await apply(
        renderDelete('banned_v4', [element('192.0.2.7', null)]),
        renderDelete('banned_v6_64', [element('2001:db8:1::/64', null)]),
      );
      assert.deepEqual(await allKeys(), [
        'banned_v4_net 198.51.100.0/24',
        'banned_v6 2001:db8:9::1',
        'banned_v6_net 2001:db8:2::/48',
      ]);
      await apply(renderRuleset({ ...RULESET, mode: 'host' }, false));
      assert.equal((await allKeys()).length, 3);
      await apply(renderRuleset(RULESET, true));
      assert.deepEqual(await allKeys(), []);
    });

    it('an older-layout table lists as interval sets, refuses the new sets over it, and an agent migrates it: new sets first, then one switch', async () => {
      const now = sut.clock.now();
      const bans = [
        ['198.51.100.7', now + HOUR],
        ['203.0.113.0/24', null],
        ['2001:db8:5::9', now + HOUR],
        ['2001:db8:1::/64', null],
        ['2001:db8:6::/48', now + 2 * HOUR],
      ] as const;
      await sut.firewall.apply(
        olderLayoutDocument(
          bans.map(([t, end]) => element(t, end)),
          now,
        ),
      );
      const older = await sut.firewall.list('banned_v4');
      assert.equal(older?.interval, true);
      assert.deepEqual([...older.elements.keys()].sort(), ['198.51.100.7', '203.0.113.0/24']);
      assert.equal(await sut.firewall.list('banned_v6_64'), null);
      // The new sets cannot be declared over the old ones: only a replace of the table gets there.
      await assert.rejects(apply(renderRuleset(RULESET, false)), (e: unknown) =>
        isFleetbanError(e, ErrorCode.NFT_FAILED),
      );

      const counting = new CountingFirewall(sut.firewall);
      const enforcer = new Enforcer({
        firewall: counting,
        ruleset: RULESET,
        clock: sut.clock,
        logger: silentLogger,
        metrics: new AgentMetrics(),
        guard: new Guard({ 'own address': [], 'server address': [], allowlist: [] }),
        batchWindowMs: 20,
        batchMax: 5000,
        toleranceMs: 10_000,
      });
      const entries: BanEntry[] = bans.map(([target, end]) => ({
        target,
        family: target.includes(':') ? 6 : 4,
        end,
        jail: 'sshd',
      }));
      await enforcer.adopt(entries);
      enforcer.close();
      // The new sets filled beside the old ones, then one switch; the diff after it found nothing to do.
      assert.equal(counting.applied.length, 2);
      const [addNew, swap] = counting.applied.map((doc) => JSON.stringify(doc));
      assert.doesNotMatch(addNew ?? '', /"delete"|"flush"/, 'the first step removes nothing');
      assert.match(addNew ?? '', /"name":"banned_v6_64"/);
      assert.match(swap ?? '', /"delete":\{"set":\{[^}]*"name":"banned_v4"/);
      assert.doesNotMatch(swap ?? '', /"delete":\{"table"/);
      assert.deepEqual(await allKeys(), [
        'banned_v4 198.51.100.7',
        'banned_v4_net 203.0.113.0/24',
        'banned_v6 2001:db8:5::9',
        'banned_v6_64 2001:db8:1::/64',
        'banned_v6_net 2001:db8:6::/48',
      ]);
      // Carried with their remaining time, permanent ones still permanent.
      assertEnd((await listed('banned_v4')).get('198.51.100.7'), now + HOUR, 'the address');
      assertEnd((await listed('banned_v6_64')).get('2001:db8:1::/64'), null, 'the /64');
      assertEnd((await listed('banned_v6_net')).get('2001:db8:6::/48'), now + 2 * HOUR, 'the /48');
      for (const set of BAN_SETS) assert.equal((await sut.firewall.list(set))?.foreign, 0);
    });
  });
}
