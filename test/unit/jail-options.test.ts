// jails.d validation: fail2ban option names, defaults layering, and errors that name file, jail, key and what is allowed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ErrorCode, isFleetbanError } from '../../src/core/errors.js';
import { DEFAULT_JAIL_OPTIONS, parseJailDefaults } from '../../src/config/jail-defaults.js';
import { parseJailFile } from '../../src/config/jail-options.js';

const FILE = 'jails.d/sshd.json';

function rejects(json: unknown, ...fragments: string[]): void {
  assert.throws(
    () => parseJailFile(FILE, json),
    (e: unknown) => {
      assert.ok(isFleetbanError(e, ErrorCode.JAIL_INVALID), String(e));
      for (const f of fragments) assert.ok(e.message.includes(f), `${e.message} lacks ${f}`);
      return true;
    },
  );
}

test('the shipped sshd.json parses to fail2ban defaults', () => {
  const json: unknown = JSON.parse(
    readFileSync(new URL('../../../config/jails.d/sshd.json', import.meta.url), 'utf8'),
  );
  const [sshd] = parseJailFile(FILE, json);
  assert.ok(sshd !== undefined);
  assert.equal(sshd.name, 'sshd');
  assert.equal(sshd.enabled, true);
  assert.equal(sshd.filter, 'sshd');
  assert.equal(sshd.mode, 'normal');
  assert.deepEqual([sshd.maxretry, sshd.findtime, sshd.bantime], [5, 600, 600]);
  assert.deepEqual(sshd.banmask, { v4: 32, v6: 64 });
  assert.deepEqual(sshd.programs, ['sshd', 'sshd-session']);
  assert.ok(sshd.failregex.length > 5);
  assert.ok(Object.isFrozen(sshd));
});

test('a minimal jail takes the defaults, then the filter named like the jail', () => {
  const [j] = parseJailFile(FILE, { sshd: {} });
  assert.ok(j !== undefined);
  assert.equal(j.filter, 'sshd');
  assert.equal(j.maxretry, DEFAULT_JAIL_OPTIONS.maxretry);
  assert.equal(j.increment.maxtime, 604800);
  assert.equal(j.notify, 'default');
  assert.deepEqual(j.hosts, { names: [], cidrs: [] });
});

test('fail2ban value syntax: durations, permanent, lists as strings, dotted bantime keys', () => {
  const [j] = parseJailFile(FILE, {
    sshd: {
      filter: 'sshd[mode=aggressive]',
      maxretry: '3',
      findtime: '1h',
      bantime: -1,
      'bantime.increment': true,
      'bantime.factor': 2,
      'bantime.multipliers': '1 5 30 60',
      'bantime.maxtime': '2d',
      'bantime.rndtime': '5m',
      'bantime.overalljails': true,
      ignoreip: '10.0.0.0/8 192.0.2.7, 2001:db8::/48',
      banmask: { v6: 56 },
      hosts: ['web01', '*.example.org', '198.51.100.0/24'],
      notify: ['ops@example.org'],
      failregex: '^custom failure from <HOST>$',
      programs: 'sshd',
    },
  });
  assert.ok(j !== undefined);
  assert.equal(j.mode, 'aggressive');
  assert.equal(j.maxretry, 3);
  assert.equal(j.findtime, 3600);
  assert.equal(j.bantime, null);
  assert.deepEqual(j.increment, {
    enabled: true,
    factor: 2,
    multipliers: [1, 5, 30, 60],
    maxtime: 172800,
    rndtime: 300,
    overalljails: true,
  });
  assert.deepEqual(
    j.ignoreip.map((c) => `${c.address}/${c.prefix}`),
    ['10.0.0.0/8', '192.0.2.7/32', '2001:db8::/48'],
  );
  assert.deepEqual(j.banmask, { v4: 32, v6: 56 });
  assert.deepEqual(j.hosts.names, ['web01', '*.example.org']);
  assert.equal(j.hosts.cidrs.length, 1);
  assert.deepEqual(j.notify, ['ops@example.org']);
  assert.equal(j.failregex.at(-1), '^custom failure from <HOST>$');
  assert.deepEqual(j.programs, ['sshd']);
});

