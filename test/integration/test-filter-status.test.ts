// `fleetban status` over the admin API: a jail whose filter blew its regex time budget is flagged with a warning.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { ManualClock } from '../../src/core/clock.js';
import { AdminServer } from '../../src/control/admin-server.js';
import { FakePlane, recordingLogger } from './admin-fake-plane.js';

describe('status shows filter health', () => {
  let dir: string;
  let socket: string;
  let server: AdminServer;
  let plane: FakePlane;
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 12));

  const status = async (...rest: string[]): Promise<{ code: number; out: string }> => {
    let out = '';
    const code = await main(['status', '--socket', socket, ...rest], {
      stdout: (t) => (out += t),
      stderr: (t) => (out += t),
      env: {},
      clock,
    });
    return { code, out };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetban-status-health-'));
    socket = join(dir, 'admin.sock');
    plane = new FakePlane(clock);
    const sshd = plane.jails[0];
    assert.ok(sshd !== undefined);
    plane.jails.push({
      ...sshd,
      name: 'f2b-sshd',
      filter: 'fail2ban:sshd',
      filterDisabled: true,
      slowLines: 3,
    });
    plane.jails[0] = { ...sshd, filterDisabled: false, slowLines: 0 };
    server = new AdminServer({ plane, logger: recordingLogger().logger, socket });
    await server.start();
  });

  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('the overview warns about the disabled filter only', async () => {
    const r = await status();
    assert.equal(r.code, ExitCode.OK, r.out);
    const warnings = r.out.split('\n').filter((l) => l.startsWith('warning:'));
    assert.deepEqual(warnings.length, 1, r.out);
    assert.match(
      warnings[0] ?? '',
      /^warning: jail f2b-sshd: filter fail2ban:sshd is disabled: .*time budget \(3 slow lines\)/,
    );
  });

  it('the jail view warns too, and --json carries the fields', async () => {
    const r = await status('f2b-sshd');
    assert.match(r.out, /warning: jail f2b-sshd: filter fail2ban:sshd is disabled/);
    const healthy = await status('sshd');
    assert.doesNotMatch(healthy.out, /warning/);
    const json = await status('f2b-sshd', '--json');
    const doc = JSON.parse(json.out) as { jail: Record<string, unknown> };
    assert.deepEqual([doc.jail['filterDisabled'], doc.jail['slowLines']], [true, 3]);
  });
});
