// `fleetban test-filter` against the real fail2ban-regex: same log, same filter, same Lines: counts (file, path and stdin forms).
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { writeAuthLog } from '../helpers/auth-log.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const FLEETBAN = join(REPO, 'dist', 'src', 'bin', 'fleetban.js');
const SSHD_CONF = '/etc/fail2ban/filter.d/sshd.conf';
const LINES = 20_000;

/** A two-line fail2ban filter written for this test: buffered lines a later match uses move from missed to matched. */
const TWO_LINE_FILTER = `[Definition]
failregex = ^\\s*\\S+ demo\\[\\d+\\]:\\s+start from <HOST>\\n\\s*\\S+ demo\\[\\d+\\]:\\s+denied\\s*$
maxlines = 2
`;
const TWO_LINE_LOG = [
  'Jan  1 12:00:00 web1 demo[1]: start from 198.51.100.7',
  'Jan  1 12:00:01 web1 demo[1]: denied',
  'Jan  1 12:00:02 web1 demo[1]: noise',
  'Jan  1 12:00:03 web1 demo[1]: start from 198.51.100.8',
  'Jan  1 12:00:04 web1 demo[1]: noise',
  'Jan  1 12:00:05 web1 demo[1]: denied',
  'Jan  1 12:00:06 web1 demo[1]: start from 198.51.100.9',
  'Jan  1 12:00:07 web1 demo[1]: denied',
];

interface Counts {
  readonly lines: number;
  readonly ignored: number;
  readonly matched: number;
  readonly missed: number;
}

/** The numbers of a `Lines: N lines, N ignored, N matched, N missed` line, fleetban's or fail2ban-regex's. */
function countsOf(output: string, who: string): Counts {
  const m = /^Lines: (\d+) lines, (\d+) ignored, (\d+) matched, (\d+) missed/m.exec(output);
  assert.ok(m !== null, `${who} printed no "Lines:" summary:\n${output.slice(-2000)}`);
  return {
    lines: Number(m[1]),
    ignored: Number(m[2]),
    matched: Number(m[3]),
    missed: Number(m[4]),
  };
}

async function fail2banRegex(log: string, filter: string): Promise<Counts> {
  const { stdout } = await run('fail2ban-regex', [log, filter], { maxBuffer: 64 << 20 });
  return countsOf(stdout, 'fail2ban-regex');
}

async function fleetban(args: readonly string[]): Promise<{ out: string; counts: Counts }> {
  const { stdout } = await run(process.execPath, [FLEETBAN, 'test-filter', ...args], {
    maxBuffer: 64 << 20,
  });
  return { out: stdout, counts: countsOf(stdout, 'fleetban test-filter') };
}

/** Runs the CLI with `input` on standard input. */
function fleetbanStdin(args: readonly string[], input: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [FLEETBAN, 'test-filter', ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolvePromise(out);
      else reject(new Error(`fleetban test-filter exited ${code}: ${err}`));
    });
    child.stdin.end(input);
  });
}

describe('test-filter against fail2ban-regex', () => {
  let dir: string;
  let log: string;

  before(async () => {
    // Never skipped: without the reference tool the comparison means nothing, so say how to get it.
    try {
      await run('fail2ban-regex', ['--version']);
    } catch (e) {
      assert.fail(
        `fail2ban-regex is not installed (${String(e)}): run \`apt-get install fail2ban\` to compare test-filter with it`,
      );
    }
    assert.ok(existsSync(SSHD_CONF), `${SSHD_CONF} is missing: run \`apt-get install fail2ban\``);
    dir = await mkdtemp(join(tmpdir(), 'fleetban-test-filter-'));
    log = join(dir, 'auth.log');
    await writeAuthLog(log, LINES);
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it(`fail2ban:sshd on a ${LINES}-line auth log counts what fail2ban-regex counts`, async () => {
    const [theirs, ours] = await Promise.all([
      fail2banRegex(log, SSHD_CONF),
      fleetban(['fail2ban:sshd', log, '--fail2ban-dir', '/etc/fail2ban']),
    ]);
    assert.equal(theirs.lines, LINES);
    assert.ok(theirs.matched > 1000, `the generated log should hold failures: ${theirs.matched}`);
    assert.equal(ours.counts.matched, theirs.matched);
    assert.deepEqual(ours.counts, theirs);
    assert.match(
      ours.out,
      /^Lines: \d+ lines, \d+ ignored, \d+ matched, \d+ missed \[processed in \d+\.\d\d sec, \d+ lines\/s\]$/m,
    );
  });

  it('the filter file path and standard input give the same counts', async () => {
    const theirs = await fail2banRegex(log, SSHD_CONF);
    const byPath = await fleetban([SSHD_CONF, log]);
    assert.deepEqual(byPath.counts, theirs);
    const stdinOut = await fleetbanStdin(
      ['fail2ban:sshd', '-', '--json'],
      await readFile(log, 'utf8'),
    );
    const doc = JSON.parse(stdinOut) as Record<string, unknown>;
    assert.deepEqual(
      {
        lines: doc['lines'],
        ignored: doc['ignored'],
        matched: doc['matched'],
        missed: doc['missed'],
      },
      theirs,
    );
    assert.equal(doc['log'], 'standard input');
  });

  it('the built-in sshd filter finds the same failures in the same log', async () => {
    const theirs = await fail2banRegex(log, SSHD_CONF);
    const ours = await fleetban(['sshd', log]);
    // Built-in filters have no NOFAIL lines: what fail2ban-regex ignores is missed here.
    assert.equal(ours.counts.matched, theirs.matched);
    assert.equal(ours.counts.lines, theirs.lines);
  });

  it('a multi-line (maxlines = 2) filter: buffered lines move from missed to matched as in fail2ban-regex', async () => {
    const filterDir = join(dir, 'fail2ban', 'filter.d');
    await mkdir(filterDir, { recursive: true });
    const filter = join(filterDir, 'two-line.conf');
    await writeFile(filter, TWO_LINE_FILTER);
    const small = join(dir, 'two-line.log');
    await writeFile(small, `${TWO_LINE_LOG.join('\n')}\n`);
    const theirs = await fail2banRegex(small, filter);
    assert.ok(theirs.matched > 0, 'the sample should match');
    const ours = await fleetban([filter, small]);
    assert.deepEqual(ours.counts, theirs);
    const byName = await fleetban([
      'fail2ban:two-line',
      small,
      '--fail2ban-dir',
      join(dir, 'fail2ban'),
    ]);
    assert.deepEqual(byName.counts, theirs);
  });

  it('a single log line as LOG, as fail2ban-regex takes one', async () => {
    const line =
      'Jan  1 12:00:00 web1 sshd[42]: Failed password for invalid user admin from 203.0.113.9 port 4242 ssh2';
    const theirs = await fail2banRegex(line, SSHD_CONF);
    const ours = await fleetban(['fail2ban:sshd', line]);
    assert.deepEqual(ours.counts, theirs);
    assert.deepEqual(theirs, { lines: 1, ignored: 0, matched: 1, missed: 0 });
  });
});
