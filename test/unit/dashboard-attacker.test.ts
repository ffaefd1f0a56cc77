// The Attacker page's data: bans covering an address found by prefix lookups (IPv4, IPv6), with evidence and history; bad input named.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attackerReport } from '../../src/dashboard/attacker.js';
import { isFleetbanError } from '../../src/core/errors.js';
import { MemoryBanStore } from '../../src/store/memory-store.js';
import { newBan } from './store-contract.js';

async function storeWith(...targets: string[]): Promise<MemoryBanStore> {
  const store = new MemoryBanStore();
  await store.open();
  await store.ban(
    targets.map((t) =>
      t.includes('/')
        ? newBan(t, 60, { origin: 'manual', jail: '', attacker: '', hosts: {}, lines: [] })
        : newBan(t),
    ),
  );
  return store;
}

test('finds the ban of the address and every prefix ban containing it, narrowest first, with their evidence', async () => {
  const store = await storeWith(
    '192.0.2.7',
    '192.0.2.0/24',
    '192.0.0.0/16',
    '192.0.3.0/24',
    '192.0.2.8',
  );
  const r = await attackerReport(store, ' 192.0.2.7 ');
  assert.equal(r.address, '192.0.2.7');
  assert.deepEqual(
    r.bans.map((b) => b.target),
    ['192.0.2.7', '192.0.2.0/24', '192.0.0.0/16'],
  );
  const [own, prefix] = r.bans;
  assert.ok(own !== undefined && prefix !== undefined);
  assert.deepEqual(own.hosts, { web1: 3, web2: 2 });
  assert.deepEqual(own.lines, ['Failed password for root from 192.0.2.7 port 22 ssh2']);
  assert.deepEqual(prefix.lines, [], 'a manual prefix ban has no evidence');
  assert.ok(r.history !== null);
  assert.equal(r.history.bans, 1);
  assert.deepEqual(r.history.perJail, { sshd: 1 });
  await store.close();
});

test('IPv6: a /64 ban covers an address inside it; an IPv4-mapped address is looked up as IPv4', async () => {
  const store = await storeWith('2001:db8:1:2::/64', '198.51.100.9');
  const six = await attackerReport(store, '2001:DB8:1:2::abcd');
  assert.equal(six.address, '2001:db8:1:2::abcd');
  assert.deepEqual(
    six.bans.map((b) => b.target),
    ['2001:db8:1:2::/64'],
  );
  assert.equal(six.history, null, 'never banned itself');
  const mapped = await attackerReport(store, '::ffff:198.51.100.9');
  assert.equal(mapped.address, '198.51.100.9');
  assert.deepEqual(
    mapped.bans.map((b) => b.target),
    ['198.51.100.9'],
  );
  await store.close();
});

test('a lifted ban leaves its history only: no evidence, and when the history is forgotten', async () => {
  const store = await storeWith('192.0.2.7');
  const own = store.get('192.0.2.7');
  assert.ok(own !== undefined);
  const active = await attackerReport(store, '192.0.2.7', 86_400_000);
  assert.equal(active.bans[0]?.lines.length, 1, 'evidence while the ban is active');
  assert.equal(active.historyKeptUntil, own.start + 86_400_000);
  await store.unban([{ target: '192.0.2.7', at: own.start + 1000, reason: 'manual' }]);
  const past = await attackerReport(store, '192.0.2.7', 86_400_000);
  assert.deepEqual(past.bans, []);
  assert.equal(await store.details('192.0.2.7'), null, 'the evidence went with the ban');
  assert.deepEqual(
    [past.history?.bans, past.history?.perJail, past.history?.lastBanAt],
    [1, { sshd: 1 }, own.start],
  );
  assert.equal(past.historyKeptUntil, own.start + 86_400_000);
  assert.equal((await attackerReport(store, '192.0.2.7')).historyKeptUntil, null);
  assert.equal((await attackerReport(store, '192.0.2.99', 1000)).historyKeptUntil, null);
  await store.close();
});

test('refuses what is not an address or prefix, naming it', async () => {
  const store = await storeWith();
  for (const bad of ['', 'example.org', '192.0.2.1/33', '<script>']) {
    await assert.rejects(attackerReport(store, bad), (e: unknown) => {
      assert.ok(isFleetbanError(e));
      assert.equal(e.code, 'FLEETBAN_REQUEST_INVALID');
      assert.match(e.message, /^ip must be an IP address or CIDR prefix, not '/);
      assert.ok(e.message.includes(`'${bad}'`));
      return true;
    });
  }
  await store.close();
});
