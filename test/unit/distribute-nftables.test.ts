// The /v1/nftables renderer: the agent's set layout, remaining-time timeouts, chains per mode, verdicts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  renderNftablesDocument,
  renderNftablesText,
} from '../../src/distribute/nftables-document.js';
import type { BanEntry } from '../../src/distribute/protocol.js';
import { formatCidr, parseCidr } from '../../src/core/ip.js';
import { normaliseBans } from '../../src/nft/normalise.js';
import { renderReplace } from '../../src/nft/render.js';

const NOW = Date.UTC(2026, 0, 1);
const e = (target: string, end: number | null = null, jail = 'sshd'): BanEntry => ({
  target,
  family: target.includes(':') ? 6 : 4,
  end,
  jail,
});

type Cmd = Record<string, Record<string, Record<string, unknown>>>;

function elements(doc: { nftables: readonly Record<string, unknown>[] }, set: string): unknown[] {
  for (const c of doc.nftables as Cmd[]) {
    const el = c['add']?.['element'];
    if (el !== undefined && el['name'] === set) return el['elem'] as unknown[];
  }
  return [];
}

describe('nftables document', () => {
  it('puts each ban in the set of its kind; only a prefix inside a wider one of its interval set is left out', () => {
    const r = renderNftablesDocument(
      [
        e('198.51.100.7'),
        e('198.51.100.0/24'),
        e('198.51.0.0/16'),
        e('198.52.0.1'),
        e('2001:db8::1'),
        e('2001:db8::/64'),
        e('2001:db8::/48'),
        e('2001:db8::/56'),
      ],
      { mode: 'host', now: NOW },
    );
    assert.deepEqual(elements(r.document, 'banned_v4'), ['198.51.100.7', '198.52.0.1']);
    assert.deepEqual(elements(r.document, 'banned_v4_net'), [
      { prefix: { addr: '198.51.0.0', len: 16 } },
    ]);
    assert.deepEqual(elements(r.document, 'banned_v6'), ['2001:db8::1']);
    assert.deepEqual(elements(r.document, 'banned_v6_64'), ['2001:db8::']);
    assert.deepEqual(elements(r.document, 'banned_v6_net'), [
      { prefix: { addr: '2001:db8::', len: 48 } },
    ]);
    assert.equal(r.covered, 2);
    assert.equal(r.v4, 3);
    assert.equal(r.v6, 3);
  });

  it('renders remaining seconds as timeouts, none for permanent bans, skips ended ones', () => {
    const r = renderNftablesDocument(
      [
        e('192.0.2.1', NOW + 3600_000),
        e('192.0.2.2', NOW + 1500),
        e('192.0.2.3', NOW + 400),
        e('192.0.2.4', NOW - 1),
        e('192.0.2.128/25'),
        e('2001:db8::/64', NOW + 60_000),
      ],
      { mode: 'host', now: NOW },
    );
    assert.equal(r.ended, 1);
    assert.deepEqual(elements(r.document, 'banned_v4'), [
      { elem: { val: '192.0.2.1', timeout: 3600 } },
      { elem: { val: '192.0.2.2', timeout: 2 } },
      { elem: { val: '192.0.2.3', timeout: 1 } },
    ]);
    assert.deepEqual(elements(r.document, 'banned_v4_net'), [
      { prefix: { addr: '192.0.2.128', len: 25 } },
    ]);
    assert.deepEqual(elements(r.document, 'banned_v6_64'), [
      { elem: { val: '2001:db8::', timeout: 60 } },
    ]);
    assert.equal(r.v4, 4);
    assert.equal(r.v6, 1);
  });

  it("is the agent's table: the same sets, rules and elements as a snapshot the agent applies", () => {
    const bans = [e('192.0.2.1', NOW + 60_000), e('192.0.2.0/24'), e('2001:db8::/64')];
    const doc = renderNftablesDocument(bans, { mode: 'both', now: NOW, verdict: 'reject' });
    const agent = renderReplace(
      { mode: 'both', verdict: 'reject', hooks: [], ports: [], udpPorts: [], interface: '' },
      normaliseBans(bans, NOW).sets,
      NOW,
    );
    assert.deepEqual(doc.document.nftables.slice(1), agent.nftables);
  });

  it('hooks input, forward or both, and replaces the table in one document', () => {
    const chainsOf = (mode: 'host' | 'gateway' | 'both') =>
      (renderNftablesDocument([], { mode, now: NOW }).document.nftables as Cmd[])
        .map((c) => c['add']?.['chain'])
        .filter((c) => c !== undefined)
        .map((c) => [c['name'], c['hook'], c['prio']]);
    assert.deepEqual(chainsOf('host'), [['input', 'input', -10]]);
    assert.deepEqual(chainsOf('gateway'), [['forward', 'forward', -10]]);
    assert.deepEqual(chainsOf('both'), [
      ['input', 'input', -10],
      ['forward', 'forward', -10],
    ]);
    const doc = renderNftablesDocument([], { mode: 'host', now: NOW }).document.nftables as Cmd[];
    assert.deepEqual(
      doc.slice(1, 4).map((c) => Object.keys(c)[0]),
      ['add', 'delete', 'add'],
    );
    // An empty ban set has no element command: nft refuses an empty list.
    assert.equal(doc.filter((c) => c['add']?.['element'] !== undefined).length, 0);
  });

  it('uses reject when asked', () => {
    const text = JSON.stringify(
      renderNftablesDocument([e('192.0.2.1')], { mode: 'host', now: NOW, verdict: 'reject' })
        .document,
    );
    assert.match(text, /\{"reject":null\}/);
    assert.doesNotMatch(text, /"drop"/);
  });
});

