// fleetban test-filter: every FILTER kind and LOG kind, fail2ban-regex's counting for fail2ban filters, and its errors.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { ManualClock } from '../../src/core/clock.js';
import { ErrorCode, isFleetbanError } from '../../src/core/errors.js';
import { resolveTestFilter, TestFilterKind } from '../../src/fail2ban/filter-argument.js';
import { loadFail2banFilter } from '../../src/fail2ban/filter.js';
import { ianaZone } from '../../src/fail2ban/strptime.js';
import { replayFail2banFilter } from '../../src/fail2ban/filter-replay.js';

const NOW = Date.UTC(2026, 0, 2);

/** A small fail2ban filter written for these tests: a prefix, a failure, a NOFAIL line, an ignoreregex. */
const DEMO_FILTER = `[INCLUDES]
before = demo-common.conf

[Definition]
_daemon = demo
failregex = ^%(__prefix)sauth failure for <F-USER>\\S+</F-USER> from <HOST>\\s*$
            ^%(__prefix)s<F-NOFAIL>session closed</F-NOFAIL> from <HOST>\\s*$
ignoreregex = from 192\\.0\\.2\\.250
`;
const DEMO_COMMON = `[DEFAULT]
__prefix = \\s*\\S+ %(_daemon)s\\[\\d+\\]:\\s+
`;

const DEMO_LOG = [
  'Jan  1 12:00:00 web1 demo[1]: auth failure for bob from 198.51.100.7',
  'Jan  1 12:00:01 web1 demo[1]: session closed from 198.51.100.7',
  'Jan  1 12:00:02 web1 demo[1]: auth failure for eve from 192.0.2.250',
  '# a comment line: not tested, as fail2ban-regex skips it',
  'Jan  1 12:00:03 web1 other[2]: hello from 198.51.100.8',
  'Jan  1 12:00:04 web2 demo[3]: auth failure for bob from 2001:db8::1',
];

const SSH_LINE =
  'Jan  1 12:00:00 web1 sshd[42]: Failed password for invalid user admin from 203.0.113.9 port 4242 ssh2';

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

