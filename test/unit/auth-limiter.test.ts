// The failed-token limiter alone: per-source limit and window, IPv6 /64 sources, bounded memory, summary lines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Logger } from '../../src/core/logger.js';
import { AuthLimiter, sourceKey } from '../../src/control/auth-limiter.js';

function recorder() {
  const lines: { msg: string; obj: Record<string, unknown> }[] = [];
  const at = (a: object | string, b?: string): void => {
    if (typeof a === 'string') lines.push({ msg: a, obj: {} });
    else lines.push({ msg: b ?? '', obj: a as Record<string, unknown> });
  };
  const logger: Logger = { error: at, warn: at, info: at, debug: at, child: () => logger };
  return { logger, lines };
}

const options = { maxFailures: 3, windowMs: 10_000, maxSources: 100, logIntervalMs: 60_000 };

test('sources: IPv4 as is, IPv4-mapped as IPv4, IPv6 by /64', () => {
  assert.equal(sourceKey('192.0.2.7'), '192.0.2.7');
  assert.equal(sourceKey('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(sourceKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(sourceKey(undefined), 'unknown');
});

test('a source is refused for the window once it reaches the limit, then starts afresh', () => {
  let now = 0;
  const { logger } = recorder();
  const limiter = new AuthLimiter(options, logger, 'test API', () => now);
  for (let i = 0; i < 2; i++) limiter.failed('192.0.2.7', 'wrong');
  assert.equal(limiter.retryAfter('192.0.2.7'), null);
  limiter.failed('192.0.2.7', 'wrong');
  assert.equal(limiter.retryAfter('192.0.2.7'), 10);
  assert.equal(limiter.retryAfter('192.0.2.8'), null);
  // Rotating addresses inside one /64 does not escape the limit.
  for (let i = 1; i <= 3; i++) limiter.failed(`2001:db8::${i}`, 'wrong');
  assert.equal(limiter.retryAfter('2001:db8::ffff'), 10);
  now = 9_001;
  assert.equal(limiter.retryAfter('192.0.2.7'), 1);
  now = 10_000;
  assert.equal(limiter.retryAfter('192.0.2.7'), null);
  limiter.failed('192.0.2.7', 'wrong');
  assert.equal(limiter.retryAfter('192.0.2.7'), null);
  limiter.close();
});

test('memory stays bounded whatever the number of sources; one summary per interval', () => {
  const { logger, lines } = recorder();
  const limiter = new AuthLimiter(options, logger, 'test API', () => 0);
  for (let i = 0; i < 20_000; i++)
    limiter.failed(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, 'wrong');
  const tracked = limiter
    .metrics('fleetban_test', 'test API')
    .find((m) => m.name === 'fleetban_test_auth_tracked_sources');
  assert.equal(tracked?.samples[0]?.value, 100);
  assert.equal(lines.length, 1);
  limiter.close();
  assert.equal(lines.length, 2);
  assert.match(
    lines[1]?.msg ?? '',
    /^test API: 20000 failed token attempts from more than 100 sources,/,
  );
});
