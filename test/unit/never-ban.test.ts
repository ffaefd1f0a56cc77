// Never-ban: narrowing a banmask around protected addresses, the server's list, and the ban manager refusing or narrowing bans.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { ErrorCode, isFleetbanError } from '../../src/core/errors.js';
import { formatCidr, narrowAround, parseIp, type Cidr } from '../../src/core/ip.js';
import { BanGuard } from '../../src/server/ban-guard.js';
import { BanManager } from '../../src/server/ban-manager.js';
import { NeverBanList, type NeverBanSources } from '../../src/server/never-ban.js';
import { BanLog } from '../../src/log/ban-log.js';
import { MemoryBanStore } from '../../src/store/memory-store.js';
import { T0, banRequest, cidr, recordingLogger } from './server-fixtures.js';

function ip(text: string) {
  return parseIp(text) ?? assert.fail(text);
}

function narrow(target: string, attacker: string, keep: string[]): string | null {
  const c = narrowAround(cidr(target), ip(attacker), keep.map(cidr));
  return c === null ? null : formatCidr(c);
}

test('narrowAround: the widest prefix around the attacker that spares every kept address', () => {
  const table: [string, string, string[], string | null][] = [
    // nothing kept inside: the banmask stands
    ['2001:db8:1::/64', '2001:db8:1::dead', ['2001:db8:2::1'], '2001:db8:1::/64'],
    // ::dead (0xdead = 1101...) and ::1 (0x0001) first differ in the top bit of the last group,
    // bit 113: the /113 around ::dead spares ::1
    ['2001:db8:1::/64', '2001:db8:1::dead', ['2001:db8:1::1'], '2001:db8:1::8000/113'],
    // ::7f00:1 (0x7f00 = 0111...) and ::1 (loopback) share 97 leading bits
    ['::/64', '::7f00:1', ['::1'], '::4000:0/98'],
    // two kept addresses: the narrower cut wins (0xdead and 0xde00 share 8 bits of the group)
    [
      '2001:db8:1::/64',
      '2001:db8:1::dead',
      ['2001:db8:1::1', '2001:db8:1::de00'],
      '2001:db8:1::de80/121',
    ],
    // a kept prefix inside the banmask
    ['198.51.100.0/24', '198.51.100.200', ['198.51.100.0/25'], '198.51.100.128/25'],
    // next door to the kept address: down to the attacker alone
    ['198.51.100.0/24', '198.51.100.7', ['198.51.100.6'], '198.51.100.7'],
    // the attacker itself is kept (directly or inside a kept prefix): no ban at all
    ['198.51.100.0/24', '198.51.100.7', ['198.51.100.7'], null],
    ['198.51.100.7', '198.51.100.7', ['198.51.100.0/24'], null],
    ['2001:db8:1::/64', '2001:db8:1::dead', ['2001:db8::/32'], null],
    // other family: no clash
    ['198.51.100.0/24', '198.51.100.7', ['::1', '2001:db8::/32'], '198.51.100.0/24'],
  ];
  for (const [target, attacker, keep, want] of table) {
    assert.equal(
      narrow(target, attacker, keep),
      want,
      `${target} around ${attacker} sparing ${keep.join(' ')}`,
    );
  }
});

function list(over: Partial<NeverBanSources> = {}): NeverBanList {
  return new NeverBanList({
    listen: [],
    allowedSenders: [],
    adminNetworks: [],
    interfaces: () => [{ name: 'eth0', address: '192.0.2.10' }],
    ...over,
  });
}

test('the never-ban list: loopback, interfaces, listen addresses, senders, admin networks, agents', () => {
  const l = list({
    listen: [
      { key: 'ingest.tcp.address', address: '198.51.100.53' },
      { key: 'ingest.udp.address', address: '0.0.0.0' },
      { key: 'agents.address', address: '::' },
    ],
    allowedSenders: [cidr('10.1.0.0/16'), cidr('0.0.0.0/0')],
    adminNetworks: [cidr('203.0.113.0/28')],
  });
  assert.deepEqual(
    l.entries().map((e) => `${e.cidr} ${e.source} ${e.note}`),
    [
      '127.0.0.0/8 self loopback',
      '::1 self loopback',
      '192.0.2.10 self eth0',
      '198.51.100.53 self ingest.tcp.address',
      // wildcard listen addresses and a catch-all sender entry protect nobody
      '10.1.0.0/16 sender ingest.allowedSenders',
      '203.0.113.0/28 admin neverBan.adminNetworks',
    ],
  );
  let changes = 0;
  l.onChange(() => changes++);
  assert.equal(l.addAgentPeer('web1', '::ffff:198.51.100.99'), true);
  assert.equal(l.addAgentPeer('web1', '198.51.100.99'), false, 'known already');
  assert.equal(l.addAgentPeer('web2', '10.1.2.3'), false, 'covered by a sender entry');
  assert.equal(changes, 1);
  assert.equal(l.entries().at(-1)?.cidr, '198.51.100.99');
  for (const [target, covered] of [
    ['127.0.0.53', true],
    ['192.0.2.0/24', true],
    ['192.0.2.11', false],
    ['10.0.0.0/8', true],
    ['10.2.0.1', false],
    ['203.0.113.8/29', true],
    ['203.0.113.16/28', false],
    ['198.51.100.99', true],
    ['::/64', true],
    ['2001:db8::/64', false],
  ] as const) {
    assert.equal(l.covers(target), covered, target);
  }
  l.reconfigure({
    listen: [],
    allowedSenders: [],
    adminNetworks: [cidr('2001:db8::/48')],
    interfaces: () => [],
  });
  assert.equal(changes, 2);
  assert.equal(l.covers('2001:db8::/64'), true);
  assert.equal(l.covers('203.0.113.8/29'), false, 'the old admin network is gone');
  assert.equal(l.covers('198.51.100.99'), true, 'agent peers survive a reload');
});

