// fail2ban filters at run time: a copy of the address field inside an earlier user name never chooses who is banned (docs/filters.md).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import type { SyslogEvent } from '../../src/core/types.js';
import type { Fail2banFilterSpec } from '../../src/fail2ban/filter.js';
import { LastHostRule, lastHostContext } from '../../src/fail2ban/last-host.js';
import { Fail2banJailFilter } from '../../src/fail2ban/runtime.js';
import { loadFail2banFilter } from '../../src/fail2ban/filter.js';

const DIR = '/etc/fail2ban';

function ev(program: string, message: string): SyslogEvent {
  return {
    format: 'rfc3164',
    facility: 4,
    severity: 6,
    time: 1_740_996_000_000,
    receivedAt: 1_740_996_000_000,
    hostname: 'mail1',
    peer: '10.0.0.1',
    program,
    pid: '812',
    message,
  };
}

function spec(failregex: readonly string[]): Fail2banFilterSpec {
  return {
    name: 'test',
    options: {},
    failregex,
    ignoreregex: [],
    prefregex: undefined,
    datepattern: undefined,
    maxlines: 1,
    usedns: undefined,
    notices: [],
  };
}

function bans(filter: Fail2banJailFilter, program: string, message: string): string | null {
  return filter.classify(message, ev(program, message))?.address ?? null;
}

test("fail2ban:courier-auth: an ip=[...] field inside the user name does not choose who is banned (upstream's own flaw)", () => {
  assert.ok(existsSync(`${DIR}/filter.d/courier-auth.conf`), 'apt-get install fail2ban');
  const filter = new Fail2banJailFilter(loadFail2banFilter(DIR, 'courier-auth', {}));
  // Courier writes the client's user name unescaped before its own ip=[…] field.
  assert.equal(
    bans(filter, 'imapd', 'LOGIN FAILED, user=x, ip=[8.8.8.8], ip=[::ffff:203.0.113.5]'),
    '203.0.113.5',
  );
  assert.equal(
    bans(
      filter,
      'imapd-ssl',
      'LOGIN FAILED, method=PLAIN, user=x, ip=[8.8.8.8], port=[1], ip=[::ffff:203.0.113.6], port=[51240]',
    ),
    '203.0.113.6',
  );
  assert.equal(
    bans(filter, 'pop3d', 'LOGIN FAILED, user=a, ip=[8.8.8.8], b, ip=[9.9.9.9], ip=[203.0.113.7]'),
    '203.0.113.7',
    'the last occurrence wins, not just a later one',
  );
  assert.equal(
    bans(filter, 'imapd', 'LOGIN FAILED, user=sales@example.org, ip=[::ffff:198.51.100.1]'),
    '198.51.100.1',
  );
});

test('the rule applies only where the filter says attacker text precedes an address that ends the line', () => {
  assert.equal(
    lastHostContext(String.raw`^LOGIN FAILED, (?:user=<F-USER>[^,]*</F-USER>, )*ip=\[<HOST>\]`),
    'ip=[',
  );
  assert.equal(
    lastHostContext(String.raw`^Failed Login: username=<F-USER>.+</F-USER> ip=<HOST>\s*$`),
    ' ip=',
  );
  assert.equal(
    lastHostContext(String.raw`^\[client <HOST>\] user <F-USER>\S+</F-USER> not found`),
    '',
    'the address comes first (apache): what follows is attacker text',
  );
  assert.equal(
    lastHostContext(String.raw`^Failed \S+ for <F-USER>.*?</F-USER> from <HOST> port \d+ ssh2: `),
    '',
    "the filter goes on after the address (sshd's auth info): its own structure decides",
  );
  assert.equal(
    lastHostContext(String.raw`rhost=<HOST>(?:\s+user=<F-USER>\S*</F-USER>)?\s*$`),
    '',
    'no user field before the address',
  );
  assert.equal(
    lastHostContext(String.raw`^<F-USER>\S+</F-USER> x<HOST>$`),
    '',
    'field text too short',
  );
});

test('fail2ban:pam-generic keeps the first address where the injected text follows it', () => {
  assert.ok(existsSync(`${DIR}/filter.d/pam-generic.conf`), 'apt-get install fail2ban');
  // fail2ban's own corpus: a user= after rhost= is the client's text, and must not move the address.
  const pam = new Fail2banJailFilter(loadFail2banFilter(DIR, 'pam-generic', {}));
  const line =
    'pam_unix(auth): authentication failure; logname= uid=0 euid=0 tty=xxx ruser= rhost=203.0.113.8 user=test rhost=8.8.8.8';
  assert.equal(bans(pam, 'daemon', line), '203.0.113.8');
});

test('a synthetic filter of the same layout gets the same protection, in bounded work', () => {
  const filter = new Fail2banJailFilter(
    spec([String.raw`: auth failed for <F-USER>\S+</F-USER> from <HOST>`]),
  );
  assert.equal(
    bans(filter, 'x', 'auth failed for bob from 8.8.8.8 from 203.0.113.9'),
    '203.0.113.9',
  );
  assert.equal(bans(filter, 'x', 'auth failed for bob from 203.0.113.9'), '203.0.113.9');
  // Repeating the field text cannot make the rule do unbounded work: a few later fields are tried.
  const many = `auth failed for a from 8.8.8.8${' from x'.repeat(1000)}`;
  assert.equal(bans(filter, 'x', many), '8.8.8.8', 'no later field holds an address');
  // 100 lines of 1,000 field copies: unbounded, that is 100,000 regex runs over 7 KB (seconds).
  const t0 = performance.now();
  for (let i = 0; i < 100; i++) bans(filter, 'x', many);
  assert.ok(performance.now() - t0 < 1000, 'bounded');
});

test('a pattern that could backtrack exponentially gets no second look (match indices run without the linear fallback)', () => {
  const options = { useDns: 'no', unicode: true };
  const safe = String.raw`^auth failed for <F-USER>\S+</F-USER> from <HOST>$`;
  assert.ok(LastHostRule.compile(safe, options) !== null);
  const hostile = String.raw`^auth failed for <F-USER>(\w+\s?)+</F-USER> from <HOST>$`;
  assert.equal(LastHostRule.compile(hostile, options), null);
});
