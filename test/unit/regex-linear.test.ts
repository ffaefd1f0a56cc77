// Catastrophic backtracking cannot happen: hostile lines against hostile patterns return fast, inline and from fail2ban files; what cannot be bounded is refused by name.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseJailFile } from '../../src/config/jail-options.js';
import { isFleetbanError } from '../../src/core/errors.js';
import { linearObstacle, nestedRepeat, relaxLargeRepeats } from '../../src/core/linear-regex.js';
import { loadFail2banJailFilter } from '../../src/fail2ban/runtime.js';
import { compileFilter } from '../../src/jails/filter.js';
import { builtinFilters, filterModes, resolveFilter } from '../../src/jails/filters/index.js';
import { runCli, ServerDir, sshdJail } from '../helpers/server-process.js';

/** Generous for a loaded 2-core machine; a backtracking engine takes seconds to hours on these lines. */
const FAST_MS = 200;

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetban-regex-linear-'));
  await mkdir(join(dir, 'filter.d'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function timed<T>(run: () => T): { value: T; ms: number } {
  const started = performance.now();
  const value = run();
  return { value, ms: performance.now() - started };
}

test('an inline failregex with a nested repeat stays fast on an attack line and still matches', () => {
  const filter = compileFilter({
    name: 'login',
    failregex: [String.raw`^login failed for (\w+\s?)+ from <HOST>$`],
    ignoreregex: [],
  });
  // 32 word characters: about 3 s for a backtracking engine, doubling per character.
  for (const user of ['a'.repeat(32), 'a'.repeat(60), 'ab '.repeat(300)]) {
    const { value, ms } = timed(() => filter.match(`login failed for ${user} from`));
    assert.equal(value, null);
    assert.ok(ms < FAST_MS, `${user.length}-character user part took ${ms.toFixed(1)} ms`);
  }
  assert.equal(filter.match('login failed for bob smith from 192.0.2.7')?.address, '192.0.2.7');
});

test('fail2ban filter files with exponential patterns load and stay fast on 60-character lines', async () => {
  const patterns = ['(a+b?)+', String.raw`(\w+\s?)+`, '(x+x+)+y', '(.*a){12}'];
  for (const [i, pattern] of patterns.entries()) {
    await writeFile(
      join(dir, 'filter.d', `hostile${i}.conf`),
      `[Definition]\nfailregex = ^${pattern} from <HOST>$\n`,
    );
    const filter = loadFail2banJailFilter(dir, `fail2ban:hostile${i}`).create();
    assert.deepEqual(filter.notices, [], `${pattern} runs on the linear engine`);
    for (const c of ['a', 'x', 'ab']) {
      const line = `${c.repeat(60 / c.length)}!`;
      const { value, ms } = timed(() => filter.classify(line));
      assert.equal(value, null);
      assert.ok(ms < FAST_MS, `${pattern} on ${line} took ${ms.toFixed(1)} ms`);
    }
  }
  const sample = loadFail2banJailFilter(dir, 'fail2ban:hostile1').create();
  assert.equal(sample.classify('bob smith from 192.0.2.8')?.address, '192.0.2.8');
});

test('a fail2ban filter file whose lookahead what follows decides runs on the linear engine, fast on a run of quotes', async () => {
  // exim's "SMTP protocol error" shape: exponential on the backtracking engine in a run of quotes.
  await writeFile(
    join(dir, 'filter.d', 'quoted.conf'),
    `[Definition]\nfailregex = ^protocol error in "[^"]+(?:"+[^"]*(?="))*?" \\[<HOST>\\] AUTH not advertised\\s*$\n`,
  );
  const filter = loadFail2banJailFilter(dir, 'fail2ban:quoted').create();
  assert.deepEqual(filter.notices, []);
  for (const quotes of [30, 200]) {
    const line = `protocol error in "a${'"'.repeat(quotes)}b [192.0.2.11] AUTH`;
    const { value, ms } = timed(() => filter.classify(line));
    assert.equal(value, null);
    assert.ok(ms < FAST_MS, `${quotes} quotes took ${ms.toFixed(1)} ms`);
  }
  const hit = filter.classify('protocol error in "AUTH x""y" [192.0.2.12] AUTH not advertised');
  assert.equal(hit?.address, '192.0.2.12');
});

/** The FILTER_INVALID / JAIL_INVALID message of compiling `failregex` inline. */
function inlineRefusal(failregex: string): string {
  try {
    parseJailFile('bad.json', { bad: { failregex: [failregex], programs: ['x'] } });
  } catch (e) {
    assert.ok(isFleetbanError(e), String(e));
    return e.message;
  }
  return assert.fail(`${failregex} was accepted`);
}

test('a pattern the linear engine cannot run is refused when it repeats a repeat, naming both', () => {
  const lookahead = inlineRefusal(String.raw`^(?!root)login failed for (\w+\s?)+ from <HOST>$`);
  assert.match(lookahead, /bad\.json/);
  assert.match(lookahead, /a negative lookahead \(\?!…\)/);
  assert.ok(lookahead.includes(String.raw`(\w+\s?)+`), lookahead);
  const backref = inlineRefusal(String.raw`^(?<u>\w+) \k<u>(?:x*y)* <HOST>$`);
  assert.match(backref, /a backreference \\k<u>/);
  const counts = inlineRefusal('^(?:a{1,4}){1,5} <HOST>$');
  assert.match(counts, /counted repeats that multiply above 16/);
  // Without the nested repeat, a lookahead keeps the backtracking engine and loads.
  const sshd = compileFilter({
    name: 'x',
    failregex: [String.raw`^Failed (?!publickey )\S+ for \S+ from <HOST>`],
    ignoreregex: [],
  });
  assert.equal(sshd.match('Failed password for root from 192.0.2.9')?.address, '192.0.2.9');
});

test('a fail2ban filter file with a backreference and a nested repeat is refused, naming both', async () => {
  await writeFile(
    join(dir, 'filter.d', 'backref.conf'),
    '[Definition]\nfailregex = ^(?P<u>\\w+) (?P=u) (\\w+\\s?)+ from <HOST>$\n',
  );
  assert.throws(
    () => loadFail2banJailFilter(dir, 'fail2ban:backref'),
    (e: unknown) =>
      isFleetbanError(e) &&
      e.code === 'FLEETBAN_FILTER_INVALID' &&
      e.message.includes('"backref"') &&
      e.message.includes('a backreference (?P=u)') &&
      e.message.includes('backtrack exponentially'),
  );
  // A backreference alone loads on the backtracking engine, with a notice saying so.
  await writeFile(
    join(dir, 'filter.d', 'backref-ok.conf'),
    '[Definition]\nfailregex = ^(?P<u>\\w+) (?P=u) from <HOST>$\n',
  );
  const ok = loadFail2banJailFilter(dir, 'fail2ban:backref-ok').create();
  assert.match(ok.notices.join('\n'), /a backreference \(\?P=u\).*backtracking engine/);
  assert.equal(ok.classify('bob bob from 192.0.2.10')?.address, '192.0.2.10');
});

test('every built-in filter runs on the linear engine only, in every mode (no backtracking fallback)', () => {
  const backtracking: string[] = [];
  let linear = 0;
  for (const name of Object.keys(builtinFilters)) {
    const def = builtinFilters[name];
    assert.ok(def !== undefined);
    for (const mode of filterModes(def)) {
      const filter = compileFilter(resolveFilter(name, mode === '' ? undefined : mode));
      const sessions = [...(filter.sessions?.open ?? []), ...(filter.sessions?.close ?? [])];
      for (const r of [...filter.failregex, ...filter.ignoreregex, ...sessions]) {
        const obstacle = linearObstacle(r.regexp.source, r.regexp.flags);
        if (obstacle === null) linear++;
        else
          backtracking.push(
            `${name}${mode === '' ? '' : `:${mode}`}: ${obstacle.construct} in ${r.source}`,
          );
      }
    }
  }
  assert.ok(linear > 100, `${linear} linear patterns`);
  assert.deepEqual(backtracking, []);
});

test('the linear check names constructs; large counts relax; nested repeats are found', () => {
  assert.equal(linearObstacle(String.raw`^a+\d{1,3}(?:\.\d{1,3}){3}$`), null);
  assert.deepEqual(linearObstacle('a(?<=b)'), {
    kind: 'backtracking',
    construct: 'a lookbehind (?<=…)',
  });
  assert.equal(linearObstacle('a', 'u')?.construct, 'the u flag');
  assert.equal(linearObstacle('[(?=]x\\(?=y'), null);
  assert.equal(
    relaxLargeRepeats(String.raw`.{0,256}?x{1,1024}[a{0,99}]\{0,99}y{2,40}z{3}`),
    String.raw`.*?x+[a{0,99}]\{0,99}y{2,}z{3}`,
  );
  assert.equal(nestedRepeat(String.raw`^(?:(?! from ).)*x(a|b)+`), null);
  assert.equal(nestedRepeat(String.raw`^x(?:a(b+)c)*`), '(?:a(b+)c)*');
  assert.equal(nestedRepeat('[(a+)+]'), null);
});

test('`fleetban config check` refuses the pattern by name; `fleetban test-filter` runs a hostile filter file fast', async () => {
  const server = await ServerDir.create({
    jails: {
      sshd: sshdJail({
        maxretry: 3,
        findtime: '10m',
        bantime: '1h',
        failregex: [String.raw`^(?=l)login failed for (\w+\s?)+ from <HOST>$`],
      }),
    },
  });
  try {
    const check = await runCli(['config', 'check', '--config', server.configFile]);
    assert.notEqual(check.code, 0);
    assert.match(check.stderr, /sshd\.json/);
    assert.match(check.stderr, /a lookahead \(\?=…\).*backtrack exponentially/);
  } finally {
    await server.remove();
  }
  const filterFile = join(dir, 'hostile-cli.conf');
  await writeFile(
    filterFile,
    String.raw`[Definition]
failregex = ^\s*(?:\S+ \S+\[\d+\]: )?(\w+\s?)+ from <HOST>$
`,
  );
  const log = join(dir, 'hostile-cli.log');
  await writeFile(
    log,
    `Dec  2 05:00:00 web1 demo[1]: ${'a'.repeat(60)}!\nDec  2 05:00:01 web1 demo[1]: bob from 192.0.2.5\n`,
  );
  // A backtracking engine would need hours for the first line; the timeout only stops a hang.
  const run = await runCli(['test-filter', filterFile, log], { timeoutMs: 60_000 });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /2 lines, 0 ignored, 1 matched, 1 missed/);
});
