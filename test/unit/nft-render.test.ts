// The pure nftables stages: normalising bans, diffing against the kernel, rendering libnftables JSON.
import assert from 'node:assert/strict';
import { renderPlan } from '../../src/nft/batch-plan.js';
import { test } from 'node:test';
import { parseCidr } from '../../src/core/ip.js';
import { diffSet } from '../../src/nft/diff.js';
import { setElement, timeoutSeconds, type SetElement } from '../../src/nft/element.js';
import { normaliseBans } from '../../src/nft/normalise.js';
import { parseListedSet } from '../../src/nft/parse-list.js';
import { renderReplace, renderRuleset, type RulesetOptions } from '../../src/nft/render.js';

const NOW = Date.UTC(2026, 0, 1);
const T = { family: 'inet', table: 'fleetban' } as const;
const host: RulesetOptions = { mode: 'host', verdict: 'drop', ports: [], interface: '' };

function el(target: string, end: number | null): SetElement {
  const cidr = parseCidr(target);
  assert.ok(cidr !== null, target);
  return setElement(cidr, end);
}

function keys(m: ReadonlyMap<string, SetElement>): string[] {
  return [...m.keys()].sort();
}

test('normalise drops addresses and prefixes inside a banned prefix, expired and invalid entries', () => {
  const r = normaliseBans(
    [
      { target: '198.51.100.7', end: NOW + 60_000 },
      { target: '198.51.100.0/24', end: NOW + 60_000 },
      { target: '198.51.100.128/25', end: null },
      { target: '203.0.113.9', end: NOW + 1 },
      { target: '203.0.113.10', end: NOW },
      { target: '2001:db8::1', end: null },
      { target: '2001:db8::/64', end: NOW + 5000 },
      { target: '2001:db8:1::1', end: null },
      { target: 'not-an-address', end: null },
    ],
    NOW,
  );
  assert.deepEqual(keys(r[4]), ['198.51.100.0/24', '203.0.113.9']);
  assert.deepEqual(keys(r[6]), ['2001:db8:1::1', '2001:db8::/64']);
  assert.equal(r.covered, 3);
  assert.equal(r.expired, 1);
  assert.equal(r.invalid, 1);
});

test('normalise keeps the later end when one prefix is written twice', () => {
  const r = normaliseBans(
    [
      { target: '198.51.100.9/24', end: NOW + 1000 },
      { target: '198.51.100.0/24', end: NOW + 9000 },
      { target: '2001:db8::5', end: NOW + 9000 },
      { target: '2001:DB8:0::5', end: null },
    ],
    NOW,
  );
  assert.equal(r[4].get('198.51.100.0/24')?.end, NOW + 9000);
  assert.equal(r[6].get('2001:db8::5')?.end, null);
});

test('normalise of 100,000 bans stays fast (covering checks per prefix length, not per pair)', () => {
  const bans = [];
  for (let i = 0; i < 100_000; i++)
    bans.push({ target: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, end: NOW + 3_600_000 });
  bans.push({ target: '10.0.0.0/16', end: null });
  const started = performance.now();
  const r = normaliseBans(bans, NOW);
  const ms = performance.now() - started;
  assert.equal(r.covered, 65_536);
  assert.equal(r[4].size, 100_000 - 65_536 + 1);
  assert.ok(ms < 3000, `normalise took ${ms.toFixed(0)} ms`);
});

test('diff: adds missing, removes stray, re-times drifted, ignores expired kernel elements', () => {
  const wanted = new Map(
    [
      el('192.0.2.1', NOW + 600_000),
      el('192.0.2.2', NOW + 600_000),
      el('192.0.2.3', null),
      el('192.0.2.4', NOW + 600_000),
    ].map((e) => [e.key, e]),
  );
  const kernel = new Map(
    [
      el('192.0.2.1', NOW + 605_000), // within the 10 s tolerance
      el('192.0.2.2', NOW + 30_000), // drifted: the ban was extended
      el('192.0.2.3', NOW + 600_000), // should be permanent
      el('192.0.2.4', NOW - 1), // the kernel dropped it already
      el('192.0.2.99', NOW + 1000), // stray
      el('192.0.2.98', NOW), // stray but expired: deleting it would fail the batch
    ].map((e) => [e.key, e]),
  );
  const d = diffSet(wanted, kernel, NOW, 10_000);
  assert.deepEqual(d.add.map((e) => e.key).sort(), ['192.0.2.2', '192.0.2.3', '192.0.2.4']);
  assert.deepEqual(
    d.remove.map((e) => e.key),
    ['192.0.2.99'],
  );
});

