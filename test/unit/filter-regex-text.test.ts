// The exclusions built-in filters use instead of negative lookaheads accept exactly what the lookahead did, and run on the linear engine.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { linearObstacle } from '../../src/core/linear-regex.js';
import { runExcept, textWithout } from '../../src/jails/filters/regex-text.js';
import { allStrings } from '../helpers/strings.js';

/** Compares `runExcept` with the lookahead it replaces on every short string, the run ending at `:`. */
function sameAsLookahead(
  cls: string,
  min: number,
  max: number,
  word: string,
  how: 'whole' | 'prefix',
  alphabet: string,
): void {
  const written = runExcept(cls, min, max, word, how);
  assert.equal(linearObstacle(written), null, written);
  const lookahead = new RegExp(
    `^(?!${word}${how === 'whole' ? '\\b' : ''})${cls}{${min},${max}}:$`,
  );
  const linear = new RegExp(`^${written}:$`);
  let accepted = 0;
  for (const s of allStrings(alphabet, max + 1)) {
    const line = `${s}:`;
    assert.equal(linear.test(line), lookahead.test(line), `${written} on ${JSON.stringify(line)}`);
    if (lookahead.test(line)) accepted++;
  }
  assert.ok(accepted > 0);
}

test('runExcept accepts what (?!word) and (?!word\\b) accepted, on every short run', () => {
  // The letters of the word, one other class member, one character outside the class.
  sameAsLookahead('[A-Z]', 1, 6, 'DATA', 'whole', 'DATX ');
  sameAsLookahead('[A-Z]', 0, 3, 'DATA', 'whole', 'DATX');
  sameAsLookahead('[\\w-]', 0, 7, 'evas', 'prefix', 'evas-: ');
  sameAsLookahead('[^\\]\\s"]', 1, 5, 'reci', 'whole', 'reci]x" ');
  sameAsLookahead('[a-z]', 2, 4, 'abc', 'prefix', 'abcz');
});

test('runExcept writes the class without the excluded character, and refuses classes it cannot subtract from', () => {
  assert.equal(
    runExcept('[A-Z]', 1, 16, 'DATA', 'whole'),
    '(?:[A-CE-Z][A-Z]{0,15}|D(?:[B-Z][A-Z]{0,14}|A(?:[A-SU-Z][A-Z]{0,13}|T(?:[B-Z][A-Z]{0,12}|A[A-Z]{1,12}|)|)|))',
  );
  assert.throws(() => runExcept('[\\S]', 1, 4, 'x', 'whole'), TypeError);
  assert.throws(() => runExcept('[a-z]', 1, 4, '', 'whole'), TypeError);
});

test('textWithout accepts exactly the texts without " word " (but for a final " word")', () => {
  for (const word of ['from', 'ab', 'x']) {
    const written = textWithout(word);
    assert.equal(linearObstacle(written), null, written);
    const linear = new RegExp(`^${written}$`);
    const lookahead = new RegExp(`^(?:(?! ${word} ).)*$`);
    let accepted = 0;
    for (const s of allStrings(`${[...new Set(word)].join('')} z`, 7)) {
      const expected = lookahead.test(s) && !s.endsWith(` ${word}`);
      assert.equal(linear.test(s), expected, `${written} on ${JSON.stringify(s)}`);
      if (expected) accepted++;
    }
    assert.ok(accepted > 0);
  }
});
