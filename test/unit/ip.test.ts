// Address and prefix tables: canonical text (RFC 5952, IPv4-mapped), masks, containment and CidrSet membership.
import assert from 'node:assert/strict';
import { BlockList, isIPv4 } from 'node:net';
import { test } from 'node:test';
import {
  CidrSet,
  cidrContains,
  formatCidr,
  isSingleAddress,
  maskAddress,
  parseCidr,
  parseCidrList,
  parseIp,
  type Cidr,
} from '../../src/core/ip.js';

function cidr(text: string): Cidr {
  return parseCidr(text) ?? assert.fail(`test setup: ${text} should parse`);
}

test('parseIp: canonical text and family, or null', () => {
  const table: [string, string | null, (4 | 6)?][] = [
    ['198.51.100.7', '198.51.100.7', 4],
    ['  198.51.100.7 ', '198.51.100.7', 4],
    ['0.0.0.0', '0.0.0.0', 4],
    ['255.255.255.255', '255.255.255.255', 4],
    // node's isIPv4 refuses leading zeros (octal ambiguity), so they never reach a ban key
    ['01.2.3.4', null],
    ['1.2.3.04', null],
    ['010.0.0.1', null],
    ['256.1.1.1', null],
    ['1.2.3', null],
    ['1.2.3.4.5', null],
    ['', null],
    ['example.org', null],
    ['1.2.3.4/32', null],
    // IPv4-mapped IPv6 is the IPv4 attacker, in dotted and in hex form
    ['::ffff:192.0.2.1', '192.0.2.1', 4],
    ['::FFFF:192.0.2.1', '192.0.2.1', 4],
    ['[::ffff:192.0.2.1]', '192.0.2.1', 4],
    ['::ffff:c000:201', '192.0.2.1', 4],
    ['0:0:0:0:0:ffff:c000:0201', '192.0.2.1', 4],
    ['::ffff:01.2.3.4', null],
    // IPv4-compatible (deprecated) is not mapped: stays IPv6
    ['::1.2.3.4', '::102:304', 6],
    // RFC 5952: lowercase, no leading zeros, longest zero run compressed, first on a tie, not a single group
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1', 6],
    ['2001:0db8::0001', '2001:db8::1', 6],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', 6],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3', 6],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1', 6],
    ['0:0:0:0:0:0:0:0', '::', 6],
    ['0:0:0:0:0:0:0:1', '::1', 6],
    ['2001:db8::', '2001:db8::', 6],
    ['fe80::1%eth0', 'fe80::1', 6],
    ['[2001:db8::7]', '2001:db8::7', 6],
    ['[fe80::1%25eth0]', 'fe80::1', 6],
    ['1:2:3:4:5:6:7:8:9', null],
    ['2001:db8::g', null],
    ['2001:db8:::1', null],
    ['[2001:db8::1', null],
  ];
  for (const [raw, text, family] of table) {
    const ip = parseIp(raw);
    if (text === null) assert.equal(ip, null, `${JSON.stringify(raw)} should be refused`);
    else assert.deepEqual(ip, { family, text }, JSON.stringify(raw));
  }
});

