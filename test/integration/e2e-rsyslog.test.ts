// Acceptance: two real rsyslog hosts feed one fleetban server; an attacker spread over both is banned fleet-wide, durably.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AdminClient } from '../../src/control/admin-client.js';
import type { ListedBan } from '../../src/control/plane.js';
import { Forwarding, startRsyslog, type RsyslogClient } from '../helpers/rsyslog.js';
import {
  cliJson,
  exactMsg,
  runCli,
  ServerDir,
  sshdJail,
  startServer,
  type ServerProcess,
} from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';

const ATTACKER = '198.51.100.7';
const BELOW_THRESHOLD = '198.51.100.8';
const V6_PREFIX = '2001:db8:1:2::/64';
const BANTIME_SEC = 3600;

function failed(ip: string, n: number, user = 'root'): string[] {
  return Array.from(
    { length: n },
    (_, i) => `Failed password for ${user} from ${ip} port ${40000 + i} ssh2`,
  );
}

describe('fleetban server fed by two real rsyslog instances', () => {
  let dir: ServerDir;
  let server: ServerProcess;
  let webA: RsyslogClient;
  let webB: RsyslogClient;
  let admin: AdminClient;
  /** Undone in reverse in `after`, also when a test or `before` failed half-way. */
  const cleanups: (() => Promise<unknown>)[] = [];
  const startedAt = Date.now();

  const bans = (): Promise<ListedBan[]> =>
    cliJson<ListedBan[]>(['bans', '--json', '--config', dir.configFile]);
  // Lines matched, not failures windowed: a failure of an attacker whose ban is on its way is
  // matched but not windowed again.
  const matched = async (): Promise<number> => (await admin.jail('sshd')).matched;
  /** Waits until the sshd jail has matched exactly `n` lines since start, so later checks see every line. */
  const counted = (n: number, what: string) =>
    waitFor(async () => (await matched()) === n, {
      what: `${n} failures matched (${what})`,
      timeoutMs: 10_000,
    });

  before(async () => {
    dir = await ServerDir.create({
      jails: { sshd: sshdJail({ maxretry: 5, findtime: '10m', bantime: BANTIME_SEC }) },
    });
    cleanups.push(() => dir.remove());
    server = await startServer(dir);
    cleanups.push(() => server.kill());
    admin = new AdminClient({ kind: 'unix', socket: dir.socket });
    const { tcp, udp } = server.ready;
    assert.ok(
      tcp !== undefined && udp !== undefined,
      'the ready file names the TCP and UDP listeners',
    );
    webA = await startRsyslog({
      hostname: 'web-a',
      forwarding: Forwarding.TCP_RFC5424,
      target: tcp,
    });
    cleanups.push(() => webA.stop());
    webB = await startRsyslog({
      hostname: 'web-b',
      forwarding: Forwarding.UDP_TRADITIONAL,
      target: udp,
    });
    cleanups.push(() => webB.stop());
  });

  after(async () => {
    for (const undo of cleanups.reverse()) await undo().catch(() => undefined);
  });

  it('bans an attacker with 3 failures on web-a and 3 on web-b exactly once, with both hosts as evidence', async () => {
    webA.log(failed(ATTACKER, 3));
    await counted(3, 'web-a over TCP, RFC 5424');
    webB.log(failed(ATTACKER, 3, 'admin'));
    await server.waitForLog(exactMsg(`NOTICE [sshd] Ban ${ATTACKER}`));
    await counted(6, 'web-b over UDP, traditional format');

    assert.equal(
      server.logsMatching(exactMsg(`NOTICE [sshd] Ban ${ATTACKER}`)).length,
      1,
      'one Ban line',
    );
    const listed = (await bans()).filter((b) => b.target === ATTACKER);
    assert.equal(listed.length, 1, 'one active ban');
    const ban = listed[0];
    assert.ok(ban !== undefined);
    assert.equal(ban.jail, 'sshd');
    assert.equal(ban.origin, 'jail');
    assert.equal(ban.attacker, ATTACKER);
    // The fifth failure crossed maxretry: all three of web-a's and the first two of web-b's.
    assert.equal(ban.failures, 5);
    assert.deepEqual(ban.hosts, { 'web-a': 3, 'web-b': 2 });
    assert.ok(
      ban.start >= startedAt && ban.start <= Date.now(),
      'the ban started during this test',
    );
    assert.equal(ban.end, ban.start + BANTIME_SEC * 1000, 'the end time is start + bantime');

    const senders = await cliJson<{ address: string; transports: string[] }[]>([
      'senders',
      '--json',
      '--config',
      dir.configFile,
    ]);
    const local = senders.find((s) => s.address === '127.0.0.1');
    assert.deepEqual(
      [...(local?.transports ?? [])].sort(),
      ['tcp', 'udp'],
      'both rsyslog transports were seen',
    );
  });

  it('does not ban an attacker with 4 failures over the fleet', async () => {
    webA.log(failed(BELOW_THRESHOLD, 2));
    webB.log(failed(BELOW_THRESHOLD, 2));
    await counted(10, 'the second attacker');
    assert.equal(
      (await bans()).some((b) => b.target === BELOW_THRESHOLD),
      false,
    );
    assert.equal(server.logsMatching(exactMsg(`NOTICE [sshd] Ban ${BELOW_THRESHOLD}`)).length, 0);
  });

  it('counts an IPv6 attacker per /64 and bans the prefix', async () => {
    webA.log(failed('2001:db8:1:2::a', 3));
    webB.log(failed('2001:db8:1:2:ffff::b', 2));
    await server.waitForLog(exactMsg(`NOTICE [sshd] Ban ${V6_PREFIX}`));
    await counted(15, 'the IPv6 attacker');
    const ban = (await bans()).find((b) => b.target === V6_PREFIX);
    assert.ok(ban !== undefined, `${V6_PREFIX} is banned`);
    assert.equal(ban.family, 6);
    assert.equal(ban.failures, 5);
    assert.deepEqual(ban.hosts, { 'web-a': 3, 'web-b': 2 });
    assert.equal(
      (await bans()).some((b) => b.target.startsWith('2001:db8:1:2::a')),
      false,
      'no /128 ban',
    );
  });

  it('keeps the bans over a SIGTERM restart', async () => {
    const before = await bans();
    assert.equal(before.length, 2);
    const exit = await server.stop();
    assert.deepEqual(exit, { code: 0, signal: null });
    server = await startServer(dir);
    admin = new AdminClient({ kind: 'unix', socket: dir.socket });
    assert.deepEqual(await bans(), before);
  });

  it('keeps the bans over kill -9 and a restart on the same store', async () => {
    const before = await bans();
    const exit = await server.kill();
    assert.equal(exit.signal, 'SIGKILL');
    server = await startServer(dir);
    admin = new AdminClient({ kind: 'unix', socket: dir.socket });
    assert.deepEqual(await bans(), before);
    assert.equal(
      server.logsMatching((l) => l.msg.startsWith('NOTICE [sshd] Unban')).length,
      0,
      'nothing lifted at start',
    );
  });

  it('lifts the ban with `fleetban unban`', async () => {
    const result = await runCli(['unban', ATTACKER, '--config', dir.configFile]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      new RegExp(`^unbanned ${ATTACKER.replaceAll('.', '\\.')} \\(jail sshd\\)$`, 'm'),
    );
    await server.waitForLog(exactMsg(`NOTICE [sshd] Unban ${ATTACKER}`));
    const after = await bans();
    assert.deepEqual(
      after.map((b) => b.target),
      [V6_PREFIX],
    );

    const again = await runCli(['unban', ATTACKER, '--config', dir.configFile]);
    assert.equal(again.code, 1, 'unbanning what is not banned fails');
    assert.match(again.stderr, /not banned/);
  });
});