test('timeouts round up, so the kernel never lifts a ban early; permanent has none', () => {
  assert.equal(timeoutSeconds(NOW + 1, NOW), 1);
  assert.equal(timeoutSeconds(NOW + 60_000, NOW), 60);
  assert.equal(timeoutSeconds(NOW + 60_001, NOW), 61);
  assert.equal(timeoutSeconds(null, NOW), null);
});

test('golden: a snapshot is one fresh table with both sets filled (host mode, drop)', () => {
  const sets = normaliseBans(
    [
      { target: '198.51.100.7', end: NOW + 90_500 },
      { target: '203.0.113.0/24', end: null },
      { target: '2001:db8::/64', end: NOW + 3_600_000 },
    ],
    NOW,
  );
  assert.deepEqual(renderReplace(host, sets, NOW), {
    nftables: [
      { add: { table: { family: 'inet', name: 'fleetban' } } },
      { delete: { table: { family: 'inet', name: 'fleetban' } } },
      { add: { table: { family: 'inet', name: 'fleetban' } } },
      {
        add: {
          set: { ...T, name: 'banned_v4', type: 'ipv4_addr', flags: ['interval', 'timeout'] },
        },
      },
      {
        add: {
          set: { ...T, name: 'banned_v6', type: 'ipv6_addr', flags: ['interval', 'timeout'] },
        },
      },
      {
        add: {
          chain: {
            ...T,
            name: 'input',
            type: 'filter',
            hook: 'input',
            prio: -10,
            policy: 'accept',
          },
        },
      },
      {
        add: {
          rule: {
            ...T,
            chain: 'input',
            expr: [
              {
                match: {
                  op: '==',
                  left: { payload: { protocol: 'ip', field: 'saddr' } },
                  right: '@banned_v4',
                },
              },
              { drop: null },
            ],
          },
        },
      },
      {
        add: {
          rule: {
            ...T,
            chain: 'input',
            expr: [
              {
                match: {
                  op: '==',
                  left: { payload: { protocol: 'ip6', field: 'saddr' } },
                  right: '@banned_v6',
                },
              },
              { drop: null },
            ],
          },
        },
      },
      {
        add: {
          element: {
            ...T,
            name: 'banned_v4',
            elem: [
              { elem: { val: '198.51.100.7', timeout: 91 } },
              { prefix: { addr: '203.0.113.0', len: 24 } },
            ],
          },
        },
      },
      {
        add: {
          element: {
            ...T,
            name: 'banned_v6',
            elem: [{ elem: { val: { prefix: { addr: '2001:db8::', len: 64 } }, timeout: 3600 } }],
          },
        },
      },
    ],
  });
});

