// Runs fail2ban's own sample logs through fleetban's fail2ban loader with fail2ban's judging rules, and holds the score with a ratchet.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseIp } from '../../src/core/ip.js';
import { loadFail2banFilter } from '../../src/fail2ban/filter.js';
import { Fail2banMatcher, type Fail2banResult } from '../../src/fail2ban/matcher.js';
import { ianaZone } from '../../src/fail2ban/strptime.js';

const CONFIG_DIR = '/etc/fail2ban';
const LOGS = '/usr/lib/python3/dist-packages/fail2ban/tests/files/logs';
const RATCHET = fileURLToPath(new URL('../../../test/fail2ban-corpus-score.json', import.meta.url));
/** fail2ban's TEST_NOW: 2005-08-14 12:00 CEST. */
const NOW = 1124013600 * 1000;
/** The harness runs under TZ=CET-01CEST-02,M3.5.0,M10.5.0; Europe/Paris keeps the same rules in these years. */
const ZONE = ianaZone('Europe/Paris');
const TEST_NOW_TEXT = '2005-08-14T10:00:00';

type Opts = Record<string, string>;
type FailData = Record<string, unknown>;

interface FilterUnderTest {
  readonly key: string;
  readonly matcher: Fail2banMatcher | null;
  readonly error: string;
  readonly used: Set<number>;
}

interface FilterScore {
  passed: number;
  failed: number;
  readonly why: string[];
}

/** fail2ban's test constraints are Python expressions; these are the forms its samples use. */
function evaluate(expr: string, name: string, opts: Opts): boolean | undefined {
  const m = /^\s*(name|opts\.get\('([\w.-]+)'\))\s*(==|!=)\s*'([^']*)'\s*$/.exec(expr);
  if (m === null) return undefined;
  const left = m[1] === 'name' ? name : opts[m[2] ?? ''];
  return m[3] === '==' ? left === m[4] : left !== m[4];
}

function sameHost(expected: unknown, got: string | null): boolean {
  if (typeof expected !== 'string' || got === null) return expected === got;
  const a = parseIp(expected);
  const b = parseIp(got);
  return a !== null && b !== null ? a.text === b.text : expected === got;
}

function jsonTime(text: string): number {
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})T(\d{1,2}):(\d{1,2}):(\d{1,2})/.exec(text);
  if (m === null) return NaN;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return ZONE.toEpoch(y, mo, d, h, mi, s);
}

function show(v: unknown): string {
  return JSON.stringify(v instanceof Set ? [...v] : v);
}

/** Why one check failed, or '' when it passed. */
function judge(data: FailData, results: readonly Fail2banResult[], used: Set<number>): string {
  const found = results.filter((r) => {
    if (r.id === null || r.nofail) {
      used.add(r.regex);
      return false;
    }
    return true;
  });
  if (found.length === 0) return data['match'] === true ? 'expected a match, got none' : '';
  if (data['match'] !== true)
    return `expected no match, regex ${found[0]?.regex} matched (${found[0]?.id})`;
  if (found.length !== 1) return `several regexes matched: ${found.map((f) => f.regex).join(', ')}`;
  const r = found[0] as Fail2banResult;
  for (const [k, v] of Object.entries(data)) {
    if (['time', 'match', 'desc', 'constraint'].includes(k)) continue;
    if (k === 'host') {
      const got = r.fields['host'] ?? r.id;
      if (!sameHost(v, got)) return `host: expected ${show(v)}, got ${show(got)}`;
    } else if (k === 'attempts') {
      if (v !== r.attempts) return `attempts: expected ${show(v)}, got ${r.attempts}`;
    } else if (k === 'users') {
      const want = [...(v as string[])].sort();
      if (JSON.stringify(want) !== JSON.stringify(r.users))
        return `users: expected ${show(want)}, got ${show(r.users)}`;
    } else if ((r.fields[k] ?? null) !== v)
      return `${k}: expected ${show(v)}, got ${show(r.fields[k] ?? null)}`;
  }
  if (typeof data['time'] === 'string') {
    const want = jsonTime(data['time']);
    const got = r.time === null ? null : Math.floor(r.time / 1000) * 1000;
    if (got !== want) {
      return `time: expected ${data['time']}, got ${got === null ? 'none' : new Date(got).toISOString()}`;
    }
  }
  used.add(r.regex);
  return '';
}

