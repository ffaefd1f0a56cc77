// The error catalogue: every code unique, FLEETBAN_-prefixed, mapped to an HTTP status, and raised somewhere.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  ErrorCode,
  FleetbanError,
  describeError,
  httpStatusOf,
  isFleetbanError,
} from '../../src/core/errors.js';

/** Compiled to dist/test/unit/, so the sources are three folders up. */
const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

test('every code is FLEETBAN_ + its key, and unique', () => {
  const entries = Object.entries(ErrorCode);
  assert.ok(entries.length > 0);
  for (const [key, code] of entries) {
    assert.match(code, /^FLEETBAN_[A-Z0-9_]+$/, key);
    assert.equal(code, `FLEETBAN_${key}`, key);
  }
  const codes = entries.map(([, code]) => code);
  assert.equal(new Set(codes).size, codes.length, 'duplicate code');
});

test('httpStatusOf maps exactly the catalogue, each to a 4xx or 5xx status', () => {
  const codes = Object.values(ErrorCode).sort();
  assert.deepEqual(Object.keys(httpStatusOf).sort(), codes);
  for (const code of codes) {
    const status = httpStatusOf[code];
    assert.ok(Number.isInteger(status) && status >= 400 && status <= 599, `${code} → ${status}`);
  }
});

test('statuses that callers rely on', () => {
  const table: [ErrorCode, number][] = [
    [ErrorCode.CONFIG_INVALID, 400],
    [ErrorCode.BAN_TARGET_INVALID, 400],
    [ErrorCode.JAIL_UNKNOWN, 404],
    [ErrorCode.BAN_NOT_FOUND, 404],
    [ErrorCode.BAN_IGNORED, 409],
    [ErrorCode.UNAUTHORIZED, 401],
    [ErrorCode.REQUEST_TOO_LARGE, 413],
    [ErrorCode.STORE_CLOSED, 503],
    [ErrorCode.INTERNAL, 500],
  ];
  for (const [code, status] of table) assert.equal(httpStatusOf[code], status, code);
});

test('every code is raised somewhere in src (no dead entries)', () => {
  const text = sourceFiles(SRC)
    .filter((f) => !f.endsWith(join('core', 'errors.ts')))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  for (const key of Object.keys(ErrorCode)) {
    assert.match(text, new RegExp(`ErrorCode\\.${key}\\b`), `ErrorCode.${key} is never used`);
  }
});

test('FleetbanError carries code, name and cause; isFleetbanError branches on code', () => {
  const cause = new Error('disk full');
  const e = new FleetbanError(ErrorCode.STORE_CLOSED, 'store is closed', { cause });
  assert.ok(e instanceof Error);
  assert.equal(e.code, 'FLEETBAN_STORE_CLOSED');
  assert.equal(e.name, 'FleetbanError');
  assert.equal(e.message, 'store is closed');
  assert.equal(e.cause, cause);
  assert.equal(isFleetbanError(e), true);
  assert.equal(isFleetbanError(e, ErrorCode.STORE_CLOSED), true);
  assert.equal(isFleetbanError(e, ErrorCode.INTERNAL), false);
  assert.equal(isFleetbanError(new Error('x')), false);
  assert.equal(isFleetbanError({ code: ErrorCode.INTERNAL, message: 'look-alike' }), false);
  assert.equal(isFleetbanError(undefined), false);
});

test('describeError: the message of an Error, the text of anything else', () => {
  const table: [unknown, string][] = [
    [new Error('boom'), 'boom'],
    [new FleetbanError(ErrorCode.USAGE, 'bad flag'), 'bad flag'],
    ['plain text', 'plain text'],
    [42, '42'],
    [null, 'null'],
    [undefined, 'undefined'],
  ];
  for (const [value, text] of table) assert.equal(describeError(value), text);
});