test('golden: gateway mode with reject, ports and an interface; the input chain is removed on a rebuild', () => {
  const rules = renderRuleset(
    { mode: 'gateway', verdict: 'reject', ports: [22, 443], interface: 'eth0' },
    false,
  );
  assert.deepEqual(rules.slice(3), [
    {
      add: {
        chain: { ...T, name: 'input', type: 'filter', hook: 'input', prio: -10, policy: 'accept' },
      },
    },
    { delete: { chain: { ...T, name: 'input' } } },
    {
      add: {
        chain: {
          ...T,
          name: 'forward',
          type: 'filter',
          hook: 'forward',
          prio: -10,
          policy: 'accept',
        },
      },
    },
    { flush: { chain: { ...T, name: 'forward' } } },
    {
      add: {
        rule: {
          ...T,
          chain: 'forward',
          expr: [
            { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'eth0' } },
            {
              match: {
                op: '==',
                left: { payload: { protocol: 'tcp', field: 'dport' } },
                right: { set: [22, 443] },
              },
            },
            {
              match: {
                op: '==',
                left: { payload: { protocol: 'ip', field: 'saddr' } },
                right: '@banned_v4',
              },
            },
            { reject: null },
          ],
        },
      },
    },
    {
      add: {
        rule: {
          ...T,
          chain: 'forward',
          expr: [
            { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'eth0' } },
            {
              match: {
                op: '==',
                left: { payload: { protocol: 'tcp', field: 'dport' } },
                right: { set: [22, 443] },
              },
            },
            {
              match: {
                op: '==',
                left: { payload: { protocol: 'ip6', field: 'saddr' } },
                right: '@banned_v6',
              },
            },
            { reject: null },
          ],
        },
      },
    },
  ]);
  const both = renderRuleset({ mode: 'both', verdict: 'drop', ports: [22], interface: '' }, true);
  const chains = both
    .filter((c) => 'add' in c && 'chain' in (c.add as object))
    .map((c) => (c.add as { chain: { name: string } }).chain.name);
  assert.deepEqual(chains, ['input', 'forward']);
  const oneRule = both.find((c) => 'add' in c && 'rule' in (c.add as object)) as {
    add: { rule: { expr: unknown[] } };
  };
  assert.deepEqual(oneRule.add.rule.expr[0], {
    match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 22 },
  });
});

test('golden: changes delete first (so a prefix can replace its addresses), then add', () => {
  const kernel = new Map([el('198.51.100.7', NOW + 60_000)].map((e) => [e.key, e]));
  const wanted = normaliseBans(
    [
      { target: '198.51.100.7', end: NOW + 60_000 },
      { target: '198.51.100.0/24', end: NOW + 60_000 },
    ],
    NOW,
  );
  const d4 = diffSet(wanted[4], kernel, NOW, 10_000);
  const d6 = diffSet(wanted[6], new Map(), NOW, 10_000);
  const plan = {
    steps: {
      4: { kind: 'change' as const, remove: d4.remove, add: d4.add },
      6: { kind: 'change' as const, remove: d6.remove, add: d6.add },
    },
    deferred: { 4: [], 6: [] },
  };
  assert.deepEqual(renderPlan(plan, NOW), [
    { delete: { element: { ...T, name: 'banned_v4', elem: ['198.51.100.7'] } } },
    {
      add: {
        element: {
          ...T,
          name: 'banned_v4',
          elem: [{ elem: { val: { prefix: { addr: '198.51.100.0', len: 24 } }, timeout: 60 } }],
        },
      },
    },
  ]);
});

test('parse `nft -j list set` output as nft 1.0.6 prints it', () => {
  const json = JSON.stringify({
    nftables: [
      { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
      {
        set: {
          family: 'inet',
          name: 'banned_v4',
          table: 'fleetban',
          type: 'ipv4_addr',
          handle: 1,
          flags: ['interval', 'timeout'],
          elem: [
            { elem: { val: '10.0.0.5', timeout: 100, expires: 99 } },
            { prefix: { addr: '10.1.0.0', len: 24 } },
            '10.2.0.1',
            { elem: { val: { prefix: { addr: '10.3.0.0', len: 16 } }, timeout: 30, expires: 29 } },
            { range: ['10.9.0.1', '10.9.0.7'] },
          ],
        },
      },
    ],
  });
  const listed = parseListedSet(json, 4, NOW);
  assert.equal(listed.foreign, 1);
  assert.deepEqual(
    [...listed.elements.values()].map((e) => [e.key, e.end]),
    [
      ['10.0.0.5', NOW + 100_000],
      ['10.1.0.0/24', null],
      ['10.2.0.1', null],
      ['10.3.0.0/16', NOW + 30_000],
    ],
  );
  assert.throws(() => parseListedSet('{"x":1}', 4, NOW));
  assert.equal(
    parseListedSet('{"nftables":[{"set":{"name":"banned_v4"}}]}', 4, NOW).elements.size,
    0,
  );
});
