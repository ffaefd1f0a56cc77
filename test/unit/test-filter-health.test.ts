// Filter health: a fail2ban filter that blew its time budget shows in JailStats and /metrics; load-time notices are reachable.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseJailFile, type JailConfig } from '../../src/config/jail-options.js';
import { ManualClock } from '../../src/core/clock.js';
import { CidrSet } from '../../src/core/ip.js';
import type { SyslogEvent } from '../../src/core/types.js';
import { renderMetrics } from '../../src/control/metrics.js';
import { loadFail2banFilter } from '../../src/fail2ban/filter.js';
import { Fail2banJailFilter } from '../../src/fail2ban/runtime.js';
import { IngestStats } from '../../src/ingest/stats.js';
import { JailEngine, type JailStats } from '../../src/jails/engine.js';
import { collectMetrics } from '../../src/server/metrics.js';

const T0 = Date.UTC(2026, 0, 1, 12);

const DEMO_FILTER = `[Definition]
failregex = ^\\s*\\S+ demo\\[\\d+\\]:\\s+auth failure from <HOST>\\s*$
journalmatch = _SYSTEMD_UNIT=demo.service
`;

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetban-filter-health-'));
  await mkdir(join(dir, 'filter.d'));
  await writeFile(join(dir, 'filter.d', 'demo.conf'), DEMO_FILTER);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function ev(program: string, message: string): SyslogEvent {
  return {
    format: 'rfc3164',
    facility: 4,
    severity: 6,
    time: T0,
    receivedAt: T0,
    hostname: 'web1',
    peer: '10.0.0.1',
    program,
    pid: '7',
    message,
  };
}

/** A fail2ban jail whose budget is `budgetMs` (negative: any line is too slow), and a built-in sshd jail. */
function engineWith(budgetMs: number): JailEngine {
  const [demo] = parseJailFile(
    'demo.json',
    { demo: { filter: 'fail2ban:demo', programs: ['demo'], maxretry: 3 } },
    undefined,
    undefined,
    dir,
  );
  const [sshd] = parseJailFile('sshd.json', { sshd: { maxretry: 3 } });
  assert.ok(demo !== undefined && sshd !== undefined);
  const spec = loadFail2banFilter(dir, 'demo');
  const slow: JailConfig = { ...demo, createFilter: () => new Fail2banJailFilter(spec, budgetMs) };
  return new JailEngine({
    jails: [slow, sshd],
    ignore: new CidrSet(),
    maxTrackedAttackers: 100,
    clock: new ManualClock(T0),
    onBan: () => undefined,
  });
}

function stat(engine: JailEngine, name: string): JailStats {
  return engine.stats().find((s) => s.name === name) ?? assert.fail(name);
}

function metricsText(engine: JailEngine): Set<string> {
  const text = renderMetrics(
    collectMetrics({
      ingest: new IngestStats(),
      pipeline: { parsed: 0, parseErrors: 0, spoofedHostname: 0, errorsByReason: new Map() },
      jails: engine.stats(),
      engineTotals: engine.totals(),
      store: { activeBans: 0, lastSeq: 0, batchesWritten: 0, recordsWritten: 0 },
      bans: {
        requests: 0,
        alreadyBanned: 0,
        bansWritten: 0,
        unbansWritten: 0,
        expired: 0,
        writeErrors: 0,
      },
      senders: 0,
    }),
  );
  return new Set(text.split('\n'));
}

test('a filter within its budget matches and reports healthy', () => {
  const engine = engineWith(60_000);
  engine.process(ev('demo', 'auth failure from 198.51.100.7'));
  const s = stat(engine, 'demo');
  assert.deepEqual([s.matched, s.filterDisabled, s.slowLines], [1, false, 0]);
  const lines = metricsText(engine);
  assert.ok(lines.has('fleetban_jail_filter_disabled{jail="demo"} 0'));
  assert.ok(lines.has('fleetban_jail_slow_lines_total{jail="demo"} 0'));
});

test('a line over the budget disables the filter: stats and metrics say so, built-in jails stay 0/false', () => {
  const engine = engineWith(-1);
  engine.process(ev('demo', 'auth failure from 198.51.100.7'));
  engine.process(ev('demo', 'auth failure from 198.51.100.8'));
  engine.process(ev('sshd', 'Failed password for root from 198.51.100.9 port 22 ssh2'));
  const demo = stat(engine, 'demo');
  // the slow line itself was still matched; after it the filter matches nothing
  assert.deepEqual(
    [demo.linesSeen, demo.matched, demo.filterDisabled, demo.slowLines],
    [2, 1, true, 1],
  );
  const sshd = stat(engine, 'sshd');
  assert.deepEqual([sshd.matched, sshd.filterDisabled, sshd.slowLines], [1, false, 0]);
  const lines = metricsText(engine);
  for (const line of [
    '# TYPE fleetban_jail_filter_disabled gauge',
    'fleetban_jail_filter_disabled{jail="demo"} 1',
    'fleetban_jail_filter_disabled{jail="sshd"} 0',
    '# TYPE fleetban_jail_slow_lines_total counter',
    'fleetban_jail_slow_lines_total{jail="demo"} 1',
    'fleetban_jail_slow_lines_total{jail="sshd"} 0',
  ]) {
    assert.ok(lines.has(line), `missing: ${line}`);
  }
});

test('a reload gives the jail a fresh filter, enabled again', () => {
  const engine = engineWith(-1);
  engine.process(ev('demo', 'auth failure from 198.51.100.7'));
  assert.equal(stat(engine, 'demo').filterDisabled, true);
  engine.reload(engine.configs());
  assert.deepEqual(
    [stat(engine, 'demo').filterDisabled, stat(engine, 'demo').slowLines],
    [false, 0],
  );
});

test("load-time notices of the jails' filters, all or for named jails", () => {
  const engine = engineWith(60_000);
  const all = engine.filterNotices();
  assert.equal(all.length, 1);
  const [first] = all;
  assert.ok(first !== undefined);
  assert.equal(first.jail, 'demo');
  assert.match(first.notice, /journalmatch .*ignored/);
  assert.deepEqual(engine.filterNotices(['sshd']), []);
});
