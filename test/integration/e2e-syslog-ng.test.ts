// Acceptance: real syslog-ng hosts (Debian's binary, unpacked from its .deb) feed one fleetban server over TCP with syslog() and network() and over UDP; each attacker is banned.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AdminClient } from '../../src/control/admin-client.js';
import type { ListedBan } from '../../src/control/plane.js';
import {
  cliJson,
  exactMsg,
  ServerDir,
  sshdJail,
  startServer,
  type ServerProcess,
} from '../helpers/server-process.js';
import { startSyslogNg, SyslogNgDriver, type SyslogNgClient } from '../helpers/syslog-ng.js';
import { waitFor } from '../helpers/wait.js';

const MAXRETRY = 3;

function failed(ip: string, n: number): string[] {
  return Array.from(
    { length: n },
    (_, i) => `Failed password for root from ${ip} port ${41000 + i} ssh2`,
  );
}

describe('fleetban server fed by real syslog-ng instances', () => {
  let dir: ServerDir;
  let server: ServerProcess;
  let admin: AdminClient;
  const clients = new Map<SyslogNgDriver, SyslogNgClient>();
  const cleanups: (() => Promise<unknown>)[] = [];

  const bans = (): Promise<ListedBan[]> =>
    cliJson<ListedBan[]>(['bans', '--json', '--config', dir.configFile]);
  const client = (driver: SyslogNgDriver): SyslogNgClient =>
    clients.get(driver) ?? assert.fail(`no syslog-ng for ${driver}`);
  /** The ban of `target`, once the jail's NOTICE line is logged; names what the instance said if it never comes. */
  const bannedBy = async (
    jail: string,
    target: string,
    via: SyslogNgClient,
  ): Promise<ListedBan> => {
    await server.waitForLog(exactMsg(`NOTICE [${jail}] Ban ${target}`)).catch((e: unknown) => {
      throw new Error(
        `${e instanceof Error ? e.message : String(e)}; syslog-ng (${via.hostname}) said: ${via.output}`,
      );
    });
    const ban = (await bans()).find((b) => b.target === target);
    return ban ?? assert.fail(`${target} is not in fleetban bans`);
  };

  before(async () => {
    dir = await ServerDir.create({
      jails: {
        sshd: sshdJail({ maxretry: MAXRETRY, findtime: '10m', bantime: '1h' }),
        opensmtpd: {
          enabled: true,
          filter: 'opensmtpd',
          maxretry: MAXRETRY,
          findtime: '10m',
          bantime: '1h',
        },
      },
    });
    cleanups.push(() => dir.remove());
    server = await startServer(dir);
    cleanups.push(() => server.kill());
    admin = new AdminClient({ kind: 'unix', socket: dir.socket });
    const { tcp, udp } = server.ready;
    assert.ok(tcp !== undefined && udp !== undefined, 'the ready file names TCP and UDP');
    const setups: [SyslogNgDriver, string, { address: string; port: number }][] = [
      [SyslogNgDriver.SYSLOG_TCP, 'mx-a', tcp],
      [SyslogNgDriver.NETWORK_TCP, 'web-b', tcp],
      [SyslogNgDriver.NETWORK_UDP, 'web-c', udp],
    ];
    for (const [driver, hostname, target] of setups) {
      const c = await startSyslogNg({ hostname, driver, target });
      cleanups.push(() => c.stop());
      clients.set(driver, c);
    }
  });

  after(async () => {
    for (const undo of cleanups.reverse()) await undo().catch(() => undefined);
  });

  it('syslog() over TCP (RFC 5424, octet-counted): an OpenSMTPD session is paired and its client banned, not the address in its user names', async () => {
    const mx = client(SyslogNgDriver.SYSLOG_TCP);
    const victim = '5f6a7b8c9d0e1f2a';
    const attacker = '6a7b8c9d0e1f2a3b';
    mx.log(
      [
        `${victim} smtp connected address=192.0.2.80 host=partner.example.net`,
        `${attacker} smtp connected address=203.0.113.61 host=<unknown>`,
        ...Array.from(
          { length: MAXRETRY },
          () =>
            `${attacker} smtp authentication user=${victim} smtp connected address=192.0.2.80 result=permfail`,
        ),
      ],
      { tag: 'smtpd', pid: 4021, priority: 'mail.info' },
    );
    const ban = await bannedBy('opensmtpd', '203.0.113.61', mx);
    assert.equal(ban.jail, 'opensmtpd');
    assert.equal(ban.failures, MAXRETRY);
    assert.deepEqual(ban.hosts, { 'mx-a': MAXRETRY });
    assert.equal(
      (await bans()).some((b) => b.target === '192.0.2.80'),
      false,
      'the address in the user names is not banned',
    );
    const jail = await admin.jail('opensmtpd');
    assert.equal(jail.matched, MAXRETRY, 'the connected lines are no failures');
  });

  it('network() over TCP (BSD format, one line a message): the sshd attacker is banned', async () => {
    const web = client(SyslogNgDriver.NETWORK_TCP);
    web.log(failed('198.51.100.62', MAXRETRY), { tag: 'sshd', pid: 812 });
    const ban = await bannedBy('sshd', '198.51.100.62', web);
    assert.equal(ban.failures, MAXRETRY);
    assert.deepEqual(ban.hosts, { 'web-b': MAXRETRY });
  });

  it('network() over UDP: the sshd attacker is banned, and both transports are seen', async () => {
    const web = client(SyslogNgDriver.NETWORK_UDP);
    web.log(failed('198.51.100.63', MAXRETRY), { tag: 'sshd', pid: 813 });
    const ban = await bannedBy('sshd', '198.51.100.63', web);
    assert.equal(ban.failures, MAXRETRY);
    assert.deepEqual(ban.hosts, { 'web-c': MAXRETRY });
    const senders = await waitFor(
      async () => {
        const all = await cliJson<{ address: string; transports: string[] }[]>([
          'senders',
          '--json',
          '--config',
          dir.configFile,
        ]);
        return all.find((s) => s.address === '127.0.0.1');
      },
      { what: 'the local sender in fleetban senders' },
    );
    assert.deepEqual([...senders.transports].sort(), ['tcp', 'udp']);
    assert.equal(server.logsMatching((l) => l.msg.startsWith('NOTICE [sshd] Ban')).length, 2);
  });
});
