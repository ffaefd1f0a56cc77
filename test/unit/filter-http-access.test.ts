// The shipped access-log jails (http-4xx, http-4xx-notfound, http-badpaths) counting real lines: per-status thresholds, probes, WordPress sites, framing.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { CidrSet } from '../../src/core/ip.js';
import type { BanRequest, SyslogEvent } from '../../src/core/types.js';
import { parseJailFile } from '../../src/config/jail-options.js';
import { JailEngine } from '../../src/jails/engine.js';
import type { JailConfig } from '../../src/jails/jail-config.js';

const JAILS_D = new URL('../../../config/jails.d/', import.meta.url);
const T0 = Date.UTC(2026, 11, 2, 17);
const SEC = 1000;

/** A shipped jail file with every jail in it enabled and `changes` laid over each. */
function shipped(file: string, changes: Record<string, unknown> = {}): JailConfig[] {
  const json = JSON.parse(readFileSync(new URL(file, JAILS_D), 'utf8')) as Record<
    string,
    Record<string, unknown>
  >;
  const enabled = Object.fromEntries(
    Object.entries(json).map(([name, o]) => [name, { ...o, enabled: true, ...changes }]),
  );
  return parseJailFile(`jails.d/${file}`, enabled);
}

function setup(jails: JailConfig[]) {
  const bans: BanRequest[] = [];
  const clock = new ManualClock(T0);
  const engine = new JailEngine({
    jails,
    ignore: new CidrSet([]),
    maxTrackedAttackers: 1000,
    clock,
    onBan: (r) => {
      bans.push(r);
    },
  });
  let n = 0;
  const send = (line: string, program = 'nginx'): void => {
    n += 1;
    const time = T0 + n * SEC;
    clock.set(time);
    const event: SyslogEvent = {
      format: 'rfc3164',
      facility: 23,
      severity: 6,
      time,
      receivedAt: time,
      hostname: 'web-01',
      peer: '10.0.0.1',
      program,
      pid: '',
      message: line,
    };
    engine.process(event);
  };
  return { engine, bans, send };
}

const access = (ip: string, request: string, status: number, tail = '"-" "Mozilla/5.0"'): string =>
  `${ip} - - [02/Dec/2026:17:00:00 +0000] "${request} HTTP/1.1" ${status} 153 ${tail}`;

/** The three shipped access-log jails, enabled. */
const ALL = (): JailConfig[] => [
  ...shipped('http-4xx.json'),
  ...shipped('http-4xx-notfound.json'),
  ...shipped('http-badpaths.json'),
];

const banned = (bans: readonly BanRequest[]): string[] =>
  bans.map((b) => `${b.jail} ${b.attacker}`);

test('the shipped jails: disabled, 401/403 after 10, 404 after 30, bad paths after 3', () => {
  const asShipped = ['http-4xx.json', 'http-4xx-notfound.json', 'http-badpaths.json'].flatMap(
    (file) =>
      parseJailFile(`jails.d/${file}`, JSON.parse(readFileSync(new URL(file, JAILS_D), 'utf8'))),
  );
  assert.deepEqual(
    asShipped.map((j) => [j.name, j.enabled, j.filter, j.mode, j.maxretry, j.findtime]),
    [
      ['http-4xx', false, 'http-4xx', 'denied', 10, 600],
      ['http-4xx-notfound', false, 'http-4xx', 'notfound', 30, 600],
      ['http-badpaths', false, 'http-badpaths', 'normal', 3, 600],
    ],
  );
});

test('per-status thresholds: 9 refusals and 29 misses ban nobody, the 10th refusal and the 30th miss do', () => {
  const { bans, send } = setup(ALL());
  const refused = '198.51.100.10';
  const lost = '2001:db8::20';
  for (let i = 0; i < 9; i++) send(access(refused, `GET /private/${i}`, i % 2 === 0 ? 401 : 403));
  for (let i = 0; i < 29; i++) send(access(lost, `GET /blog/old-${i}`, 404), 'apache2');
  // A browsing client: pages, icons and robots.txt missing, none of it counts.
  for (let i = 0; i < 40; i++) send(access(lost, `GET /page/${i}`, 200));
  for (let i = 0; i < 10; i++) send(access(lost, 'GET /favicon.ico', 404));
  send(access(lost, 'GET /robots.txt', 404));
  // The refusals did not fill the 404 window, nor the misses the refusal window.
  for (let i = 0; i < 5; i++) send(access(lost, `GET /admin/${i}`, 403));
  assert.deepEqual(banned(bans), []);
  send(access(refused, 'GET /private/x', 403));
  send(access(lost, 'GET /blog/old-x', 410));
  assert.deepEqual(banned(bans), ['http-4xx 198.51.100.10', 'http-4xx-notfound 2001:db8::20']);
});

test('a scanner is banned after 3 probes; addresses in its path, Referer and User-Agent are never banned', () => {
  const { bans, send } = setup(ALL());
  const scanner = '203.0.113.66';
  const fake = (victim: string): string =>
    `"http://${victim}/\\x22 404 0" "${victim} - - [02/Dec/2026:17:00:00 +0000] \\x22GET /.env HTTP/1.1\\x22 404 0"`;
  send(access(scanner, 'GET /9.9.9.9/.env', 404, fake('9.9.9.9')));
  send(access(scanner, 'GET /.git/config', 403, fake('2001:db8:dead::1')));
  // The fake lines alone, from a client answered 200: nothing counts for anyone.
  for (let i = 0; i < 5; i++) send(access('198.51.100.70', 'GET /', 200, fake('9.9.9.9')));
  assert.deepEqual(banned(bans), []);
  send(access(scanner, 'POST /vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php', 404));
  assert.deepEqual(banned(bans), ['http-badpaths 203.0.113.66']);
});

test('a WordPress site: mode wordpress leaves its paths out, the rest of the list still bans', () => {
  const { bans, send } = setup(shipped('http-badpaths.json', { mode: 'wordpress' }));
  for (let i = 0; i < 10; i++) send(access('198.51.100.80', 'POST /wp-login.php', 403));
  for (let i = 0; i < 10; i++) send(access('198.51.100.80', 'POST /xmlrpc.php', 403));
  assert.deepEqual(banned(bans), []);
  for (const path of ['/.env', '/wp-config.php.bak', '/phpmyadmin/']) {
    send(access('198.51.100.81', `GET ${path}`, 404));
  }
  assert.deepEqual(banned(bans), ['http-badpaths 198.51.100.81']);
});

test('an inline ignoreregex anchored on the request drops one path; a User-Agent naming it hides nothing', () => {
  // The form README and fleetban-jail(5) give for a site that serves a path on the list.
  const ignoreregex = String.raw`^\S+ \S+ \S+ \[[^\]]+\] "[A-Z]+ /phpmyadmin[/? ]`;
  const { bans, send } = setup(shipped('http-badpaths.json', { ignoreregex }));
  for (let i = 0; i < 10; i++) send(access('198.51.100.90', 'GET /phpmyadmin/', 403));
  assert.deepEqual(banned(bans), []);
  const ua = '"-" "x \\x22GET /phpmyadmin/ HTTP/1.1\\x22"';
  for (const path of ['/.env', '/.git/HEAD', '/HNAP1/']) {
    send(access('198.51.100.91', `GET ${path}`, 404, ua));
  }
  assert.deepEqual(banned(bans), ['http-badpaths 198.51.100.91']);
});