test('a jail with only inline regexes sees every program', () => {
  const [j] = parseJailFile(FILE, {
    myapp: { failregex: ['^login failed for <HOST>$'], ignoreregex: 'test' },
  });
  assert.ok(j !== undefined);
  assert.equal(j.filter, '');
  assert.deepEqual(j.programs, []);
  assert.deepEqual(j.ignoreregex, ['test']);
});

test('errors name the file, the jail, the key and what is allowed', () => {
  rejects(
    { sshd: { maxretry: 'five' } },
    `${FILE}: jail "sshd": "maxretry" must be a positive integer, got "five"`,
  );
  rejects({ sshd: { maxretry: 0 } }, '"maxretry"', 'positive integer');
  rejects({ sshd: { findtime: '10 parsecs' } }, '"findtime"', 'duration');
  rejects({ sshd: { bantime: 0 } }, '"bantime"', '"permanent"');
  rejects({ sshd: { 'bantime.multipliers': '1 two 4' } }, '"bantime.multipliers"');
  rejects({ sshd: { ignoreip: 'localhost' } }, '"ignoreip"', 'not resolved');
  rejects({ sshd: { banmask: { v4: 33 } } }, '"banmask"');
  rejects({ sshd: { banmask: { v5: 1 } } }, '"banmask"');
  rejects({ sshd: { hosts: ['bad host!'] } }, '"hosts"');
  rejects({ sshd: { programs: ['ssh d'] } }, '"programs"', '* patterns');
  rejects({ sshd: { programs: ['sshd[1]'] } }, '"programs"', 'brackets');
  rejects({ sshd: { notify: 'someone' } }, '"notify"', '"off"');
  rejects({ sshd: { enabled: 'maybe' } }, '"enabled"', 'true or false');
  rejects({ sshd: { maxRetry: 3 } }, 'jail "sshd"', 'unknown option "maxRetry"', 'maxretry');
  rejects({ sshd: { filter: 'nosuch' } }, '"filter"', 'unknown filter "nosuch"', 'sshd');
  rejects({ sshd: { mode: 'turbo' } }, '"mode"', 'no mode "turbo"');
  rejects({ sshd: { failregex: '^broken (<HOST>' } }, '"failregex"', '^broken (<HOST>');
  rejects({ other: {} }, 'jail "other"', 'needs "filter"');
  rejects({ 'bad name': {} }, 'jail name');
  rejects({ sshd: 5 }, 'jail "sshd"', 'object');
  rejects([], FILE, 'object mapping jail names');
});

test('defaults object: same syntax, validated, layered under each jail', () => {
  const defaults = parseJailDefaults({
    maxretry: 3,
    bantime: '1h',
    'bantime.increment': true,
    ignoreip: ['192.0.2.0/24'],
  });
  assert.equal(defaults.maxretry, 3);
  assert.equal(defaults.findtime, 600);
  const [j] = parseJailFile(FILE, { sshd: { maxretry: 4 } }, defaults);
  assert.ok(j !== undefined);
  assert.equal(j.maxretry, 4);
  assert.equal(j.bantime, 3600);
  assert.equal(j.increment.enabled, true);
  assert.equal(j.ignoreip.length, 1);
  assert.throws(
    () => parseJailDefaults({ filter: 'sshd' }),
    (e: unknown) =>
      isFleetbanError(e, ErrorCode.JAIL_INVALID) &&
      e.message.startsWith('jails.defaults: unknown option "filter"'),
  );
  assert.throws(
    () => parseJailDefaults('x'),
    (e: unknown) => isFleetbanError(e, ErrorCode.JAIL_INVALID),
  );
  assert.deepEqual(parseJailDefaults(undefined), parseJailDefaults({}));
});
