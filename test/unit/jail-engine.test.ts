// Jail engine golden tables: fleet-wide counting, one ban at maxretry, ignore lists, /64, routing, eviction, reload.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { ErrorCode, isFleetbanError } from '../../src/core/errors.js';
import { CidrSet, formatCidr, parseCidr, type Cidr } from '../../src/core/ip.js';
import type { BanRequest, SyslogEvent } from '../../src/core/types.js';
import { parseJailFile } from '../../src/config/jail-options.js';
import type { JailConfig } from '../../src/jails/jail-config.js';
import { JailEngine, type JailStats } from '../../src/jails/engine.js';

const T0 = Date.UTC(2026, 0, 1, 12);
const SEC = 1000;

function jails(json: Record<string, unknown>): JailConfig[] {
  return parseJailFile('jails.d/test.json', json);
}

function cidrs(...texts: string[]): Cidr[] {
  return texts.map((t) => parseCidr(t) ?? assert.fail(t));
}

function setup(
  config: Record<string, unknown> = { sshd: {} },
  max = 1000,
  ignore: string[] = ['127.0.0.0/8'],
) {
  const bans: BanRequest[] = [];
  const clock = new ManualClock(T0);
  const engine = new JailEngine({
    jails: jails(config),
    ignore: new CidrSet(cidrs(...ignore)),
    maxTrackedAttackers: max,
    clock,
    onBan: (r) => {
      bans.push(r);
    },
  });
  return { engine, bans, clock };
}

function ev(
  host: string,
  message: string,
  time = T0,
  program = 'sshd',
  peer = '10.0.0.1',
): SyslogEvent {
  return {
    format: 'rfc3164',
    facility: 4,
    severity: 6,
    time,
    receivedAt: time,
    hostname: host,
    peer,
    program,
    pid: '123',
    message,
  };
}

const failed = (ip: string, user = 'root') =>
  `Failed password for ${user} from ${ip} port 4242 ssh2`;

function stat(engine: JailEngine, name = 'sshd'): JailStats {
  return engine.stats().find((s) => s.name === name) ?? assert.fail(name);
}

test('3 failures on A and 3 on B with maxretry 5: one ban at the 5th, hosts {A:3,B:2}', () => {
  const { engine, bans } = setup();
  const order = ['A', 'B', 'A', 'B', 'A', 'B'];
  order.forEach((h, i) => {
    engine.process(ev(h, failed('203.0.113.7'), T0 + i * SEC));
  });
  assert.equal(bans.length, 1);
  const [ban] = bans;
  assert.ok(ban !== undefined);
  assert.deepEqual(
    { ...ban, target: formatCidr(ban.target), lines: ban.lines.length },
    {
      jail: 'sshd',
      attacker: '203.0.113.7',
      target: '203.0.113.7',
      time: T0 + 4 * SEC,
      failures: 5,
      hosts: { A: 3, B: 2 },
      senders: { '10.0.0.1': 5 },
      lines: 5,
    },
  );
  // The window was reset by the ban: the 6th failure starts a new count.
  const s = stat(engine);
  assert.deepEqual(
    [s.linesSeen, s.matched, s.failures, s.banRequests, s.trackedAttackers],
    [6, 6, 6, 1, 1],
  );
});

test('ignoreip (global and per jail) and ignoreregex count as ignored, never as failures', () => {
  const { engine, bans } = setup({
    sshd: { maxretry: 1, ignoreip: '198.51.100.0/24', ignoreregex: 'for trusted ' },
  });
  engine.process(ev('A', failed('127.0.0.1')));
  engine.process(ev('A', failed('198.51.100.9')));
  engine.process(ev('A', failed('192.0.2.1', 'trusted')));
  assert.equal(bans.length, 0);
  const s = stat(engine);
  assert.deepEqual(
    [s.matched, s.ignoredAddress, s.ignoredByRegex, s.ignored, s.failures],
    [3, 2, 1, 3, 0],
  );
  engine.process(ev('A', failed('192.0.2.1')));
  assert.equal(bans.length, 1);
  assert.deepEqual(engine.ignoreList('sshd').map(formatCidr), ['127.0.0.0/8', '198.51.100.0/24']);
});

test('IPv6 attackers count per /64 (banmask) and the ban targets the prefix', () => {
  const { engine, bans } = setup({ sshd: { maxretry: 3 } });
  engine.process(ev('A', failed('2001:db8:1:2::1')));
  engine.process(ev('B', failed('2001:db8:1:2::ffff')));
  engine.process(ev('A', failed('2001:db8:1:3::1')));
  assert.equal(bans.length, 0);
  engine.process(ev('C', failed('2001:db8:1:2:aaaa::5')));
  assert.equal(bans.length, 1);
  assert.equal(formatCidr(bans[0]?.target ?? assert.fail()), '2001:db8:1:2::/64');
  assert.equal(bans[0]?.attacker, '2001:db8:1:2:aaaa::5');
  assert.deepEqual(bans[0].hosts, { A: 1, B: 1, C: 1 });
});

test('failures further apart than findtime never add up', () => {
  const { engine, bans } = setup({ sshd: { maxretry: 3, findtime: 60 } });
  for (let i = 0; i < 10; i++) engine.process(ev('A', failed('192.0.2.5'), T0 + i * 31 * SEC));
  assert.equal(bans.length, 0);
  engine.process(ev('A', failed('192.0.2.5'), T0 + 9 * 31 * SEC + SEC));
  assert.equal(bans.length, 1);
});

