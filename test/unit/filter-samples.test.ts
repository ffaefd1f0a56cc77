// Every built-in filter against its sample file (expectation above each line); every failregex must have a sample, every filter an injection sample.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { compileFilter } from '../../src/jails/filter.js';
import { builtinFilters, filterModes, resolveFilter } from '../../src/jails/filters/index.js';

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

for (const [name, def] of Object.entries(builtinFilters)) {
  test(`built-in filter ${name} matches its samples, and every failregex has one`, () => {
    const samples = readSamples(name, def.defaultMode ?? '');
    assert.ok(samples.length > 0, `${name}.log has no samples`);
    const hitRegexes = new Set<string>();
    const allRegexes = new Set<string>();
    for (const mode of filterModes(def)) {
      const resolved = resolveFilter(name, mode === '' ? undefined : mode);
      resolved.failregex.forEach((r) => allRegexes.add(r));
      const filter = compileFilter(resolved);
      for (const s of samples.filter((x) => x.mode === mode)) {
        const hit = filter.match(s.text);
        const where = `${name}.log:${s.lineNo} (mode ${mode}): ${s.text}`;
        assert.equal(hit !== null, s.expect.match, where);
        if (hit === null) continue;
        hitRegexes.add(filter.failregex[hit.regex]?.source ?? '');
        if (s.expect.host !== undefined) assert.equal(hit.address, s.expect.host, where);
        if (s.expect.user !== undefined) assert.equal(hit.user, s.expect.user, where);
      }
    }
    const unmatched = [...allRegexes].filter((r) => !hitRegexes.has(r));
    assert.deepEqual(unmatched, [], `failregex without a matching sample in ${name}.log`);
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
    for (const s of samples) {
      const where = `${name}.log:${s.lineNo} (mode ${s.mode}): ${s.text}`;
      const victim = s.expect.victim ?? '';
      assert.ok(s.text.includes(victim), `${where}: the line does not hold the victim ${victim}`);
      assert.equal(s.expect.match, true, `${where}: an injection sample must still match`);
      assert.ok(
        s.expect.host !== undefined && s.expect.host !== victim,
        `${where}: expect the real client, not the victim`,
      );
      const filter = compileFilter(resolveFilter(name, s.mode === '' ? undefined : s.mode));
      const hit = filter.match(s.text);
      assert.notEqual(hit?.address, victim, `${where}: the victim would be banned`);
      assert.equal(hit?.address, s.expect.host, where);
    }
  });
}
