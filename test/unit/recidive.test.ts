// Recidive counts fleetban's own stored bans, never syslog lines, and its longer ban replaces the jail's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { CidrSet } from '../../src/core/ip.js';
import type { BanRequest, SyslogEvent } from '../../src/core/types.js';
import { JailEngine } from '../../src/jails/engine.js';
import { MemoryBanStore } from '../../src/store/memory-store.js';
import { SEC, T0, banManager, banRequest, jails } from './server-fixtures.js';

const JAILS = {
  sshd: { bantime: '10m', maxretry: 3 },
  recidive: { filter: 'recidive', maxretry: 3, findtime: '1d', bantime: '1w' },
};

function engine(requests: BanRequest[], clock = new ManualClock(T0)) {
  return new JailEngine({
    jails: jails(JAILS),
    ignore: new CidrSet(),
    maxTrackedAttackers: 1000,
    clock,
    // Everything counts as banned: recidive must count anyway, sshd lines must not.
    isBanned: () => true,
    onBan: (r) => {
      requests.push(r);
    },
  });
}

function line(program: string, message: string, time = T0): SyslogEvent {
  return {
    format: 'rfc3164',
    facility: 4,
    severity: 5,
    time,
    receivedAt: time,
    hostname: 'web1',
    peer: '10.0.0.1',
    program,
    pid: '1',
    message,
  };
}

test('forged ban lines over syslog reach no jail; stored bans of other jails count towards recidive', () => {
  const requests: BanRequest[] = [];
  const e = engine(requests);
  for (let i = 0; i < 10; i++) {
    for (const program of ['fleetban', 'fail2ban.actions', 'sshd', 'logger']) {
      e.process(line(program, 'NOTICE [sshd] Ban 7.7.7.7'));
      e.process(
        line(
          program,
          '2025-03-03 10:10:01,123 fleetban.actions        [812]: NOTICE  [dovecot] Ban 7.7.7.7',
        ),
      );
    }
  }
  assert.equal(requests.length, 0);
  const recidive = e.stats().find((s) => s.name === 'recidive');
  assert.equal(recidive?.linesSeen, 0, 'no syslog line is routed to a ban-counting jail');

  // its own bans (and those of any ban-counting jail) never count
  e.processBan({ jail: 'recidive', target: '203.0.113.7', start: T0 - SEC });
  e.processBan({ jail: 'sshd', target: '203.0.113.7', start: T0 });
  e.processBan({ jail: 'dovecot', target: '203.0.113.7', start: T0 + 3600 * SEC });
  assert.equal(requests.length, 0);
  e.processBan({ jail: 'manual', target: '203.0.113.7', start: T0 + 7200 * SEC });
  assert.equal(requests.length, 1);
  const r = requests[0];
  assert.deepEqual(
    {
      jail: r?.jail,
      attacker: r?.attacker,
      failures: r?.failures,
      hosts: r?.hosts,
      replace: r?.replace,
    },
    {
      jail: 'recidive',
      attacker: '203.0.113.7',
      failures: 3,
      hosts: { sshd: 1, dovecot: 1, manual: 1 },
      replace: true,
    },
  );
  assert.deepEqual(r?.lines, [
    'NOTICE [sshd] Ban 203.0.113.7',
    'NOTICE [dovecot] Ban 203.0.113.7',
    'NOTICE [manual] Ban 203.0.113.7',
  ]);
});

test('bans further apart than the recidive findtime do not add up; forget on a ban keeps the count', () => {
  const requests: BanRequest[] = [];
  const e = engine(requests);
  e.processBan({ jail: 'sshd', target: '203.0.113.7', start: T0 });
  e.processBan({ jail: 'sshd', target: '203.0.113.7', start: T0 + 2 * 86400 * SEC });
  // what the server does after each stored ban: forget the attacker's failures, not its bans
  e.forget('203.0.113.7', undefined, true);
  e.processBan({ jail: 'sshd', target: '203.0.113.7', start: T0 + 2 * 86400 * SEC + SEC });
  assert.equal(requests.length, 0);
  e.processBan({ jail: 'sshd', target: '203.0.113.7', start: T0 + 2 * 86400 * SEC + 2 * SEC });
  assert.equal(requests.length, 1);
});

test('a recidive request replaces the shorter jail ban of the same target, never a longer one', async () => {
  const store = new MemoryBanStore();
  await store.open();
  const clock = new ManualClock(T0);
  const { bans } = banManager(store, clock, { jails: jails(JAILS) });
  bans.request(banRequest('sshd', '203.0.113.7'));
  await bans.drain();
  assert.equal(store.get('203.0.113.7')?.end, T0 + 600 * SEC);
  const recidive = { ...banRequest('recidive', '203.0.113.7'), replace: true };
  bans.request(recidive);
  await bans.drain();
  const ban = store.get('203.0.113.7');
  assert.deepEqual([ban?.jail, ban?.end], ['recidive', T0 + 7 * 86400 * SEC]);

  await bans.ban({ target: '198.51.100.9', durationSec: null });
  bans.request({ ...banRequest('recidive', '198.51.100.9'), replace: true });
  await bans.drain();
  const kept = store.get('198.51.100.9');
  assert.deepEqual([kept?.jail, kept?.end], ['manual', null], 'a permanent ban stays');
  // without `replace`, an active target is left alone as before
  bans.request(banRequest('sshd', '203.0.113.7'));
  await bans.drain();
  assert.equal(store.get('203.0.113.7')?.jail, 'recidive');
});

test('ignoreregex of a recidive jail applies to the ban notice: manual bans can be left out', () => {
  const requests: BanRequest[] = [];
  const e = new JailEngine({
    jails: jails({
      recidive: { filter: 'recidive', maxretry: 2, ignoreregex: [String.raw`\[manual\]`] },
    }),
    ignore: new CidrSet(),
    maxTrackedAttackers: 1000,
    clock: new ManualClock(T0),
    onBan: (r) => {
      requests.push(r);
    },
  });
  e.processBan({ jail: 'manual', target: '203.0.113.7', start: T0 });
  e.processBan({ jail: 'manual', target: '203.0.113.7', start: T0 + SEC });
  assert.equal(requests.length, 0);
  e.processBan({ jail: 'sshd', target: '203.0.113.7', start: T0 + 2 * SEC });
  e.processBan({ jail: 'sshd', target: '203.0.113.7', start: T0 + 3 * SEC });
  assert.equal(requests.length, 1);
});

test('a replay refills the windows without asking for bans; the recidive ban it finds resets them', () => {
  const requests: BanRequest[] = [];
  const e = engine(requests);
  for (let i = 0; i < 3; i++)
    e.processBan({ jail: 'sshd', target: '203.0.113.7', start: T0 + i * SEC }, true);
  assert.equal(requests.length, 0, 'the replayed crossing asks for nothing');
  e.processBan({ jail: 'recidive', target: '203.0.113.7', start: T0 + 3 * SEC }, true);
  e.processBan({ jail: 'sshd', target: '203.0.113.7', start: T0 + 4 * SEC });
  assert.equal(requests.length, 0, 'the recidive ban reset the count');
  // without the recidive ban in the feed (a crash in between), the next ban asks at once
  for (let i = 0; i < 3; i++)
    e.processBan({ jail: 'sshd', target: '198.51.100.7', start: T0 + i * SEC }, true);
  e.processBan({ jail: 'sshd', target: '198.51.100.7', start: T0 + 5 * SEC });
  assert.equal(requests.length, 1);
  assert.equal(requests[0]?.attacker, '198.51.100.7');
});
