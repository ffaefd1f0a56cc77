// Filter compilation: fail2ban tags, address canonicalisation, ignoreregex order, errors, literal pre-check.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, isFleetbanError } from '../../src/core/errors.js';
import { compileFilter, compileRegex } from '../../src/jails/filter.js';
import { requiredLiteral } from '../../src/jails/literal.js';

const f = (failregex: string[], ignoreregex: string[] = []) =>
  compileFilter({ name: 't', failregex, ignoreregex });

test('<HOST> takes IPv4, IPv4-mapped, IPv6 and bracketed IPv6, and reports canonical text', () => {
  const filter = f(['^bad login from <HOST> port \\d+$']);
  const cases: [string, string][] = [
    ['192.0.2.1', '192.0.2.1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['2001:DB8:0:0::1', '2001:db8::1'],
    ['[2001:db8::1]', '2001:db8::1'],
    ['::1', '::1'],
    ['2001:db8::', '2001:db8::'],
  ];
  for (const [raw, canonical] of cases) {
    assert.equal(filter.match(`bad login from ${raw} port 22`)?.address, canonical, raw);
  }
});

test('an IPv6 zone index is matched and dropped: the address alone is the ban target', () => {
  const filter = f(['^bad login from <HOST> port \\d+$']);
  const cases: [string, string][] = [
    ['fe80::1%eth0', 'fe80::1'],
    ['[fe80::1%enp3s0]', 'fe80::1'],
    ['2001:db8::1%2', '2001:db8::1'],
    ['fe80::%br-lan.10', 'fe80::'],
  ];
  for (const [raw, canonical] of cases) {
    assert.equal(filter.match(`bad login from ${raw} port 22`)?.address, canonical, raw);
  }
  // IPv4 has no zones, and a zone is one interface name, not any text.
  assert.equal(filter.match('bad login from 192.0.2.1%eth0 port 22'), null);
  assert.equal(filter.match('bad login from fe80::1%eth0 x port 22'), null);
  assert.equal(f(['^from <ADDR>$']).match('from fe80::1%eth0')?.address, 'fe80::1');
});

test('hostnames and impossible addresses never match', () => {
  const filter = f(['^bad login from <HOST>$']);
  assert.equal(filter.match('bad login from attacker.example.org'), null);
  assert.equal(filter.match('bad login from 300.1.1.1'), null);
});

test('<ADDR> takes no brackets; <F-USER> is captured; <F-ID> and other fields are accepted', () => {
  const filter = f(['^u=<F-USER>\\S+</F-USER> id=<F-ID>\\d+</F-ID> a=<ADDR>$']);
  assert.deepEqual(
    { ...filter.match('u=bob id=7 a=198.51.100.3') },
    { address: '198.51.100.3', user: 'bob', regex: 0, ignored: false },
  );
  assert.equal(filter.match('u=bob id=7 a=[198.51.100.3]'), null);
});

test('the first matching failregex wins; the same tag may appear in several alternatives', () => {
  const filter = f(['^(?:a <HOST>|b <HOST>)$', '^c <F-USER>\\w+</F-USER> <HOST>$']);
  assert.equal(filter.match('b 192.0.2.9')?.address, '192.0.2.9');
  assert.deepEqual(
    [filter.match('c eve 192.0.2.8')?.regex, filter.match('c eve 192.0.2.8')?.user],
    [1, 'eve'],
  );
});

test('ignoreregex is consulted only when a failregex matched, and classify reports it', () => {
  const filter = f(['^fail from <HOST>'], ['trusted']);
  assert.equal(filter.match('trusted line without failure'), null);
  assert.equal(filter.classify('trusted line without failure'), null);
  assert.equal(filter.match('fail from 192.0.2.1 trusted'), null);
  assert.equal(filter.classify('fail from 192.0.2.1 trusted')?.ignored, true);
  assert.equal(filter.match('fail from 192.0.2.1')?.address, '192.0.2.1');
});

test('bad patterns are FILTER_INVALID naming the filter and the pattern', () => {
  const cases = ['^oops (<HOST>', '^no address here$', '<F-USER>x', 'x</F-USER> <HOST>'];
  for (const pattern of cases) {
    assert.throws(
      () => compileRegex('myfilter', pattern, 'failregex'),
      (e: unknown) =>
        isFleetbanError(e, ErrorCode.FILTER_INVALID) &&
        e.message.includes('"myfilter"') &&
        e.message.includes(JSON.stringify(pattern)),
      pattern,
    );
  }
  assert.throws(
    () => f([]),
    (e: unknown) => isFleetbanError(e, ErrorCode.FILTER_INVALID),
  );
  // An ignoreregex need not name an address.
  assert.doesNotThrow(() => compileRegex('myfilter', '^harmless$', 'ignoreregex'));
});

test('requiredLiteral finds text every match must contain, and nothing when it cannot prove it', () => {
  const table: [string, string][] = [
    ['^Failed \\S+ for .*? from x', 'Failed '],
    ['^Invalid user (?<u>.*) from', 'Invalid user '],
    ['abc?def', 'def'],
    ['abcd?', 'abc'],
    ['ab+cd', 'ab'],
    ['x{0,3}yz', 'yz'],
    ['a{2}bc', 'bc'],
    ['foo|barbaz', ''],
    ['(?:foo|bar)', ''],
    ['\\[preauth\\]', '[preauth]'],
    ['[abc]def\\d', 'def'],
    ['a\\.b{x', 'a.b{x'],
  ];
  for (const [source, literal] of table) {
    assert.equal(requiredLiteral(source), literal, source);
  }
});