describe('test-filter', () => {
  let dir: string;
  let f2b: string;
  let logFile: string;
  const clock = new ManualClock(NOW);

  const run = async (...argv: string[]): Promise<Run> => {
    let out = '';
    let err = '';
    const code = await main(['test-filter', ...argv], {
      stdout: (t) => (out += t),
      stderr: (t) => (err += t),
      env: {},
      clock,
    });
    return { code, out, err };
  };
  const linesOf = (out: string): string => /^Lines: .*$/m.exec(out)?.[0] ?? `no Lines: in ${out}`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetban-test-filter-'));
    f2b = join(dir, 'fail2ban');
    await mkdir(join(f2b, 'filter.d'), { recursive: true });
    await writeFile(join(f2b, 'filter.d', 'demo.conf'), DEMO_FILTER);
    await writeFile(join(f2b, 'filter.d', 'demo-common.conf'), DEMO_COMMON);
    logFile = join(dir, 'demo.log');
    await writeFile(logFile, `${DEMO_LOG.join('\n')}\n`);
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('FILTER kinds', () => {
    const opts = () => ({ fail2banDir: () => f2b });

    it('a built-in name, with and without a mode, wins over everything else', () => {
      const plain = resolveTestFilter('sshd', opts());
      assert.equal(plain.kind, TestFilterKind.BUILTIN);
      assert.equal(plain.label, 'sshd[mode=normal]');
      const aggressive = resolveTestFilter('sshd[mode=aggressive]', opts());
      assert.equal(aggressive.label, 'sshd[mode=aggressive]');
      assert.equal(resolveTestFilter('sshd', { ...opts(), mode: 'ddos' }).label, 'sshd[mode=ddos]');
      assert.throws(
        () => resolveTestFilter('sshd[mode=nonsense]', opts()),
        (e) => isFleetbanError(e, ErrorCode.FILTER_UNKNOWN) && /nonsense/.test(e.message),
      );
    });

    it('fail2ban:NAME reads the fail2ban folder only when asked, with options', () => {
      let asked = 0;
      const f = resolveTestFilter('fail2ban:demo', {
        fail2banDir: () => {
          asked++;
          return f2b;
        },
      });
      assert.equal(asked, 1);
      assert.ok(f.kind === 'fail2ban');
      assert.equal(f.spec.failregex.length, 2);
      assert.equal(f.from, f2b);
      resolveTestFilter('sshd', { fail2banDir: () => assert.fail('not a fail2ban filter') });
      assert.throws(
        () => resolveTestFilter('fail2ban:nosuch', opts()),
        (e) => isFleetbanError(e, ErrorCode.FILTER_UNKNOWN) && /nosuch/.test(e.message),
      );
    });

    it('a fail2ban filter file by path, with or without its extension', () => {
      for (const path of [join(f2b, 'filter.d', 'demo.conf'), join(f2b, 'filter.d', 'demo')]) {
        const f = resolveTestFilter(path, opts());
        assert.ok(f.kind === TestFilterKind.FAIL2BAN_FILE, path);
        assert.equal(f.spec.ignoreregex.length, 1);
      }
      assert.throws(
        () => resolveTestFilter(join(dir, 'missing.conf'), opts()),
        (e) => isFleetbanError(e, ErrorCode.FILTER_UNKNOWN) && /missing/.test(e.message),
      );
    });

    it('a fleetban filter file (JSON), checked key by key', async () => {
      const good = join(dir, 'mine.json');
      await writeFile(
        good,
        JSON.stringify({
          failregex: ['^auth failure for <F-USER>\\S+</F-USER> from <HOST>$'],
          ignoreregex: ['192\\.0\\.2\\.250'],
          programs: ['demo'],
        }),
      );
      const f = resolveTestFilter(good, opts());
      assert.ok(f.kind === 'fleetban-file');
      assert.deepEqual(f.programs, ['demo']);
      const bad = join(dir, 'bad.json');
      await writeFile(bad, JSON.stringify({ failregex: ['x <HOST>'], programz: [] }));
      assert.throws(
        () => resolveTestFilter(bad, opts()),
        (e) => isFleetbanError(e, ErrorCode.FILTER_INVALID) && /programz/.test(e.message),
      );
    });

    it('anything else is one failregex; a bad one is refused naming the pattern', () => {
      const f = resolveTestFilter('Failed .* from <HOST>', opts());
      assert.equal(f.kind, TestFilterKind.REGEX);
      assert.throws(
        () => resolveTestFilter('Failed (for <HOST>', opts()),
        (e) =>
          isFleetbanError(e, ErrorCode.FILTER_INVALID) &&
          e.message.includes('"Failed (for <HOST>"'),
      );
      assert.throws(
        () => resolveTestFilter('sshdd', opts()),
        (e) => isFleetbanError(e, ErrorCode.FILTER_UNKNOWN) && /sshdd/.test(e.message),
      );
    });
  });

  describe('fail2ban-regex counting', () => {
    it('matched, ignored (NOFAIL or ignoreregex), missed; comment lines skipped', async () => {
      const spec = loadFail2banFilter(f2b, 'demo');
      const s = await replayFail2banFilter(spec, DEMO_LOG, {
        zone: ianaZone('UTC'),
        clock,
        listMatched: 10,
        listIgnored: 10,
        listMissed: 10,
      });
      assert.deepEqual([s.lines, s.ignored, s.matched, s.missed], [5, 2, 2, 1]);
      assert.deepEqual(
        s.regexHits.map((r) => r.hits),
        [2, 1],
      );
      assert.deepEqual(
        s.ignoreHits.map((r) => r.hits),
        [1],
      );
      assert.deepEqual(s.hosts, [
        { value: '198.51.100.7', count: 1 },
        { value: '2001:db8::1', count: 1 },
      ]);
      assert.deepEqual(s.users, [{ value: 'bob', count: 2 }]);
      assert.equal(s.firstTime, Date.UTC(2026, 0, 1, 12, 0, 0));
      assert.equal(s.lastTime, Date.UTC(2026, 0, 1, 12, 0, 4));
      assert.deepEqual(s.matchedLines, [DEMO_LOG[0], DEMO_LOG[5]]);
      assert.deepEqual(s.ignoredLines, [DEMO_LOG[1], DEMO_LOG[2]]);
      assert.deepEqual(s.missedLines, [DEMO_LOG[4]]);
      assert.equal(s.engine, 'fail2ban');
    });
  });

  describe('the command', () => {
    it("fail2ban:NAME over a file prints fail2ban-regex's summary line", async () => {
      const r = await run('fail2ban:demo', logFile, '--fail2ban-dir', f2b, '--timezone', 'UTC');
      assert.equal(r.code, ExitCode.OK, r.err);
      assert.match(
        linesOf(r.out),
        /^Lines: 5 lines, 2 ignored, 2 matched, 1 missed \[processed in \d+\.\d\d sec, \d+ lines\/s\]$/,
      );
      assert.match(r.out, /Use {3}failregex filter file : demo, basedir: /);
      assert.match(r.out, /^\| {3}1\) \[2\] \^\\s\*\\S\+ demo\\\[\\d\+\\\]:\\s\+auth failure/m);
    });

    it('a fail2ban filter file by path gives the same counts', async () => {
      const r = await run(join(f2b, 'filter.d', 'demo.conf'), logFile, '--timezone', 'UTC');
      assert.equal(r.code, ExitCode.OK, r.err);
      assert.match(linesOf(r.out), /^Lines: 5 lines, 2 ignored, 2 matched, 1 missed /);
    });

    it('a built-in filter reads syslog and routes by program; --print-missed lists lines', async () => {
      const r = await run('sshd', logFile, '--print-missed');
      assert.equal(r.code, ExitCode.OK, r.err);
      assert.match(linesOf(r.out), /^Lines: 5 lines, 0 ignored, 0 matched, 5 missed /);
      assert.match(r.out, /5 lines were of other programs/);
      assert.ok(r.out.includes(`|  ${DEMO_LOG[4] ?? ''}`));
    });

    it('a single log line as LOG, with a single regex as FILTER', async () => {
      const r = await run('Failed password for .* from <HOST>', SSH_LINE, '--json');
      assert.equal(r.code, ExitCode.OK, r.err);
      const doc = JSON.parse(r.out) as Record<string, unknown>;
      assert.equal(doc['kind'], 'regex');
      assert.equal(doc['log'], SSH_LINE);
      assert.deepEqual([doc['lines'], doc['matched'], doc['missed']], [1, 1, 0]);
      assert.deepEqual(doc['hosts'], [{ value: '203.0.113.9', count: 1 }]);
      const human = await run('sshd[mode=aggressive]', SSH_LINE, '--print-matched');
      assert.match(human.out, /Use {6}single line : Jan {2}1 12:00:00 web1 sshd/);
      assert.match(linesOf(human.out), /1 matched, 0 missed/);
      assert.match(human.out, /\|- Matched line\(s\):\n\| {2}Jan {2}1 12:00:00 web1 sshd\[42\]/);
    });

    it('a fleetban filter file with ignoreregex counts ignored lines', async () => {
      const file = join(dir, 'demo-fleetban.json');
      await writeFile(
        file,
        JSON.stringify({
          failregex: ['^auth failure for <F-USER>\\S+</F-USER> from <HOST>$'],
          ignoreregex: ['192\\.0\\.2\\.250'],
          programs: ['demo'],
        }),
      );
      const r = await run(file, logFile, '--json');
      const doc = JSON.parse(r.out) as Record<string, unknown>;
      assert.deepEqual(
        [doc['lines'], doc['ignored'], doc['matched'], doc['missed'], doc['otherPrograms']],
        [5, 1, 2, 2, 1],
      );
      assert.deepEqual(doc['ignoreHits'], [{ regex: '192\\.0\\.2\\.250', hits: 1 }]);
    });

    it('a missing LOG file exits 1 and names the file', async () => {
      const missing = join(dir, 'nope.log');
      const r = await run('sshd', missing);
      assert.equal(r.code, ExitCode.FAILED);
      assert.ok(r.err.includes(`cannot read LOG ${missing}`), r.err);
      assert.equal(r.out, '');
    });

    it('a bad regex exits 1 and names the pattern; an empty FILTER is a usage error', async () => {
      const r = await run('Failed (for <HOST>', SSH_LINE);
      assert.equal(r.code, ExitCode.FAILED);
      assert.ok(r.err.includes('"Failed (for <HOST>"'), r.err);
      const bad = await run('fail2ban:demo[mode', logFile, '--fail2ban-dir', f2b);
      assert.equal(bad.code, ExitCode.FAILED);
      const empty = await run('', logFile);
      assert.equal(empty.code, ExitCode.USAGE);
      const zone = await run('sshd', logFile, '--timezone', 'Mars/Olympus');
      assert.equal(zone.code, ExitCode.USAGE);
    });
  });
});
