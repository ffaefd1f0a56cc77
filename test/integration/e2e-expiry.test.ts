// Acceptance: short bans end on time by themselves, and a ban that ends while fleetban is down is lifted at the next start.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ListedBan } from '../../src/control/plane.js';
import { Forwarding, startRsyslog, type RsyslogClient } from '../helpers/rsyslog.js';
import {
  cliJson,
  exactMsg,
  ServerDir,
  sshdJail,
  startServer,
  type ServerProcess,
} from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';

const BANTIME_SEC = 4;
/** How late an expiry may be on a loaded 2-core machine and still count as on time. */
const LATE_MS = 2000;

function failed(ip: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `Invalid user guest${i} from ${ip} port ${50000 + i}`);
}

describe('ban expiry with a real rsyslog client', () => {
  let dir: ServerDir;
  let server: ServerProcess;
  let web: RsyslogClient;
  /** Undone in reverse in `after`, also when a test or `before` failed half-way. */
  const cleanups: (() => Promise<unknown>)[] = [];

  const bans = (): Promise<ListedBan[]> =>
    cliJson<ListedBan[]>(['bans', '--json', '--config', dir.configFile]);
  const banOf = async (target: string): Promise<ListedBan> => {
    await server.waitForLog(exactMsg(`NOTICE [sshd] Ban ${target}`));
    const ban = (await bans()).find((b) => b.target === target);
    assert.ok(ban !== undefined, `${target} is listed`);
    assert.equal(ban.end, ban.start + BANTIME_SEC * 1000);
    return ban;
  };

  before(async () => {
    dir = await ServerDir.create({
      jails: { sshd: sshdJail({ maxretry: 5, findtime: '10m', bantime: BANTIME_SEC }) },
    });
    cleanups.push(() => dir.remove());
    server = await startServer(dir);
    cleanups.push(() => server.kill());
    const { tcp } = server.ready;
    assert.ok(tcp !== undefined);
    web = await startRsyslog({
      hostname: 'web-c',
      forwarding: Forwarding.TCP_RFC5424,
      target: tcp,
    });
    cleanups.push(() => web.stop());
  });

  after(async () => {
    for (const undo of cleanups.reverse()) await undo().catch(() => undefined);
  });

  it('lifts a ban by itself when its time is up, not before', async () => {
    web.log(failed('203.0.113.5', 5));
    const ban = await banOf('203.0.113.5');
    const unban = await server.waitForLog(exactMsg('NOTICE [sshd] Unban 203.0.113.5'), {
      timeoutMs: BANTIME_SEC * 1000 + 10_000,
    });
    assert.equal(unban.reason, 'expired');
    assert.ok(typeof unban.time === 'string');
    const liftedAt = Date.parse(unban.time);
    assert.ok(ban.end !== null);
    assert.ok(
      liftedAt >= ban.end,
      `lifted at ${unban.time}, not before the end ${new Date(ban.end).toISOString()}`,
    );
    assert.ok(liftedAt - ban.end < LATE_MS, `lifted ${liftedAt - ban.end} ms after the end`);
    assert.equal(
      (await bans()).some((b) => b.target === '203.0.113.5'),
      false,
    );
  });

  it('lifts at the next start a ban whose end passed while the server was down', async () => {
    web.log(failed('203.0.113.6', 5));
    const ban = await banOf('203.0.113.6');
    assert.deepEqual(await server.stop(), { code: 0, signal: null });
    assert.equal(
      server.logsMatching(exactMsg('NOTICE [sshd] Unban 203.0.113.6')).length,
      0,
      'still banned at shutdown',
    );
    const end = ban.end;
    assert.ok(end !== null);
    // Waiting on the clock itself: the point of the test is that the end passes during the downtime.
    await waitFor(() => Date.now() > end, {
      what: 'the ban end to pass while the server is down',
      timeoutMs: 10_000,
    });

    server = await startServer(dir);
    const opened = await server.waitForLog('ban store opened');
    assert.equal(opened.activeBans, 1, 'the ban was still stored when the server came back');
    const unban = await server.waitForLog(exactMsg('NOTICE [sshd] Unban 203.0.113.6'));
    assert.equal(unban.reason, 'expired');
    assert.deepEqual(await bans(), []);
  });
});
