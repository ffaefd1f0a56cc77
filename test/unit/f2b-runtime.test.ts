// fail2ban filters inside fleetban jails: `fail2ban:NAME[…]` loading, the rebuilt log line, sessions per host and pid, and the regex guard.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { isFleetbanError } from '../../src/core/errors.js';
import { CidrSet } from '../../src/core/ip.js';
import type { BanRequest, SyslogEvent } from '../../src/core/types.js';
import { parseJailFile } from '../../src/config/jail-options.js';
import { Fail2banJailFilter, rebuildLine } from '../../src/fail2ban/runtime.js';
import { JailEngine } from '../../src/jails/engine.js';

const DIR = '/etc/fail2ban';
const installed = existsSync(`${DIR}/filter.d/sshd.conf`);

function ev(hostname: string, pid: string, message: string, time: number): SyslogEvent {
  return {
    format: 'rfc3164',
    facility: 4,
    severity: 6,
    time,
    receivedAt: time,
    hostname,
    peer: '10.0.0.1',
    program: 'sshd',
    pid,
    message,
  };
}

test('the adapter rebuilds the log line fail2ban expects', () => {
  assert.equal(
    rebuildLine({ hostname: 'web1', program: 'sshd', pid: '42', message: 'hello' }),
    'web1 sshd[42]: hello',
  );
  assert.equal(
    rebuildLine({ hostname: 'web1', program: '', pid: '', message: 'hello' }),
    'web1 hello',
  );
});

test('a fail2ban:sshd jail bans across hosts through the engine', () => {
  assert.ok(
    installed,
    'fail2ban is not installed: apt-get install fail2ban (or npm run test:all as root)',
  );
  const configs = parseJailFile(
    't.json',
    { sshd: { filter: 'fail2ban:sshd[mode=aggressive]', maxretry: 3, programs: ['sshd'] } },
    undefined,
    undefined,
    DIR,
  );
  assert.equal(configs[0]?.mode, 'aggressive');
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const bans: BanRequest[] = [];
  const engine = new JailEngine({
    jails: configs,
    ignore: new CidrSet(),
    maxTrackedAttackers: 1000,
    clock,
    onBan: (r) => bans.push(r),
  });
  const t = clock.now();
  engine.process(ev('web1', '100', 'Failed password for root from 203.0.113.7 port 4242 ssh2', t));
  engine.process(
    ev(
      'web2',
      '200',
      'Failed password for invalid user bob from 203.0.113.7 port 4243 ssh2',
      t + 1000,
    ),
  );
  engine.process(
    ev('web3', '300', 'Accepted publickey for alice from 198.51.100.1 port 1 ssh2', t + 1500),
  );
  assert.equal(bans.length, 0);
  engine.process(ev('web3', '300', 'Invalid user admin from 203.0.113.7 port 4244', t + 2000));
  assert.equal(bans.length, 1);
  assert.equal(bans[0]?.attacker, '203.0.113.7');
  assert.deepEqual(Object.keys(bans[0].hosts).sort(), ['web1', 'web2', 'web3']);
});

test('unknown fail2ban filters and options are refused at load time', () => {
  assert.ok(
    installed,
    'fail2ban is not installed: apt-get install fail2ban (or npm run test:all as root)',
  );
  assert.throws(
    () => parseJailFile('t.json', { x: { filter: 'fail2ban:nope' } }, undefined, undefined, DIR),
    (e: unknown) =>
      isFleetbanError(e) && e.message.includes('t.json: jail "x"') && e.message.includes('nope'),
  );
  assert.throws(
    () =>
      parseJailFile(
        't.json',
        { x: { filter: 'fail2ban:sshd', failregex: 'x <HOST>' } },
        undefined,
        undefined,
        DIR,
      ),
    (e: unknown) => isFleetbanError(e) && e.message.includes('"failregex"'),
  );
});

test('a pattern that would backtrack exponentially loads, stays fast on a near miss and keeps matching', () => {
  // (?:a|a)* is exponential on a near miss for a backtracking engine; V8's linear fallback bounds it.
  const spec = {
    name: 'slow',
    options: {},
    failregex: ['^(?:a|a)*b <HOST>$'],
    ignoreregex: [],
    prefregex: undefined,
    datepattern: undefined,
    maxlines: 1,
    usedns: undefined,
    notices: [],
  };
  const filter = new Fail2banJailFilter(spec);
  assert.equal(filter.classify('aab 192.0.2.1')?.address, '192.0.2.1');
  const started = performance.now();
  assert.equal(filter.classify(`${'a'.repeat(40)}!`), null);
  assert.ok(performance.now() - started < 200, 'a near miss must not backtrack for long');
  assert.equal(filter.classify('ab 192.0.2.2')?.address, '192.0.2.2');
});