test('program routing: an sshd line logged by cron is not seen by the sshd jail; inline jails see all', () => {
  const { engine, bans } = setup({
    sshd: { maxretry: 1 },
    any: { maxretry: 1, failregex: '^Failed password for \\S+ from <HOST>' },
  });
  engine.process(ev('A', failed('192.0.2.1'), T0, 'cron'));
  assert.equal(stat(engine).linesSeen, 0);
  assert.deepEqual(
    bans.map((b) => b.jail),
    ['any'],
  );
  engine.process(ev('A', failed('192.0.2.2'), T0, 'sshd-session'));
  assert.deepEqual(bans.map((b) => b.jail).sort(), ['any', 'any', 'sshd']);
});

test('hosts: only the named reporting hosts or sender CIDRs feed the jail', () => {
  const { engine, bans } = setup({
    sshd: { maxretry: 1, hosts: ['web01', '*.dmz.example', '10.9.0.0/16'] },
  });
  engine.process(ev('db01', failed('192.0.2.1')));
  engine.process(ev('web01', failed('192.0.2.2')));
  engine.process(ev('WWW.dmz.example', failed('192.0.2.3')));
  engine.process(ev('whatever', failed('192.0.2.4'), T0, 'sshd', '10.9.4.4'));
  assert.deepEqual(
    bans.map((b) => b.attacker),
    ['192.0.2.2', '192.0.2.3', '192.0.2.4'],
  );
  assert.equal(stat(engine).linesSeen, 3);
});

test('maxTrackedAttackers bounds memory and counts evictions', () => {
  const { engine, bans } = setup({ sshd: {} }, 50);
  for (let i = 0; i < 200; i++) engine.process(ev('A', failed(`192.0.2.${i}`)));
  const s = stat(engine);
  assert.deepEqual([s.trackedAttackers, s.evictions, bans.length], [50, 150, 0]);
  assert.deepEqual(engine.totals(), { trackedAttackers: 50, evictions: 150 });
});

test('reload keeps counters and windows of surviving jails, drops the rest, refuses a bad config whole', () => {
  const { engine, bans } = setup({ sshd: {}, other: { maxretry: 2, failregex: '^x <HOST>' } });
  for (let i = 0; i < 4; i++) engine.process(ev('A', failed('192.0.2.9'), T0 + i * SEC));
  engine.process(ev('A', 'x 192.0.2.10', T0, 'app'));
  engine.reload(jails({ sshd: { maxretry: 6 }, third: { failregex: '^y <HOST>' } }));
  let s = stat(engine);
  assert.deepEqual([s.linesSeen, s.failures, s.trackedAttackers, s.maxretry], [4, 4, 1, 6]);
  assert.deepEqual(
    engine
      .stats()
      .map((x) => x.name)
      .sort(),
    ['sshd', 'third'],
  );
  engine.process(ev('A', failed('192.0.2.9'), T0 + 5 * SEC));
  assert.equal(bans.length, 0);
  engine.process(ev('A', failed('192.0.2.9'), T0 + 6 * SEC));
  assert.equal(bans.length, 1);
  assert.equal(bans[0]?.failures, 6);

  const bad = [{ ...(jails({ sshd: {} })[0] ?? assert.fail()), failregex: ['(<HOST>'] }];
  assert.throws(() => {
    engine.reload(bad);
  });
  s = stat(engine);
  assert.equal(s.maxretry, 6);
});

test('forget drops an attacker (or a prefix) everywhere; sweep drops expired windows by the clock', () => {
  const { engine, clock } = setup({ sshd: {} });
  engine.process(ev('A', failed('192.0.2.1')));
  engine.process(ev('A', failed('192.0.2.2')));
  engine.process(ev('A', failed('2001:db8::1')));
  assert.equal(engine.forget('192.0.2.1'), 1);
  assert.equal(engine.forget('2001:db8::99'), 1);
  assert.equal(engine.forget('not an address'), 0);
  assert.equal(stat(engine).trackedAttackers, 1);
  clock.advance(11 * 60 * SEC);
  assert.equal(engine.sweep(), 1);
  assert.equal(stat(engine).trackedAttackers, 0);
});

test('disabled jails are reported but see nothing; a throwing onBan is counted', () => {
  const engine = new JailEngine({
    jails: jails({ sshd: { maxretry: 1 }, off: { enabled: false, failregex: '<HOST>' } }),
    ignore: new CidrSet(),
    maxTrackedAttackers: 10,
    clock: new ManualClock(T0),
    onBan: () => {
      throw new Error('store down');
    },
  });
  engine.process(ev('A', failed('192.0.2.1')));
  assert.equal(stat(engine).callbackErrors, 1);
  assert.deepEqual([stat(engine, 'off').enabled, stat(engine, 'off').linesSeen], [false, 0]);
});

test('a jail defined twice is a coded error, and the running set stays', () => {
  const { engine } = setup({ sshd: {} });
  const twice = [...jails({ sshd: {} }), ...jails({ sshd: { maxretry: 9 } })];
  assert.throws(
    () => {
      engine.reload(twice);
    },
    (e: unknown) => isFleetbanError(e, ErrorCode.JAIL_INVALID) && /defined twice/.test(e.message),
  );
  assert.deepEqual(
    engine.configs().map((c) => c.name),
    ['sshd'],
  );
});
