// Filter health: nothing times a fail2ban filter, so a stopped or paused process never switches a jail off; load-time notices are reachable.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseJailFile } from '../../src/config/jail-options.js';
import type { JailConfig } from '../../src/jails/jail-config.js';
import { ManualClock } from '../../src/core/clock.js';
import { CidrSet } from '../../src/core/ip.js';
import type { SyslogEvent } from '../../src/core/types.js';
import { loadFail2banFilter } from '../../src/fail2ban/filter.js';
import { Fail2banJailFilter } from '../../src/fail2ban/runtime.js';
import { JailEngine, type JailStats } from '../../src/jails/engine.js';

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

/** A fail2ban jail and a built-in sshd jail. */
function engineWith(): JailEngine {
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
  const f2b: JailConfig = { ...demo, createFilter: () => new Fail2banJailFilter(spec) };
  return new JailEngine({
    jails: [f2b, sshd],
    ignore: new CidrSet(),
    maxTrackedAttackers: 100,
    clock: new ManualClock(T0),
    onBan: () => undefined,
  });
}

function stat(engine: JailEngine, name: string): JailStats {
  return engine.stats().find((s) => s.name === name) ?? assert.fail(name);
}

/**
 * Runs ordinary lines through the engine while a child process stops this one (SIGSTOP) for
 * 100 ms and resumes it; returns once one engine call spanned the stop. A timed filter would
 * take that call for a catastrophic line.
 */
function processAcrossStop(engine: JailEngine): number {
  for (let attempt = 0; attempt < 5; attempt++) {
    const stopper = spawn(
      'sh',
      ['-c', 'sleep 0.05; kill -STOP "$1"; sleep 0.1; kill -CONT "$1"', 'sh', String(process.pid)],
      { stdio: 'ignore' },
    );
    const deadline = performance.now() + 5_000;
    let i = 0;
    while (performance.now() < deadline) {
      const started = performance.now();
      engine.process(ev('demo', `auth failure from 198.51.100.${(i++ % 200) + 1}`));
      const took = performance.now() - started;
      if (took >= 90) return took;
      if (stopper.exitCode !== null) break; // the stop fell between two calls: try again
    }
    stopper.kill();
  }
  return assert.fail('no engine call spanned the 100 ms stop');
}

test('a fail2ban filter matches like a built-in one', () => {
  const engine = engineWith();
  engine.process(ev('demo', 'auth failure from 198.51.100.7'));
  engine.process(ev('sshd', 'Failed password for root from 198.51.100.9 port 22 ssh2'));
  assert.deepEqual([stat(engine, 'demo').matched, stat(engine, 'sshd').matched], [1, 1]);
});

test('a 100 ms stop of the process in the middle of a line does not switch the jail off', () => {
  const engine = engineWith();
  const took = processAcrossStop(engine);
  assert.ok(took >= 90);
  const before = stat(engine, 'demo').matched;
  engine.process(ev('demo', 'auth failure from 203.0.113.77'));
  assert.equal(
    stat(engine, 'demo').matched,
    before + 1,
    'the jail must still match after the stop',
  );
  assert.equal(stat(engine, 'demo').linesSeen, before + 1);
});

test("load-time notices of the jails' filters, all or for named jails", () => {
  const engine = engineWith();
  const all = engine.filterNotices();
  assert.equal(all.length, 1);
  const [first] = all;
  assert.ok(first !== undefined);
  assert.equal(first.jail, 'demo');
  assert.match(first.notice, /journalmatch .*ignored/);
  assert.deepEqual(engine.filterNotices(['sshd']), []);
});
