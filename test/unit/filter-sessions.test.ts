// Filters that pair lines by session (OpenSMTPD): bounded session table, pairing only within one sender, host and pid, and the ban going to the session's own client.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { CidrSet } from '../../src/core/ip.js';
import type { BanRequest, SyslogEvent } from '../../src/core/types.js';
import { parseJailFile } from '../../src/config/jail-options.js';
import { JailEngine } from '../../src/jails/engine.js';
import { compileFilter, compileRegex } from '../../src/jails/filter.js';
import { resolveFilter } from '../../src/jails/filters/index.js';
import { SessionTable } from '../../src/jails/session-table.js';
import { ErrorCode, isFleetbanError } from '../../src/core/errors.js';

const T0 = Date.UTC(2026, 11, 2, 10);
const MIN = 60_000;

function ev(
  message: string,
  at = T0,
  where: Partial<Pick<SyslogEvent, 'hostname' | 'peer' | 'pid'>> = {},
): SyslogEvent {
  return {
    format: 'rfc3164',
    facility: 2,
    severity: 6,
    time: at,
    receivedAt: at,
    hostname: where.hostname ?? 'mx1',
    peer: where.peer ?? '10.0.0.1',
    program: 'smtpd',
    pid: where.pid ?? '4021',
    message,
  };
}

const connected = (id: string, address: string): string =>
  `${id} smtp connected address=${address} host=<unknown>`;
const permfail = (id: string, user = 'bob'): string =>
  `${id} smtp authentication user=${user} result=permfail`;

test('the session table evicts the session used longest ago when full, and counts it', () => {
  const t = new SessionTable({ maxSessions: 2, idleMs: 10 * MIN });
  t.open('a', '198.51.100.1', T0);
  t.open('b', '198.51.100.2', T0);
  assert.equal(t.lookup('a', T0 + 1), '198.51.100.1', 'a used: b is now the oldest');
  t.open('c', '198.51.100.3', T0 + 2);
  assert.equal(t.size, 2);
  assert.equal(t.evicted, 1);
  assert.equal(t.lookup('b', T0 + 3), null, 'b was evicted');
  assert.equal(t.lookup('a', T0 + 3), '198.51.100.1');
  assert.equal(t.lookup('c', T0 + 3), '198.51.100.3');
});

test('the session table forgets a session idle too long, and sweeps idle ones when others open', () => {
  const t = new SessionTable({ maxSessions: 100, idleMs: 10 * MIN });
  t.open('a', '198.51.100.1', T0);
  assert.equal(t.lookup('a', T0 + 10 * MIN), '198.51.100.1', 'exactly the idle time: kept');
  assert.equal(t.lookup('a', T0 + 20 * MIN + 1), null, 'idle longer: forgotten');
  assert.equal(t.expired, 1);
  t.open('b', '198.51.100.2', T0);
  t.open('c', '198.51.100.3', T0 + 5 * MIN);
  t.open('d', '198.51.100.4', T0 + 11 * MIN);
  assert.equal(t.size, 2, 'b went idle and was swept when d opened');
  assert.equal(t.expired, 2);
  t.close('c');
  assert.equal(t.lookup('c', T0 + 11 * MIN), null, 'closed');
  assert.throws(() => new SessionTable({ maxSessions: 0, idleMs: 1 }), TypeError);
});

test('a failure pairs with its own session only: another sender, host or pid never lends its address', () => {
  const f = compileFilter(resolveFilter('opensmtpd'));
  const id = '7f3a1c2b4d5e6f70';
  assert.equal(f.match(connected(id, '198.51.100.10'), ev('', T0)), null);
  assert.equal(f.match(permfail(id), ev('', T0 + 1))?.address, '198.51.100.10');
  for (const other of [{ peer: '10.0.0.2' }, { hostname: 'mx2' }, { pid: '4022' }]) {
    assert.equal(f.match(permfail(id), ev('', T0 + 2, other)), null, JSON.stringify(other));
  }
  // The same id opened by another host's daemon pairs there, and leaves mx1's session alone.
  f.match(connected(id, '198.51.100.11'), ev('', T0 + 3, { hostname: 'mx2' }));
  assert.equal(
    f.match(permfail(id), ev('', T0 + 4, { hostname: 'mx2' }))?.address,
    '198.51.100.11',
  );
  assert.equal(f.match(permfail(id), ev('', T0 + 5))?.address, '198.51.100.10');
});

