// The Firewall contract, one suite run against every implementation: the in-memory model and real nft in a namespace.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Clock } from '../../src/core/clock.js';
import { ErrorCode, isFleetbanError } from '../../src/core/errors.js';
import { parseCidr, type IpFamily } from '../../src/core/ip.js';
import { setElement, type SetElement } from '../../src/nft/element.js';
import type { Firewall } from '../../src/nft/firewall.js';
import {
  renderAdd,
  renderDelete,
  renderRuleset,
  type NftCommand,
  type RulesetOptions,
} from '../../src/nft/render.js';

export interface FirewallUnderTest {
  readonly firewall: Firewall;
  readonly clock: Clock;
  readonly cleanup: () => Promise<void>;
}

const RULESET: RulesetOptions = { mode: 'both', verdict: 'drop', ports: [], interface: '' };
const HOUR = 3600_000;

function element(text: string, end: number | null): SetElement {
  const cidr = parseCidr(text);
  if (cidr === null) throw new Error(`bad test address ${text}`);
  return setElement(cidr, end);
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
    const listed = async (family: IpFamily): Promise<Map<string, number | null>> => {
      const set = await sut.firewall.list(family);
      assert.ok(set !== null, `the v${family} set exists`);
      assert.equal(set.foreign, 0);
      return new Map([...set.elements.values()].map((e) => [e.key, e.end]));
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

    it('lists null before the table exists, an empty set once it is set up', async () => {
      assert.equal(await sut.firewall.list(4), null);
      assert.equal(await sut.firewall.list(6), null);
      await apply(renderRuleset(RULESET, true));
      assert.equal((await listed(4)).size, 0);
      assert.equal((await listed(6)).size, 0);
    });

    it('adds addresses and prefixes with their timeouts, permanent ones without', async () => {
      const now = sut.clock.now();
      await apply(
        renderAdd(4, [element('192.0.2.7', now + HOUR), element('198.51.100.0/24', null)], now),
        renderAdd(6, [element('2001:db8:1::/64', now + 2 * HOUR)], now),
      );
      const v4 = await listed(4);
      assert.deepEqual([...v4.keys()].sort(), ['192.0.2.7', '198.51.100.0/24']);
      assertEnd(v4.get('192.0.2.7'), now + HOUR, '192.0.2.7');
      assertEnd(v4.get('198.51.100.0/24'), null, '198.51.100.0/24');
      assertEnd((await listed(6)).get('2001:db8:1::/64'), now + 2 * HOUR, '2001:db8:1::/64');
    });

    it('re-adding a present element replaces its timeout', async () => {
      const now = sut.clock.now();
      await apply(renderAdd(4, [element('192.0.2.7', now + 5 * HOUR)], now));
      assertEnd((await listed(4)).get('192.0.2.7'), now + 5 * HOUR, 'the re-added element');
    });

    it('a batch is all or nothing: an absent delete or an overlap refuses all of it', async () => {
      const now = sut.clock.now();
      const before = await listed(4);
      const refusals: NftCommand[][][] = [
        [
          renderAdd(4, [element('192.0.2.50', now + HOUR)], now),
          renderDelete(4, [element('192.0.2.99', null)]),
        ],
        [
          renderAdd(
            4,
            [element('192.0.2.51', now + HOUR), element('198.51.100.9', now + HOUR)],
            now,
          ),
        ],
      ];
      for (const commands of refusals) {
        await assert.rejects(apply(...commands), (e: unknown) =>
          isFleetbanError(e, ErrorCode.NFT_FAILED),
        );
        assert.deepEqual([...(await listed(4)).keys()].sort(), [...before.keys()].sort());
      }
    });

    it('deletes present elements; a ruleset rebuild keeps them, a fresh one empties the sets', async () => {
      await apply(renderDelete(4, [element('192.0.2.7', null)]));
      assert.deepEqual([...(await listed(4)).keys()], ['198.51.100.0/24']);
      await apply(renderRuleset({ ...RULESET, mode: 'host' }, false));
      assert.deepEqual([...(await listed(4)).keys()], ['198.51.100.0/24']);
      assert.deepEqual([...(await listed(6)).keys()], ['2001:db8:1::/64']);
      await apply(renderRuleset(RULESET, true));
      assert.equal((await listed(4)).size, 0);
      assert.equal((await listed(6)).size, 0);
    });
  });
}
