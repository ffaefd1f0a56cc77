// The pure nftables stages: normalising bans, diffing against the kernel, rendering libnftables JSON.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planBatch, renderPlan } from '../../src/nft/batch-plan.js';
import { parseCidr } from '../../src/core/ip.js';
import { diffSet } from '../../src/nft/diff.js';
import {
  banSetOf,
  perSet,
  setElement,
  timeoutSeconds,
  type SetElement,
} from '../../src/nft/element.js';
import { normaliseBans } from '../../src/nft/normalise.js';
import { parseListedSet } from '../../src/nft/parse-list.js';
import { renderReplace, renderRuleset, type RulesetOptions } from '../../src/nft/render.js';

const NOW = Date.UTC(2026, 0, 1);
const T = { family: 'inet', table: 'fleetban' } as const;
const host: RulesetOptions = {
  mode: 'host',
  verdict: 'drop',
  hooks: [],
  ports: [],
  udpPorts: [],
  interface: '',
};

function el(target: string, end: number | null): SetElement {
  const cidr = parseCidr(target);
  assert.ok(cidr !== null, target);
  return setElement(cidr, end);
}

function keys(m: ReadonlyMap<string, SetElement>): string[] {
  return [...m.keys()].sort();
}

test('normalise sorts bans into their sets; drops prefixes inside a wider one of the same interval set, expired and invalid entries', () => {
  const r = normaliseBans(
    [
      { target: '198.51.100.7', end: NOW + 60_000 },
      { target: '198.51.100.0/24', end: NOW + 60_000 },
      { target: '198.51.100.128/25', end: null },
      { target: '203.0.113.9', end: NOW + 1 },
      { target: '203.0.113.10', end: NOW },
      { target: '2001:db8::1', end: null },
      { target: '2001:db8::/64', end: NOW + 5000 },
      { target: '2001:db8::/48', end: NOW + 5000 },
      { target: '2001:db8::/56', end: NOW + 5000 },
      { target: '2001:db8:1::1', end: null },
      { target: 'not-an-address', end: null },
    ],
    NOW,
  );
  // An address or /64 inside a banned prefix stays in its hash set: enforced twice, never an overlap.
  assert.deepEqual(keys(r.sets.banned_v4), ['198.51.100.7', '203.0.113.9']);
  assert.deepEqual(keys(r.sets.banned_v4_net), ['198.51.100.0/24']);
  assert.deepEqual(keys(r.sets.banned_v6), ['2001:db8:1::1', '2001:db8::1']);
  assert.deepEqual(keys(r.sets.banned_v6_64), ['2001:db8::/64']);
  assert.deepEqual(keys(r.sets.banned_v6_net), ['2001:db8::/48']);
  assert.equal(r.covered, 2);
  assert.equal(r.expired, 1);
  assert.equal(r.invalid, 1);
});

test('every prefix has one set: /32 and /128 hash, IPv6 /64 masked hash, the rest interval', () => {
  const setOf = (t: string) => banSetOf(parseCidr(t) ?? assert.fail(t));
  assert.equal(setOf('192.0.2.1'), 'banned_v4');
  assert.equal(setOf('192.0.2.0/31'), 'banned_v4_net');
  assert.equal(setOf('0.0.0.0/0'), 'banned_v4_net');
  assert.equal(setOf('2001:db8::1'), 'banned_v6');
  assert.equal(setOf('2001:db8::/64'), 'banned_v6_64');
  assert.equal(setOf('2001:db8::/63'), 'banned_v6_net');
  assert.equal(setOf('2001:db8::/65'), 'banned_v6_net');
  assert.equal(setOf('::ffff:192.0.2.1'), 'banned_v4');
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
  assert.equal(r.sets.banned_v4_net.get('198.51.100.0/24')?.end, NOW + 9000);
  assert.equal(r.sets.banned_v6.get('2001:db8::5')?.end, null);
});