test('a session is forgotten on disconnect, after its idle time, and when newer ones push it out', () => {
  const f = compileFilter(resolveFilter('opensmtpd'), { maxSessions: 3, idleMs: 10 * MIN });
  f.match(connected('0000000000000001', '198.51.100.21'), ev('', T0));
  f.match('0000000000000001 smtp disconnected reason=quit', ev('', T0 + 1));
  assert.equal(f.match(permfail('0000000000000001'), ev('', T0 + 2)), null, 'after disconnect');

  f.match(connected('0000000000000002', '198.51.100.22'), ev('', T0));
  assert.equal(
    f.match(permfail('0000000000000002'), ev('', T0 + 9 * MIN))?.address,
    '198.51.100.22',
  );
  assert.equal(
    f.match(permfail('0000000000000002'), ev('', T0 + 18 * MIN))?.address,
    '198.51.100.22',
    'each line of the session keeps it alive',
  );
  assert.equal(f.match(permfail('0000000000000002'), ev('', T0 + 29 * MIN)), null, 'idle 11 min');

  for (let i = 3; i <= 6; i++)
    f.match(connected(`000000000000000${i}`, `198.51.100.${20 + i}`), ev('', T0 + 30 * MIN));
  assert.deepEqual(f.sessionStats, { size: 3, evicted: 1, expired: 1 });
  assert.equal(f.match(permfail('0000000000000003'), ev('', T0 + 30 * MIN)), null, 'evicted');
  assert.equal(
    f.match(permfail('0000000000000006'), ev('', T0 + 30 * MIN))?.address,
    '198.51.100.26',
  );
});

test('a jail bans the session client after maxretry, never the address an attacker writes', () => {
  const bans: BanRequest[] = [];
  const engine = new JailEngine({
    jails: parseJailFile('jails.d/opensmtpd.json', {
      opensmtpd: { enabled: true, maxretry: 3, findtime: '10m', bantime: '1h' },
    }),
    ignore: new CidrSet([]),
    maxTrackedAttackers: 100,
    clock: new ManualClock(T0),
    onBan: (r) => {
      bans.push(r);
    },
  });
  const victim = '5f6a7b8c9d0e1f2a';
  const attacker = '6a7b8c9d0e1f2a3b';
  engine.process(ev(connected(victim, '192.0.2.80'), T0));
  engine.process(ev(connected(attacker, '203.0.113.140'), T0));
  // Each line names the victim's session and address in the attacker's own user name.
  for (let i = 0; i < 3; i++) {
    engine.process(
      ev(permfail(attacker, `${victim} smtp connected address=192.0.2.80 host=x`), T0 + i),
    );
  }
  assert.deepEqual(
    bans.map((b) => [b.jail, b.attacker, b.failures]),
    [['opensmtpd', '203.0.113.140', 3]],
  );
  assert.deepEqual(bans[0]?.hosts, { mx1: 3 });
});

test('session tags are checked where the filter is compiled', () => {
  const refused = (fn: () => unknown, text: RegExp): void => {
    assert.throws(fn, (e: unknown) => {
      assert.ok(isFleetbanError(e) && e.code === ErrorCode.FILTER_INVALID);
      assert.match(e.message, text);
      return true;
    });
  };
  refused(
    () => compileRegex('x', '^<F-SESSION>\\w+</F-SESSION> failed', 'failregex'),
    /must contain <HOST> or <ADDR>/,
  );
  assert.deepEqual(
    compileRegex('x', '^<F-SESSION>\\w+</F-SESSION> failed', 'failregex', true).sessionGroups,
    ['f_session'],
  );
  refused(
    () => compileRegex('x', '^<F-SESSION>\\w+</F-SESSION> open', 'session open', true),
    /session open pattern must contain <F-SESSION> and <HOST> or <ADDR>/,
  );
  refused(
    () => compileRegex('x', '^closed <HOST>', 'session close', true),
    /session close pattern must contain <F-SESSION>/,
  );
});

test('a reload keeps the open sessions: a session opened before it still pairs after it', () => {
  const bans: BanRequest[] = [];
  const configs = parseJailFile('jails.d/opensmtpd.json', {
    opensmtpd: { enabled: true, maxretry: 2, findtime: '10m', bantime: '1h' },
  });
  const engine = new JailEngine({
    jails: configs,
    ignore: new CidrSet([]),
    maxTrackedAttackers: 100,
    clock: new ManualClock(T0),
    onBan: (r) => {
      bans.push(r);
    },
  });
  const id = '7f3a1c2b4d5e6f70';
  engine.process(ev(connected(id, '203.0.113.150'), T0));
  engine.process(ev(permfail(id), T0 + 1));
  engine.reload(configs);
  engine.process(ev(permfail(id), T0 + 2));
  assert.deepEqual(
    bans.map((b) => [b.attacker, b.failures]),
    [['203.0.113.150', 2]],
  );
});
