// Every built-in filter against its sample file (expectation above each line); every failregex must have a sample, every filter an injection sample.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { compileFilter, type FilterHit } from '../../src/jails/filter.js';
import {
  builtinFilters,
  filterModes,
  resolveFilter,
  type FilterDefinition,
} from '../../src/jails/filters/index.js';
import { isParseError, parseSyslog, SyslogTimeZone } from '../../src/parse/syslog.js';

const FIXTURES = new URL('../../../test/fixtures/filters/', import.meta.url);

interface Sample {
  readonly lineNo: number;
  readonly mode: string;
  readonly text: string;
  readonly expect: {
    readonly match: boolean;
    readonly host?: string;
    readonly user?: string;
    /** An address placed in attacker-writable text of the line: it must never be the one banned. */
    readonly victim?: string;
  };
}

function readSamples(name: string, defaultMode: string): Sample[] {
  const lines = readFileSync(new URL(`${name}.log`, FIXTURES), 'utf8').split('\n');
  const samples: Sample[] = [];
  let mode = defaultMode;
  let pending: Sample['expect'] | null = null;
  lines.forEach((line, i) => {
    const modeLine = /^# mode: (\S*)\s*$/.exec(line);
    const expectLine = /^# expect: (.*)$/.exec(line);
    if (modeLine !== null) mode = modeLine[1] ?? '';
    else if (expectLine !== null) pending = JSON.parse(expectLine[1] ?? '') as Sample['expect'];
    else if (line.startsWith('#') || line.trim() === '') return;
    else {
      assert.ok(
        pending !== null,
        `${name}.log:${i + 1}: sample without a "# expect:" line above it`,
      );
      samples.push({ lineNo: i + 1, mode, text: line, expect: pending });
      pending = null;
    }
  });
  return samples;
}

/** One sample's outcome, and the regex text that matched it. */
interface Outcome {
  readonly sample: Sample;
  readonly hit: FilterHit | null;
  readonly regex: string;
}

/**
 * Runs one mode's samples through one filter, in file order. A filter with sessions pairs lines
 * by session, host and pid, so its samples are whole syslog lines, parsed as ingest parses
 * them; the others' are the MESSAGE alone. Also returns the session patterns that some sample
 * line matched.
 */
function replay(
  name: string,
  def: FilterDefinition,
  mode: string,
  samples: readonly Sample[],
): { outcomes: Outcome[]; sessionHits: Set<string>; sessionPatterns: string[] } {
  const filter = compileFilter(resolveFilter(name, mode === '' ? undefined : mode));
  const sessionHits = new Set<string>();
  const patterns = [...(filter.sessions?.open ?? []), ...(filter.sessions?.close ?? [])];
  const parseOptions = { maxSkewMs: Number.POSITIVE_INFINITY, timeZone: new SyslogTimeZone('UTC') };
  const outcomes = samples
    .filter((s) => s.mode === mode)
    .map((sample) => {
      let hit: FilterHit | null;
      if (def.sessions === undefined) hit = filter.match(sample.text);
      else {
        const event = parseSyslog(
          sample.text,
          '127.0.0.1',
          Date.UTC(2026, 11, 2, 12),
          parseOptions,
        );
        assert.ok(!isParseError(event), `${name}.log:${sample.lineNo}: not a syslog line`);
        for (const r of patterns) if (r.regexp.test(event.message)) sessionHits.add(r.source);
        hit = filter.match(event.message, event);
      }
      return {
        sample,
        hit,
        regex: hit === null ? '' : (filter.failregex[hit.regex]?.source ?? ''),
      };
    });
  return { outcomes, sessionHits, sessionPatterns: patterns.map((r) => r.source) };
}

for (const [name, def] of Object.entries(builtinFilters)) {
  test(`built-in filter ${name} matches its samples, and every failregex has one`, () => {
    const samples = readSamples(name, def.defaultMode ?? '');
    assert.ok(samples.length > 0, `${name}.log has no samples`);
    const hitRegexes = new Set<string>();
    const allRegexes = new Set<string>();
    const sessionMatched = new Set<string>();
    const allSessionPatterns = new Set<string>();
    for (const mode of filterModes(def)) {
      resolveFilter(name, mode === '' ? undefined : mode).failregex.forEach((r) =>
        allRegexes.add(r),
      );
      const { outcomes, sessionHits, sessionPatterns } = replay(name, def, mode, samples);
      for (const { sample: s, hit, regex } of outcomes) {
        const where = `${name}.log:${s.lineNo} (mode ${mode}): ${s.text}`;
        assert.equal(hit !== null, s.expect.match, where);
        if (hit === null) continue;
        hitRegexes.add(regex);
        if (s.expect.host !== undefined) assert.equal(hit.address, s.expect.host, where);
        if (s.expect.user !== undefined) assert.equal(hit.user, s.expect.user, where);
      }
      sessionHits.forEach((r) => sessionMatched.add(r));
      sessionPatterns.forEach((r) => allSessionPatterns.add(r));
    }
    const unmatched = [...allRegexes].filter((r) => !hitRegexes.has(r));
    assert.deepEqual(unmatched, [], `failregex without a matching sample in ${name}.log`);
    const unused = [...allSessionPatterns].filter((r) => !sessionMatched.has(r));
    assert.deepEqual(unused, [], `session pattern without a sample in ${name}.log`);
  });
}

/**
 * docs/filters.md: attacker text must never choose who is banned. Each filter carries at least
 * one line whose attacker-writable text (user name, URL, Referer, HELO, ...) holds another
 * address, and the filter must still ban the real client.
 */
for (const [name, def] of Object.entries(builtinFilters)) {
  test(`built-in filter ${name}: an address in attacker text never chooses who is banned`, () => {
    const samples = readSamples(name, def.defaultMode ?? '').filter(
      (s) => s.expect.victim !== undefined,
    );
    assert.ok(
      samples.length > 0,
      `${name}.log has no injection sample (an "# expect:" with "victim"): see docs/filters.md`,
    );
    // Replayed with every sample of its mode before it: a filter with sessions needs them.
    const all = readSamples(name, def.defaultMode ?? '');
    const hits = new Map<Sample, FilterHit | null>();
    for (const mode of filterModes(def))
      for (const o of replay(name, def, mode, all).outcomes) hits.set(o.sample, o.hit);
    for (const s of all.filter((x) => x.expect.victim !== undefined)) {
      const where = `${name}.log:${s.lineNo} (mode ${s.mode}): ${s.text}`;
      const victim = s.expect.victim ?? '';
      assert.ok(s.text.includes(victim), `${where}: the line does not hold the victim ${victim}`);
      assert.equal(s.expect.match, true, `${where}: an injection sample must still match`);
      assert.ok(
        s.expect.host !== undefined && s.expect.host !== victim,
        `${where}: expect the real client, not the victim`,
      );
      const hit = hits.get(s);
      assert.notEqual(hit?.address, victim, `${where}: the victim would be banned`);
      assert.equal(hit?.address, s.expect.host, where);
    }
  });
}