/** Filters with a pattern V8's linear engine cannot run (lookaround, backreference), by name. */
const backtracking = new Set<string>();
/** Filters refused because such a pattern could backtrack exponentially. */
const refused = new Set<string>();

function runFilter(name: string, score: FilterScore, unused: string[]): void {
  const cache = new Map<string, FilterUnderTest>();
  const read = (opts: Opts): FilterUnderTest => {
    const fltOpts = Object.fromEntries(
      Object.entries(opts).filter(([k]) => !k.startsWith('test.')),
    );
    const key =
      opts['test.filter-name'] ?? (Object.keys(fltOpts).length > 0 ? JSON.stringify(fltOpts) : '');
    let f = cache.get(key);
    if (f === undefined) {
      try {
        const spec = loadFail2banFilter(CONFIG_DIR, name, fltOpts);
        const matcher = new Fail2banMatcher(spec, { useDns: 'warn', zone: ZONE, checkAll: true });
        if (matcher.notices.some((n) => n.includes('linear-time engine'))) backtracking.add(name);
        f = { key, matcher, error: '', used: new Set() };
      } catch (e) {
        if (e instanceof Error && e.message.includes('backtrack exponentially')) refused.add(name);
        f = {
          key,
          matcher: null,
          error: e instanceof Error ? e.message : String(e),
          used: new Set(),
        };
      }
      cache.set(key, f);
    }
    return f;
  };
  const files = [name];
  let common: Opts = {};
  let tests: { f: FilterUnderTest; opts: Opts }[] | null = null;
  for (let i = 0; i < files.length; i++) {
    const file = files[i] as string;
    const lines = readFileSync(join(LOGS, file), 'utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    let ignoreBlock = false;
    for (let n = 0; n < lines.length; n++) {
      let line = lines[n] as string;
      let data: FailData = {};
      const meta = /^#+ ?(failJSON|(?:file|filter)Options|addFILE):([^\n]+)$/.exec(line);
      if (meta !== null) {
        const value: unknown = JSON.parse(meta[2] ?? 'null');
        if (meta[1] === 'fileOptions') {
          common = value as Opts;
          continue;
        }
        if (meta[1] === 'filterOptions') {
          tests = [];
          ignoreBlock = false;
          for (const one of Array.isArray(value) ? (value as Opts[]) : [value as Opts]) {
            const opts = { ...common, ...one };
            const cond = opts['test.condition'];
            if (cond !== undefined) ignoreBlock = evaluate(cond, name, opts) !== true;
            if (!ignoreBlock) tests.push({ f: read(opts), opts });
          }
          continue;
        }
        if (meta[1] === 'addFILE') {
          files.push(value as string);
          continue;
        }
        data = value as FailData;
        n++;
        line = lines[n] ?? '';
      } else if (ignoreBlock || line.startsWith('#') || line.trim() === '') continue;
      if (ignoreBlock) continue;
      tests ??= [{ f: read({}), opts: {} }];
      line = line.replace(/\r?\n?$/, '').replace(/\r$/, '');
      for (const { f, opts } of tests) {
        const constraint = data['constraint'];
        if (typeof constraint === 'string' && evaluate(constraint, name, opts) !== true) continue;
        let why: string;
        if (f.matcher === null) why = `filter not loaded: ${f.error}`;
        else {
          let results: Fail2banResult[];
          if (opts['logtype'] !== 'journal') results = f.matcher.processLine(line, NOW);
          else {
            const prefixed = (opts['test.prefix-line'] ?? '') + line;
            results = f.matcher.processMessage(prefixed, jsonTime(TEST_NOW_TEXT));
          }
          why = judge(data, results, f.used);
        }
        if (why === '') score.passed++;
        else {
          score.failed++;
          score.why.push(
            `${file}:${n + 1}${f.key === '' ? '' : ` ${f.key}`}: ${why}\n      ${line.slice(0, 160)}`,
          );
        }
      }
    }
  }
  // fail2ban counts a pattern as covered when any option set used the same pattern text.
  const usedText = new Set<string>();
  for (const f of cache.values())
    f.matcher?.failregex.forEach((r, i) => f.used.has(i) && usedText.add(r.source));
  for (const f of cache.values()) {
    if (f.matcher === null) continue;
    f.matcher.failregex.forEach((r, i) => {
      if (!f.used.has(i) && !usedText.has(r.source))
        unused.push(
          `${name}${f.key === '' ? '' : ` ${f.key}`}: failregex ${i} has no matching sample: ${r.source.slice(0, 120)}`,
        );
    });
  }
}

test('fail2ban sample logs pass through fleetban fail2ban filters (ratchet)', () => {
  if (!existsSync(join(CONFIG_DIR, 'filter.d')) || !existsSync(LOGS)) {
    assert.fail('fail2ban not installed: apt-get install fail2ban (or npm run test:all as root)');
  }
  const started = performance.now();
  const names = readdirSync(join(CONFIG_DIR, 'filter.d'))
    .filter((f) => f.endsWith('.conf') && !f.endsWith('common.conf'))
    .map((f) => f.slice(0, -5))
    .sort();
  const scores = new Map<string, FilterScore>();
  const unused: string[] = [];
  for (const name of names) {
    const score: FilterScore = { passed: 0, failed: 0, why: [] };
    scores.set(name, score);
    if (!existsSync(join(LOGS, name))) {
      score.why.push('no sample log');
      continue;
    }
    runFilter(name, score, unused);
  }
  let passed = 0;
  let total = 0;
  const out: string[] = ['', 'filter                      passed  failed'];
  for (const [name, s] of scores) {
    passed += s.passed;
    total += s.passed + s.failed;
    out.push(`${name.padEnd(28)}${String(s.passed).padStart(6)}${String(s.failed).padStart(8)}`);
    for (const why of s.why) out.push(`    ${why}`);
  }
  const elapsed = (performance.now() - started) / 1000;
  out.push(`unused failregexes: ${unused.length}`, ...unused.map((u) => `    ${u}`));
  out.push(
    `total: ${passed} / ${total} line checks passed (${((100 * passed) / Math.max(total, 1)).toFixed(1)} %) in ${elapsed.toFixed(1)} s`,
  );
  out.push(
    `on the backtracking engine (lookaround, backreference): ${[...backtracking].join(' ')}`,
    `refused (exponential backtracking): ${[...refused].join(' ')}`,
  );
  console.log(out.join('\n'));
  const ratchet = JSON.parse(readFileSync(RATCHET, 'utf8')) as {
    passed: number;
    skipped: Record<string, string>;
    backtracking: string[];
    refused: Record<string, string>;
  };
  // A refused filter's lines cannot be checked: it is skipped, by name, with the reason in the file.
  const failures = [...scores].flatMap(([n, s]) =>
    s.failed > 0 && !(n in ratchet.refused) ? [`${n}: ${s.why[0]}`] : [],
  );
  assert.deepEqual(failures, [], 'every line check of every loaded filter passes');
  assert.deepEqual(unused, [], 'every failregex matches at least one sample line');
  const skipped = [...scores].filter(([, s]) => s.passed + s.failed === 0).map(([n]) => n);
  assert.deepEqual(skipped, Object.keys(ratchet.skipped).sort(), 'filters with no line check');
  assert.deepEqual([...refused].sort(), Object.keys(ratchet.refused).sort(), 'refused filters');
  // Every other filter runs on V8's linear engine only: the list changes only on purpose.
  assert.deepEqual(
    [...backtracking].sort(),
    [...ratchet.backtracking].sort(),
    'filters on the backtracking engine',
  );
  assert.ok(
    passed >= ratchet.passed,
    `score dropped: ${passed} < ${ratchet.passed} (test/fail2ban-corpus-score.json)`,
  );
});