test('normalise of 100,000 bans stays fast (covering checks per prefix length, not per pair)', () => {
  const bans = [];
  for (let i = 0; i < 100_000; i++)
    bans.push({ target: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}/32`, end: NOW + 3_600_000 });
  for (let i = 0; i < 1000; i++)
    bans.push({ target: `11.0.${i >> 2}.${(i & 3) * 64}/26`, end: null });
  bans.push({ target: '11.0.0.0/16', end: null });
  const started = performance.now();
  const r = normaliseBans(bans, NOW);
  const ms = performance.now() - started;
  assert.equal(r.covered, 1000);
  assert.equal(r.sets.banned_v4.size, 100_000);
  assert.deepEqual(keys(r.sets.banned_v4_net), ['11.0.0.0/16']);
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

/** A rule as render.ts writes it: `left` matched against `@set`, then the verdict. */
function rule(chain: string, left: unknown, set: string, verdict: unknown = { drop: null }) {
  return {
    add: {
      rule: { ...T, chain, expr: [{ match: { op: '==', left, right: `@${set}` } }, verdict] },
    },
  };
}
const IP = { payload: { protocol: 'ip', field: 'saddr' } };
const IP6 = { payload: { protocol: 'ip6', field: 'saddr' } };
const IP6_64 = { '&': [IP6, 'ffff:ffff:ffff:ffff::'] };

test('golden: a snapshot is one fresh table with every set filled (host mode, drop)', () => {
  const { sets } = normaliseBans(
    [
      { target: '198.51.100.7', end: NOW + 90_500 },
      { target: '203.0.113.0/24', end: null },
      { target: '2001:db8::/64', end: NOW + 3_600_000 },
      { target: '2001:db8:5::9', end: null },
      { target: '2001:db8:6::/48', end: NOW + 60_000 },
    ],
    NOW,
  );
  assert.deepEqual(renderReplace(host, sets, NOW), {
    nftables: [
      { add: { table: { family: 'inet', name: 'fleetban' } } },
      { delete: { table: { family: 'inet', name: 'fleetban' } } },
      { add: { table: { family: 'inet', name: 'fleetban' } } },
      { add: { set: { ...T, name: 'banned_v4', type: 'ipv4_addr', flags: ['timeout'] } } },
      { add: { set: { ...T, name: 'banned_v6', type: 'ipv6_addr', flags: ['timeout'] } } },
      { add: { set: { ...T, name: 'banned_v6_64', type: 'ipv6_addr', flags: ['timeout'] } } },
      {
        add: {
          set: { ...T, name: 'banned_v4_net', type: 'ipv4_addr', flags: ['interval', 'timeout'] },
        },
      },
      {
        add: {
          set: { ...T, name: 'banned_v6_net', type: 'ipv6_addr', flags: ['interval', 'timeout'] },
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
      rule('input', IP, 'banned_v4'),
      rule('input', IP6, 'banned_v6'),
      rule('input', IP6_64, 'banned_v6_64'),
      rule('input', IP, 'banned_v4_net'),
      rule('input', IP6, 'banned_v6_net'),
      {
        add: {
          element: {
            ...T,
            name: 'banned_v4',
            elem: [{ elem: { val: '198.51.100.7', timeout: 91 } }],
          },
        },
      },
      { add: { element: { ...T, name: 'banned_v6', elem: ['2001:db8:5::9'] } } },
      {
        add: {
          element: {
            ...T,
            name: 'banned_v6_64',
            elem: [{ elem: { val: '2001:db8::', timeout: 3600 } }],
          },
        },
      },
      {
        add: {
          element: {
            ...T,
            name: 'banned_v4_net',
            elem: [{ prefix: { addr: '203.0.113.0', len: 24 } }],
          },
        },
      },
      {
        add: {
          element: {
            ...T,
            name: 'banned_v6_net',
            elem: [{ elem: { val: { prefix: { addr: '2001:db8:6::', len: 48 } }, timeout: 60 } }],
          },
        },
      },
    ],
  });
});

test('golden: gateway mode with reject, ports and an interface; the input chain is removed on a rebuild', () => {
  const rules = renderRuleset(
    {
      mode: 'gateway',
      verdict: 'reject',
      hooks: [],
      ports: [22, 443],
      udpPorts: [],
      interface: 'eth0',
    },
    false,
  );
  const scoped = (left: unknown, set: string) => ({
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
          { match: { op: '==', left, right: `@${set}` } },
          { reject: null },
        ],
      },
    },
  });
  assert.deepEqual(rules.slice(6), [
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
    scoped(IP, 'banned_v4'),
    scoped(IP6, 'banned_v6'),
    scoped(IP6_64, 'banned_v6_64'),
    scoped(IP, 'banned_v4_net'),
    scoped(IP6, 'banned_v6_net'),
    // A prerouting chain left by an earlier configuration goes too (add first: it may be absent).
    {
      add: {
        chain: {
          ...T,
          name: 'prerouting',
          type: 'filter',
          hook: 'prerouting',
          prio: -300,
          policy: 'accept',
        },
      },
    },
    { delete: { chain: { ...T, name: 'prerouting' } } },
  ]);
  const both = renderRuleset(
    { mode: 'both', verdict: 'drop', hooks: [], ports: [22], udpPorts: [], interface: '' },
    true,
  );
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

test('golden: changes delete first (so a prefix can replace the prefixes it covers), then add', () => {
  const kernel = perSet(() => new Map<string, SetElement>());
  kernel.banned_v4_net.set('198.51.100.0/25', el('198.51.100.0/25', NOW + 60_000));
  const wanted = normaliseBans(
    [
      { target: '198.51.100.0/25', end: NOW + 60_000 },
      { target: '198.51.100.0/24', end: NOW + 60_000 },
      { target: '2001:db8::/64', end: NOW + 60_000 },
    ],
    NOW,
  );
  const diffs = perSet((set) => diffSet(wanted.sets[set], kernel[set], NOW, 10_000));
  const plan = planBatch(diffs, (set) => wanted.sets[set]);
  assert.deepEqual(renderPlan(plan, NOW), [
    {
      delete: {
        element: {
          ...T,
          name: 'banned_v4_net',
          elem: [{ prefix: { addr: '198.51.100.0', len: 25 } }],
        },
      },
    },
    {
      add: {
        element: {
          ...T,
          name: 'banned_v6_64',
          elem: [{ elem: { val: '2001:db8::', timeout: 60 } }],
        },
      },
    },
    {
      add: {
        element: {
          ...T,
          name: 'banned_v4_net',
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
  // An interval `banned_v4` is the older layout: every element is read, for the migration.
  const listed = parseListedSet(json, 'banned_v4', NOW);
  assert.equal(listed.interval, true);
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
  assert.throws(() => parseListedSet('{"x":1}', 'banned_v4', NOW));
  assert.equal(
    parseListedSet('{"nftables":[{"set":{"name":"banned_v4"}}]}', 'banned_v4', NOW).elements.size,
    0,
  );
});

test('parse a hash set: the /64 set holds network addresses; anything fleetban never writes there is foreign', () => {
  const list = (name: string, flags: string[], elem: unknown[]) =>
    JSON.stringify({
      nftables: [{ set: { family: 'inet', name, table: 'fleetban', flags, elem } }],
    });
  const v6 = parseListedSet(
    list(
      'banned_v6_64',
      ['timeout'],
      [
        { elem: { val: '2001:db8:1:2::', timeout: 60, expires: 59 } },
        '2001:db8:1:3::',
        '2001:db8:1:4::1',
        '192.0.2.1',
      ],
    ),
    'banned_v6_64',
    NOW,
  );
  assert.equal(v6.interval, false);
  assert.deepEqual(
    [...v6.elements.values()].map((e) => [e.key, e.end]),
    [
      ['2001:db8:1:2::/64', NOW + 60_000],
      ['2001:db8:1:3::/64', null],
    ],
  );
  assert.equal(v6.foreign, 2);
  const net = parseListedSet(
    list(
      'banned_v4_net',
      ['interval', 'timeout'],
      [{ prefix: { addr: '10.0.0.0', len: 8 } }, '10.9.9.9'],
    ),
    'banned_v4_net',
    NOW,
  );
  assert.deepEqual([...net.elements.keys()], ['10.0.0.0/8']);
  assert.equal(net.foreign, 1);
});

/** The chains a ruleset adds and keeps (not deleted in the same batch), as [name, hook, prio]. */
function keptChains(commands: readonly Readonly<Record<string, unknown>>[]): unknown[][] {
  const deleted = new Set(
    commands
      .map((c) => (c['delete'] as { chain?: { name: string } } | undefined)?.chain?.name)
      .filter((n) => n !== undefined),
  );
  return commands
    .map((c) => (c['add'] as { chain?: Record<string, unknown> } | undefined)?.chain)
    .filter((c) => c !== undefined && !deleted.has(c['name'] as string))
    .map((c) => [c?.['name'], c?.['hook'], c?.['prio']]);
}

function rulesOf(
  commands: readonly Readonly<Record<string, unknown>>[],
  chain: string,
): { expr: Record<string, unknown>[] }[] {
  return commands
    .map(
      (c) =>
        (c['add'] as { rule?: { chain: string; expr: Record<string, unknown>[] } } | undefined)
          ?.rule,
    )
    .filter((r) => r !== undefined && r.chain === chain) as { expr: Record<string, unknown>[] }[];
}

test('hooks: prerouting at raw priority (-300), before DNAT; empty hooks keep the chains of the mode', () => {
  assert.deepEqual(keptChains(renderRuleset(host, true)), [['input', 'input', -10]]);
  assert.deepEqual(keptChains(renderRuleset({ ...host, mode: 'both' }, false)), [
    ['input', 'input', -10],
    ['forward', 'forward', -10],
  ]);
  const docker = renderRuleset({ ...host, hooks: ['prerouting', 'input'] }, true);
  assert.deepEqual(keptChains(docker), [
    ['input', 'input', -10],
    ['prerouting', 'prerouting', -300],
  ]);
  assert.deepEqual(
    rulesOf(docker, 'prerouting').map((r) => r.expr),
    rulesOf(docker, 'input').map((r) => r.expr),
    'the same rule per set in both chains',
  );
  assert.equal(rulesOf(docker, 'prerouting').length, 5);
  // Set, hooks replace the mode's choice: a gateway that only wants prerouting gets no forward.
  const only = renderRuleset({ ...host, mode: 'gateway', hooks: ['prerouting'] }, false);
  assert.deepEqual(keptChains(only), [['prerouting', 'prerouting', -300]]);
  assert.equal(rulesOf(only, 'forward').length, 0);
  // A fresh table names no chain it does not want: the documents of today stay as they were.
  const fresh = JSON.stringify(renderRuleset({ ...host, mode: 'both' }, true));
  assert.equal(fresh.includes('prerouting'), false);
});

test('ports scope TCP, udpPorts UDP: one rule per set and protocol, all traffic when both are empty', () => {
  const dport = (r: { expr: Record<string, unknown>[] }) => r.expr[0];
  const udp = renderRuleset({ ...host, udpPorts: [53] }, true);
  assert.deepEqual(rulesOf(udp, 'input').map(dport).slice(0, 1), [
    { match: { op: '==', left: { payload: { protocol: 'udp', field: 'dport' } }, right: 53 } },
  ]);
  assert.equal(rulesOf(udp, 'input').length, 5);
  const both = rulesOf(
    renderRuleset({ ...host, ports: [22, 443], udpPorts: [51820, 53] }, true),
    'input',
  );
  assert.equal(both.length, 10);
  assert.deepEqual(
    both.slice(0, 2).map((r) => r.expr),
    [
      [
        {
          match: {
            op: '==',
            left: { payload: { protocol: 'tcp', field: 'dport' } },
            right: { set: [22, 443] },
          },
        },
        { match: { op: '==', left: IP, right: '@banned_v4' } },
        { drop: null },
      ],
      [
        {
          match: {
            op: '==',
            left: { payload: { protocol: 'udp', field: 'dport' } },
            right: { set: [51820, 53] },
          },
        },
        { match: { op: '==', left: IP, right: '@banned_v4' } },
        { drop: null },
      ],
    ],
  );
  const all = rulesOf(renderRuleset(host, true), 'input');
  assert.equal(all.length, 5);
  assert.equal(JSON.stringify(all).includes('dport'), false);
});