test('parseCidr: host bits cleared, prefix bounds, bad prefixes refused', () => {
  const table: [string, string | null][] = [
    ['198.51.100.7', '198.51.100.7'],
    ['198.51.100.7/32', '198.51.100.7'],
    ['198.51.100.7/24', '198.51.100.0/24'],
    ['198.51.100.7/0', '0.0.0.0/0'],
    ['198.51.100.255/31', '198.51.100.254/31'],
    ['10.1.2.3/8', '10.0.0.0/8'],
    ['10.1.2.3/1', '0.0.0.0/1'],
    ['200.1.2.3/1', '128.0.0.0/1'],
    ['2001:db8::1/128', '2001:db8::1'],
    ['2001:db8::1', '2001:db8::1'],
    ['2001:db8:1:2:3:4:5:6/64', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:3:4:5:6/63', '2001:db8:1:2::/63'],
    ['2001:db8:1:3:3:4:5:6/63', '2001:db8:1:2::/63'],
    ['2001:db8:ffff::/20', '2001::/20'],
    ['::/0', '::/0'],
    ['2001:db8::1/0', '::/0'],
    ['[2001:db8::1]/64', '2001:db8::/64'],
    // a mapped address keeps the IPv6 prefix scale: /120 of ::ffff:a.b.c.d is a /24 of IPv4
    ['::ffff:192.0.2.77/120', '192.0.2.0/24'],
    ['::ffff:192.0.2.77/128', '192.0.2.77'],
    ['::ffff:192.0.2.77/24', null],
    ['198.51.100.7/33', null],
    ['2001:db8::1/129', null],
    ['198.51.100.7/', null],
    ['198.51.100.7/-1', null],
    ['198.51.100.7/2a', null],
    ['198.51.100.7/1000', null],
    ['198.51.100.7/24/8', null],
    ['/24', null],
    ['not-an-ip/24', null],
  ];
  for (const [raw, text] of table) {
    const c = parseCidr(raw);
    if (text === null) assert.equal(c, null, `${raw} should be refused`);
    else assert.equal(c === null ? null : formatCidr(c), text, raw);
  }
});

test('maskAddress: banmask of an address, clamped to the family', () => {
  const v4 = parseIp('203.0.113.77') ?? assert.fail();
  const v6 = parseIp('2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff') ?? assert.fail();
  const table: [typeof v4, number, string][] = [
    [v4, 32, '203.0.113.77'],
    [v4, 24, '203.0.113.0/24'],
    [v4, 25, '203.0.113.0/25'],
    [v4, 26, '203.0.113.64/26'],
    [v4, 0, '0.0.0.0/0'],
    [v4, 40, '203.0.113.77'],
    [v4, -3, '0.0.0.0/0'],
    [v6, 128, '2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff'],
    [v6, 64, '2001:db8:aaaa:bbbb::/64'],
    [v6, 56, '2001:db8:aaaa:bb00::/56'],
    [v6, 49, '2001:db8:aaaa:8000::/49'],
    [v6, 17, '2001::/17'],
    [v6, 33, '2001:db8:8000::/33'],
    [v6, 0, '::/0'],
    [v6, 200, '2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff'],
  ];
  for (const [ip, prefix, text] of table) {
    assert.equal(formatCidr(maskAddress(ip, prefix)), text, `${ip.text}/${prefix}`);
  }
});

test('isSingleAddress and formatCidr agree on full-length prefixes', () => {
  const table: [string, boolean][] = [
    ['198.51.100.7', true],
    ['198.51.100.7/32', true],
    ['198.51.100.7/31', false],
    ['2001:db8::1', true],
    ['2001:db8::1/127', false],
    ['::/0', false],
  ];
  for (const [raw, single] of table) {
    const c = cidr(raw);
    assert.equal(isSingleAddress(c), single, raw);
    assert.equal(formatCidr(c).includes('/'), !single, raw);
  }
});

test('cidrContains: outer holds all of inner, never across families', () => {
  const table: [string, string, boolean][] = [
    ['198.51.100.0/24', '198.51.100.7', true],
    ['198.51.100.0/24', '198.51.100.0/24', true],
    ['198.51.100.0/24', '198.51.100.128/25', true],
    ['198.51.100.0/25', '198.51.100.0/24', false],
    ['198.51.100.0/24', '198.51.101.7', false],
    ['0.0.0.0/0', '203.0.113.9', true],
    ['198.51.100.7', '198.51.100.7', true],
    ['198.51.100.7', '198.51.100.8', false],
    ['2001:db8::/32', '2001:db8:1::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['::/0', '2001:db8::1', true],
    ['::/0', '198.51.100.7', false],
    ['0.0.0.0/0', '2001:db8::1', false],
    // the mapped range ::ffff:0:0/96 is all of IPv4
    ['::ffff:0:0/96', '198.51.100.7', true],
    ['::ffff:0:0/96', '2001:db8::1', false],
  ];
  for (const [outer, inner, expected] of table) {
    assert.equal(cidrContains(cidr(outer), cidr(inner)), expected, `${outer} ⊇ ${inner}`);
  }
});

test('CidrSet: membership in any text form, repeated lookups, added prefixes', () => {
  const set = new CidrSet([cidr('10.0.0.0/8'), cidr('2001:db8::/32'), cidr('192.0.2.1')]);
  assert.equal(set.size, 3);
  const table: [string, boolean][] = [
    ['10.1.2.3', true],
    ['10.1.2.3', true],
    ['::ffff:10.1.2.3', true],
    ['[::ffff:10.1.2.3]', true],
    ['11.0.0.1', false],
    ['192.0.2.1', true],
    ['192.0.2.2', false],
    ['2001:DB8::5', true],
    ['2001:db8::5%eth0', true],
    ['2001:db9::5', false],
    ['not an address', false],
    ['', false],
  ];
  for (const [address, expected] of table) assert.equal(set.has(address), expected, address);
  // adding a prefix after lookups must not serve stale cached answers
  assert.equal(set.has('11.0.0.1'), false);
  set.add(cidr('11.0.0.0/24'));
  assert.equal(set.has('11.0.0.1'), true);
  assert.deepEqual(set.entries().map(formatCidr), [
    '10.0.0.0/8',
    '2001:db8::/32',
    '192.0.2.1',
    '11.0.0.0/24',
  ]);
});

test('parseCidrList: all parsed, or the first offending text', () => {
  const ok = parseCidrList(['10.0.0.0/8', '::1']);
  assert.ok('ok' in ok);
  assert.deepEqual(ok.ok.map(formatCidr), ['10.0.0.0/8', '::1']);
  assert.deepEqual(parseCidrList(['10.0.0.0/8', '10.0.0.0/33', 'x']), { bad: '10.0.0.0/33' });
  assert.deepEqual(parseCidrList([]), { ok: [] });
});

/** A seeded generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x / 2 ** 32;
  };
}

test('CidrSet agrees with node BlockList on random, overlapping and adjacent IPv4 prefixes', () => {
  const rnd = random(13);
  const v4 = (n: number): string => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  for (let round = 0; round < 20; round++) {
    const list = new BlockList();
    const set = new CidrSet();
    // Prefixes inside 10.0.0.0/16, so that they overlap, nest and touch.
    for (let i = 0; i < 1 + round * 3; i++) {
      const c = cidr(
        `${v4(0x0a000000 + Math.floor(rnd() * 65536))}/${16 + Math.floor(rnd() * 17)}`,
      );
      list.addSubnet(c.address, c.prefix, 'ipv4');
      set.add(c);
    }
    for (let i = 0; i < 2000; i++) {
      const a = v4(0x09ffff00 + Math.floor(rnd() * (65536 + 512)));
      assert.equal(
        set.has(a),
        list.check(a, 'ipv4'),
        `${a} in ${set.entries().map(formatCidr).join(' ')}`,
      );
    }
  }
  const all = new CidrSet([cidr('0.0.0.0/0')]);
  assert.deepEqual(
    ['0.0.0.0', '255.255.255.255', '::ffff:1.2.3.4'].map((a) => all.has(a)),
    [true, true, true],
  );
  assert.equal(all.has('2001:db8::1'), false);
  // An IPv6 prefix over IPv4-mapped space holds those IPv4 addresses.
  const mapped = new CidrSet([cidr('::/0')]);
  assert.deepEqual(
    ['192.0.2.1', '2001:db8::1'].map((a) => mapped.has(a)),
    [true, true],
  );
  assert.equal(new CidrSet().has('192.0.2.1'), false);
});

test('parseIp takes the same dotted quads as node isIPv4, on random text', () => {
  const rnd = random(7);
  const chars = '0123456789.....:a ';
  for (let i = 0; i < 50_000; i++) {
    let text = '';
    const len = 1 + Math.floor(rnd() * 16);
    for (let j = 0; j < len; j++) text += chars[Math.floor(rnd() * chars.length)] ?? '';
    // Half the cases near the shape of an address.
    if (i % 2 === 0)
      text = [0, 1, 2, 3]
        .map(() => String(Math.floor(rnd() * 300)).padStart(Math.floor(rnd() * 3), '0'))
        .join('.');
    const ip = parseIp(text);
    const expected = isIPv4(text.trim()) ? text.trim() : null;
    if (expected !== null)
      assert.deepEqual(ip, { family: 4, text: expected }, JSON.stringify(text));
    else assert.ok(ip === null || ip.family === 6, JSON.stringify(text));
  }
});

test('parseIp: IPv6 canonical text agrees with the WHATWG URL serializer, on random addresses', () => {
  const rnd = random(29);
  for (let i = 0; i < 20_000; i++) {
    // Mostly zero groups, so that runs of zeros of every length and position occur.
    const groups = Array.from({ length: 8 }, () =>
      rnd() < 0.5 ? 0 : Math.floor(rnd() * (rnd() < 0.5 ? 16 : 65536)),
    );
    const hex = groups.map((g) => {
      const h = g.toString(16).padStart(Math.floor(rnd() * 5), '0');
      return rnd() < 0.3 ? h.toUpperCase() : h;
    });
    let text = hex.join(':');
    // Sometimes compress a zero run by hand (not always the longest), sometimes a dotted tail.
    const zero = groups.indexOf(0);
    if (zero >= 0 && rnd() < 0.5) {
      let end = zero;
      while (end < 8 && groups[end] === 0 && rnd() < 0.8) end++;
      if (end > zero) text = `${hex.slice(0, zero).join(':')}::${hex.slice(end).join(':')}`;
    } else if (rnd() < 0.3) {
      const v4 = `${(groups[6] ?? 0) >>> 8}.${(groups[6] ?? 0) & 255}.${(groups[7] ?? 0) >>> 8}.${(groups[7] ?? 0) & 255}`;
      text = `${hex.slice(0, 6).join(':')}:${v4}`;
    }
    const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
    const ip = parseIp(text);
    assert.ok(ip !== null, text);
    if (mapped) continue;
    const expected = new URL(`http://[${text}]/`).hostname.slice(1, -1);
    assert.deepEqual(ip, { family: 6, text: expected }, text);
  }
});
