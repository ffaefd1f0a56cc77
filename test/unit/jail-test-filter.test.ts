// test-filter engine: a traditional syslog file replayed through a filter, counted like fail2ban-regex.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { compileFilter } from '../../src/jails/filter.js';
import { resolveFilter } from '../../src/jails/filters/index.js';
import { linesOf, replayFilter } from '../../src/jails/filter-replay.js';
import { SyslogTimeZone } from '../../src/parse/syslog.js';

const LOG = [
  'Nov 25 19:56:21 web01 sshd[123]: Failed password for invalid user admin from 198.51.100.7 port 4242 ssh2',
  'Nov 25 19:56:22 web02 sshd[124]: Failed password for root from 198.51.100.7 port 4243 ssh2',
  'Nov 25 19:56:23 web02 sshd[125]: Invalid user oracle from 2001:db8::5 port 4244',
  'Nov 25 19:56:24 web01 sshd[126]: Accepted publickey for deploy from 192.0.2.1 port 22 ssh2: ED25519 SHA256:x',
  'Nov 25 19:56:25 web01 CRON[127]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)',
  'Nov 25 19:56:26 web01 cron[128]: Failed password for root from 192.0.2.99 port 1 ssh2',
  'Nov 25 19:56:27 web03 sshd[129]: Failed password for root from 192.0.2.50 port 4245 ssh2',
];

const options = {
  timeZone: new SyslogTimeZone('UTC'),
  clock: new ManualClock(Date.UTC(2026, 10, 26)),
  listMatched: 2,
  listMissed: 10,
};

test('counts, per-regex hits, hosts, users and times of a traditional syslog file', async () => {
  const resolved = resolveFilter('sshd');
  const filter = compileFilter(resolved);
  const s = await replayFilter(filter, LOG, { ...options, programs: resolved.programs });
  assert.deepEqual(
    [s.lines, s.matched, s.ignored, s.missed, s.parseErrors, s.otherPrograms],
    [7, 4, 0, 3, 0, 2],
  );
  assert.deepEqual(
    s.regexHits.slice(0, 2).map((r) => r.hits),
    [3, 1],
  );
  assert.equal(
    s.regexHits.reduce((a, r) => a + r.hits, 0),
    4,
  );
  assert.deepEqual(s.hosts, [
    { value: '198.51.100.7', count: 2 },
    { value: '192.0.2.50', count: 1 },
    { value: '2001:db8::5', count: 1 },
  ]);
  assert.deepEqual(s.users[0], { value: 'root', count: 2 });
  assert.equal(s.firstTime, Date.UTC(2026, 10, 25, 19, 56, 21));
  assert.equal(s.lastTime, Date.UTC(2026, 10, 25, 19, 56, 27));
  assert.deepEqual(s.matchedLines, LOG.slice(0, 2));
  assert.equal(s.missedLines.length, 3);
  assert.ok(s.linesPerSecond > 0 && s.elapsedMs >= 0);
});

test('without program routing, an sshd message logged by cron matches too', async () => {
  const s = await replayFilter(compileFilter(resolveFilter('sshd')), LOG, options);
  assert.deepEqual([s.matched, s.otherPrograms], [5, 0]);
});

test('ignoreregex hits are counted apart from matches', async () => {
  const filter = compileFilter({
    name: 'x',
    failregex: ['^Failed password for \\S+ from <HOST>'],
    ignoreregex: ['from 198\\.51\\.100\\.'],
  });
  const s = await replayFilter(filter, LOG, { ...options, listIgnored: 5 });
  assert.deepEqual([s.matched, s.ignored, s.missed], [2, 1, 4]);
  assert.equal(s.ignoredLines[0], LOG[1]);
});

test('linesOf splits a byte stream in chunks, keeps a split UTF-8 character and a last line without LF', async () => {
  const bytes = Buffer.from('first ü line\r\nsecond\n\nthird');
  const chunks = [bytes.subarray(0, 7), bytes.subarray(7, 13), bytes.subarray(13)];
  const out: string[] = [];
  for await (const batch of linesOf(Readable.from(chunks))) out.push(...batch);
  assert.deepEqual(out, ['first ü line', 'second', 'third']);
});

test('a filter with sessions pairs a file’s lines by host and pid, as a jail does', async () => {
  const resolved = resolveFilter('opensmtpd');
  const s = await replayFilter(
    compileFilter(resolved),
    [
      'Dec  2 10:00:00 mx1 smtpd[4021]: 7f3a1c2b4d5e6f70 smtp connected address=198.51.100.30 host=<unknown>',
      'Dec  2 10:00:01 mx1 smtpd[4021]: 7f3a1c2b4d5e6f70 smtp authentication user=bob result=permfail',
      'Dec  2 10:00:02 mx2 smtpd[4021]: 7f3a1c2b4d5e6f70 smtp authentication user=bob result=permfail',
      'Dec  2 10:00:03 mx1 smtpd[4022]: 7f3a1c2b4d5e6f70 smtp authentication user=eve result=permfail',
      'Dec  2 10:00:04 mx1 smtpd[4021]: 7f3a1c2b4d5e6f70 smtp authentication user=root result=permfail',
    ],
    { ...options, programs: resolved.programs },
  );
  assert.deepEqual([s.lines, s.matched, s.missed], [5, 2, 3]);
  assert.deepEqual(s.hosts, [{ value: '198.51.100.30', count: 2 }]);
  assert.deepEqual(
    s.users.map((u) => u.value),
    ['bob', 'root'],
  );
});
