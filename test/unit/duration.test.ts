// Duration tables: what admins write for findtime/bantime (seconds, 10m, 1h30m, -1, permanent) and how it prints.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, parseBantime, parseDuration } from '../../src/core/duration.js';

test('parseDuration: seconds, unit terms and sums; undefined for anything else', () => {
  const table: [unknown, number | undefined][] = [
    [0, 0],
    [600, 600],
    [1.5, 1.5],
    ['600', 600],
    [' 600 ', 600],
    ['0.5', 0.5],
    ['30s', 30],
    ['5sec', 5],
    ['10m', 600],
    ['10min', 600],
    ['10M', 600],
    ['1h', 3600],
    ['1.5h', 5400],
    ['1h30m', 5400],
    ['1h 30m', 5400],
    ['90 s', 90],
    ['1d', 86400],
    ['1w', 604800],
    ['1w1d1h1m1s', 604800 + 86400 + 3600 + 60 + 1],
    [-1, undefined],
    [Number.NaN, undefined],
    [Number.POSITIVE_INFINITY, undefined],
    ['', undefined],
    ['   ', undefined],
    ['-1', undefined],
    ['-10m', undefined],
    ['10', 10],
    ['10x', undefined],
    ['m', undefined],
    ['10mins', undefined],
    ['1e3', undefined],
    ['1h-30m', undefined],
    ['permanent', undefined],
    [null, undefined],
    [undefined, undefined],
    [true, undefined],
    [{}, undefined],
    [[600], undefined],
  ];
  for (const [value, expected] of table) {
    assert.equal(
      parseDuration(value),
      expected,
      value === undefined ? 'undefined' : JSON.stringify(value),
    );
  }
});

test('parseBantime: a duration, or null (permanent) for -1 and "permanent"', () => {
  const table: [unknown, number | null | undefined][] = [
    [-1, null],
    ['-1', null],
    ['permanent', null],
    [600, 600],
    ['10m', 600],
    ['1d', 86400],
    [0, 0],
    [-2, undefined],
    ['-2', undefined],
    ['forever', undefined],
    ['', undefined],
    [null, undefined],
  ];
  for (const [value, expected] of table) {
    assert.equal(parseBantime(value), expected, JSON.stringify(value));
  }
});

test('formatDuration: largest units first, zero parts left out, rounded to seconds', () => {
  const table: [number, string][] = [
    [0, '0s'],
    [-5, '0s'],
    [0.4, '0s'],
    [1, '1s'],
    [59, '59s'],
    [59.6, '1m'],
    [60, '1m'],
    [90, '1m30s'],
    [600, '10m'],
    [3600, '1h'],
    [3661, '1h1m1s'],
    [86400, '1d'],
    [90000, '1d1h'],
    [604800, '7d'],
    [31536000, '365d'],
  ];
  for (const [seconds, text] of table) assert.equal(formatDuration(seconds), text, String(seconds));
});

test('formatDuration output parses back to the same number of whole seconds', () => {
  for (const seconds of [1, 59, 61, 3599, 3601, 86399, 86401, 694861, 1234567]) {
    assert.equal(parseDuration(formatDuration(seconds)), seconds, String(seconds));
  }
});