async function managerWith(neverBan: NeverBanList, ignoreip: string[] = ['2001:db8:1::1']) {
  const store = new MemoryBanStore();
  await store.open();
  const clock = new ManualClock(T0);
  const logger = recordingLogger();
  const ignored = (): Cidr[] => ignoreip.map(cidr);
  const guard = new BanGuard({ neverBan, ignored, logger });
  const bans = new BanManager({
    store,
    clock,
    logger,
    banLog: new BanLog('', logger, clock),
    bantime: () => 600,
    ignored,
    guard,
  });
  return { store, bans, guard, logger };
}

test('a jail ban never covers an ignored address: the /64 is narrowed, counted and warned once', async () => {
  const { store, bans, guard, logger } = await managerWith(list());
  const req = banRequest('sshd', '2001:db8:1::dead', { target: '2001:db8:1::/64' });
  bans.request(req);
  await bans.drain();
  bans.request(req);
  await bans.drain();
  assert.deepEqual(
    [...store.active()].map((b) => b.target),
    ['2001:db8:1::8000/113'],
  );
  assert.equal(store.get('2001:db8:1::/64'), undefined);
  assert.deepEqual(guard.stats, { narrowed: 2, refused: 0, manualRefused: 0 });
  const warnings = logger.messages('warn');
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(
    warnings[0] ?? '',
    /banning 2001:db8:1::8000\/113 instead of 2001:db8:1::\/64.*2001:db8:1::1/,
  );
});

test('a jail ban around ::7f00:1 spares loopback ::1; an attacker on the list is not banned at all', async () => {
  const { store, bans, guard } = await managerWith(
    list({ allowedSenders: [cidr('198.51.100.0/24')] }),
    [],
  );
  bans.request(banRequest('sshd', '::7f00:1', { target: '::/64' }));
  bans.request(banRequest('sshd', '198.51.100.7'));
  bans.request(banRequest('sshd', '198.51.99.7', { target: '198.51.0.0/16' }));
  await bans.drain();
  assert.deepEqual([...store.active()].map((b) => b.target).sort(), [
    '198.51.96.0/22',
    '::4000:0/98',
  ]);
  assert.deepEqual(guard.stats, { narrowed: 2, refused: 1, manualRefused: 0 });
});

test('manual bans covering a never-ban address are refused with BAN_PROTECTED, nothing written', async () => {
  const { store, bans, guard } = await managerWith(
    list({ adminNetworks: [cidr('203.0.113.0/28')] }),
    [],
  );
  for (const target of [
    '203.0.113.5',
    '203.0.113.0/24',
    '127.0.0.1',
    '192.0.2.10',
    '::1',
    '0.0.0.0/0',
  ]) {
    await assert.rejects(
      bans.ban({ target }),
      (e: unknown) => isFleetbanError(e, ErrorCode.BAN_PROTECTED) && /never bans/.test(e.message),
      target,
    );
  }
  assert.equal(store.stats().activeBans, 0);
  assert.equal(guard.stats.manualRefused, 6);
  await bans.ban({ target: '203.0.113.16/28' });
  assert.deepEqual(
    [...store.active()].map((b) => b.target),
    ['203.0.113.16/28'],
  );
});

test('covers() on target text answers as overlaps() on the parsed prefix, with and without networks', () => {
  const targets: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const g = (n: number) => ((i * 7919 + n * 104729) & 0xffff).toString(16);
    targets.push(`2001:db8:${g(1)}:${g(2)}::/64`, `10.${i & 255}.${(i >> 3) & 255}.0/24`);
    targets.push(`2001:db8:${g(3)}::${g(4)}`, `10.${i & 255}.1.${i & 255}`);
  }
  // Protected addresses that some of those targets cover, and some they do not.
  const hits = ['2001:db8:1:2::7', '2001:db8:1f3::9', '10.7.0.9', '10.5.1.5'];
  targets.push('2001:db8:1:2::/64', '2001:db8:1f3::/48', '2001:db8::/32', '10.7.0.0/24');
  for (const adminNetworks of [
    hits.map((h) => cidr(h)),
    [...hits.map((h) => cidr(h)), cidr('2001:db8:40::/48'), cidr('10.200.0.0/16')],
  ]) {
    const l = list({ adminNetworks });
    let covered = 0;
    for (const t of targets) {
      const parsed = cidr(t);
      assert.equal(l.covers(t), l.overlaps(parsed), t);
      if (l.covers(t)) covered++;
    }
    assert.ok(covered >= 4, `some targets are covered (${covered})`);
  }
});