describe('nftables document, streamed', () => {
  /** Every element of every `add element` command, per set. */
  function allElements(doc: {
    nftables: readonly Record<string, unknown>[];
  }): Map<string, unknown[]> {
    const out = new Map<string, unknown[]>();
    for (const c of doc.nftables as Cmd[]) {
      const el = c['add']?.['element'];
      if (el === undefined) continue;
      const name = String(el['name']);
      out.set(name, [...(out.get(name) ?? []), ...(el['elem'] as unknown[])]);
    }
    return out;
  }

  it('says what the whole document says, the same commands around the same elements, in pieces', () => {
    const bans: BanEntry[] = [
      e('198.51.100.0/24'),
      e('198.51.0.0/16'),
      e('2001:db8::/48'),
      e('2001:db8::/56'),
      e('203.0.113.9', NOW - 1),
    ];
    // Enough single addresses for several `add element` commands per hash set.
    for (let i = 0; i < 12_000; i++)
      bans.push(e(`10.${(i >> 8) & 255}.${i & 255}.1`, NOW + 60_000 + i));
    // Canonical text, as the store holds targets.
    const canonical = (text: string): string => formatCidr(parseCidr(text) ?? assert.fail(text));
    for (let i = 0; i < 6_000; i++) bans.push(e(canonical(`2001:db8:${i.toString(16)}::1`)));
    for (let i = 0; i < 300; i++)
      bans.push(e(canonical(`2001:db8:1:${i.toString(16)}::/64`), NOW + 3_600_000));
    for (const options of [
      { mode: 'host' as const, now: NOW },
      {
        mode: 'both' as const,
        now: NOW,
        verdict: 'reject' as const,
        hooks: ['input' as const, 'prerouting' as const],
      },
    ]) {
      const whole = renderNftablesDocument(bans, options).document;
      let walks = 0;
      const ends = new Map(bans.map((b) => [b.target, b.end]));
      const pieces = [
        ...renderNftablesText(
          {
            targets: () => {
              walks++;
              return ends.keys();
            },
            endOf: (target) => ends.get(target),
          },
          options,
        ),
      ];
      const streamed = JSON.parse(pieces.join('')) as { nftables: Record<string, unknown>[] };
      const isElements = (c: Record<string, unknown>): boolean =>
        (c as Cmd)['add']?.['element'] !== undefined;
      assert.deepEqual(
        streamed.nftables.filter((c) => !isElements(c)),
        whole.nftables.filter((c) => !isElements(c)),
      );
      const got = allElements(streamed);
      const want = allElements(whole);
      assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
      for (const [set, elems] of want) assert.deepEqual(got.get(set), elems, set);
      assert.equal(got.get('banned_v4')?.length, 12_000);
      assert.equal(
        streamed.nftables.filter((c) => (c as Cmd)['add']?.['element']?.['name'] === 'banned_v4')
          .length,
        3,
        '12,000 addresses in commands of 5,000',
      );
      assert.equal(walks, 1, 'the bans are walked once');
      assert.ok(pieces.length > 10, 'the document comes in pieces');
    }
  });
});
