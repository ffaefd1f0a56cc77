// The built-in filter library as shipped: every jail file loads, and no pattern backtracks badly on hostile 8 KiB lines.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import { parseJailFile } from '../../src/config/jail-options.js';
import { compileFilter } from '../../src/jails/filter.js';
import { builtinFilters, filterModes, resolveFilter } from '../../src/jails/filters/index.js';

const JAILS_DIR = new URL('../../../config/jails.d/', import.meta.url);
const FIXTURES = new URL('../../../test/fixtures/filters/', import.meta.url);
/** ingest's default maximum message size. */
const MAX_MESSAGE = 8192;

test('every shipped jail file loads, only sshd is enabled, and every built-in filter has a jail', () => {
  const files = readdirSync(JAILS_DIR).filter((f) => f.endsWith('.json'));
  const used = new Set<string>();
  for (const file of files) {
    const jails = parseJailFile(file, JSON.parse(readFileSync(new URL(file, JAILS_DIR), 'utf8')));
    assert.equal(jails.length, 1, `${file} holds one jail`);
    for (const jail of jails) {
      assert.equal(`${jail.name}.json`, file, `${file} is named after its jail`);
      assert.equal(jail.enabled, jail.name === 'sshd', `${file}: only sshd is enabled by default`);
      assert.ok(jail.programs.length > 0, `${file}: routed by program`);
      used.add(jail.filter);
    }
  }
  assert.deepEqual(
    Object.keys(builtinFilters).filter((f) => !used.has(f)),
    [],
    'built-in filters without a shipped jail',
  );
});

test('shipped jails keep fail2ban per-jail values', () => {
  const load = (name: string) => {
    const text = readFileSync(new URL(`${name}.json`, JAILS_DIR), 'utf8');
    const [jail] = parseJailFile(`${name}.json`, JSON.parse(text));
    assert.ok(jail !== undefined);
    return jail;
  };
  const recidive = load('recidive');
  assert.deepEqual([recidive.bantime, recidive.findtime, recidive.maxretry], [604800, 86400, 5]);
  const badbots = load('apache-badbots');
  assert.deepEqual([badbots.bantime, badbots.maxretry], [172800, 1]);
  const rbl = load('postfix-rbl');
  assert.deepEqual([rbl.filter, rbl.mode, rbl.maxretry], ['postfix', 'rbl', 1]);
});

/** Texts that make careless patterns backtrack: long runs of the characters they repeat. */
function hostileLines(name: string): string[] {
  const samples = readFileSync(new URL(`${name}.log`, FIXTURES), 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'));
  const fill = (unit: string): string =>
    unit.repeat(Math.ceil(MAX_MESSAGE / unit.length)).slice(0, MAX_MESSAGE);
  const out = [
    fill('a'),
    fill(' '),
    fill('1.'),
    fill(':'),
    fill('a:'),
    fill('[1.2.3.4]'),
    fill(' from 192.0.2.1'),
    fill('"x" '),
    fill('=a, '),
  ];
  for (const s of samples) {
    // The sample with its tail cut and the middle stretched: the regex must fail fast.
    const cut = s.slice(0, Math.max(1, s.length - 3));
    out.push(fill(cut));
    out.push(
      `${s.slice(0, s.length >> 1)}${' '.repeat(MAX_MESSAGE - s.length)}${s.slice(s.length >> 1)}!`,
    );
  }
  return out;
}

for (const name of Object.keys(builtinFilters)) {
  test(`filter ${name}: every pattern stays fast on hostile 8 KiB lines`, () => {
    const lines = hostileLines(name);
    const def = builtinFilters[name];
    assert.ok(def !== undefined);
    let worst = 0;
    let worstWhat = '';
    for (const mode of filterModes(def)) {
      const filter = compileFilter(resolveFilter(name, mode === '' ? undefined : mode));
      const sessions = [...(filter.sessions?.open ?? []), ...(filter.sessions?.close ?? [])];
      for (const r of [...filter.failregex, ...filter.ignoreregex, ...sessions]) {
        for (const line of lines) {
          const t0 = performance.now();
          r.regexp.exec(line);
          const ms = performance.now() - t0;
          if (ms > worst) {
            worst = ms;
            worstWhat = `${r.source} on ${JSON.stringify(line.slice(0, 60))}…`;
          }
        }
      }
    }
    // Linear patterns take well under a millisecond here; exponential ones take seconds.
    assert.ok(worst < 250, `slowest: ${worst.toFixed(1)} ms for ${worstWhat}`);
  });
}
