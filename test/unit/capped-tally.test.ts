// CappedTally: counts by key up to a limit of distinct keys, sums the rest, names the busiest.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CappedTally } from '../../src/core/capped-tally.js';

test('counts up to the limit of keys, sums the others, and names the busiest first', () => {
  const tally = new CappedTally<string>(3);
  assert.equal(tally.add('b'), true);
  assert.equal(tally.add('b'), false);
  assert.equal(tally.add('a'), true);
  assert.equal(tally.add('c'), true);
  assert.equal(tally.add('a'), false);
  assert.equal(tally.add('d'), false, 'a fourth key is not tracked');
  assert.equal(tally.add('e'), false);
  assert.equal(tally.add('c'), false, 'a tracked key still counts at the limit');
  assert.equal(tally.size, 3);
  assert.equal(tally.untracked, 2);
  assert.deepEqual(tally.busiest(2), [
    ['a', 2],
    ['b', 2],
  ]);
  assert.deepEqual(
    new Map(tally.entries()),
    new Map([
      ['b', 2],
      ['a', 2],
      ['c', 2],
    ]),
  );
  tally.clear();
  assert.equal(tally.size, 0);
  assert.equal(tally.untracked, 0);
  assert.equal(tally.add('d'), true, 'room again after clear');
});
