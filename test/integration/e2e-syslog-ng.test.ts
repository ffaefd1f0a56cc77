// Acceptance: real syslog-ng hosts (Debian's binary, unpacked from its .deb) feed one fleetban server over TCP with syslog() and network(), over UDP, and with the shipped snippet over TCP and TLS; each attacker is banned.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
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
import { makeCertificates, type TestCertificates } from '../helpers/certs.js';
import {
  launchSyslogNg,
  startSyslogNg,
  SyslogNgDriver,
  type SyslogNgClient,
} from '../helpers/syslog-ng.js';
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

const SNIPPET = fileURLToPath(
  new URL('../../../packaging/syslog-ng/fleetban.conf', import.meta.url),
);

/**
 * The shipped snippet as an admin installs it: the server's name and ports replaced, the log
 * path sending to `destination`, certificate paths pointing at real files; the disk buffer is
 * kept in the instance's folder instead of /var/lib/syslog-ng.
 */
function installedSnippet(
  destination: 'd_fleetban_tcp' | 'd_fleetban_tls',
  ports: { tcp: number; tls: number },
  tls: { caDir: string; files: TestCertificates },
  bufferDir: string,
): string {
  const text = readFileSync(SNIPPET, 'utf8');
  for (const shipped of [
    '"fleetban.example.org"',
    'port(514)',
    'port(6514)',
    'destination(d_fleetban_tcp);',
  ])
    assert.ok(text.includes(shipped), `the shipped snippet holds ${shipped}`);
  return text
    .replaceAll('"fleetban.example.org"', '"localhost"')
    .replaceAll('port(514)', `port(${ports.tcp})`)
    .replaceAll('port(6514)', `port(${ports.tls})`)
    .replaceAll('/etc/syslog-ng/tls/ca.d', tls.caDir)
    .replaceAll('/etc/syslog-ng/tls/client.crt', tls.files.clientCert)
    .replaceAll('/etc/syslog-ng/tls/client.key', tls.files.clientKey)
    .replaceAll('disk-buffer(', `disk-buffer(dir("${bufferDir}") `)
    .replace('destination(d_fleetban_tcp);', `destination(${destination});`);
}

describe('the shipped packaging/syslog-ng/fleetban.conf with real syslog-ng', () => {
  let dir: ServerDir;
  let server: ServerProcess;
  let files: TestCertificates;
  let caDir = '';
  const ports = { tcp: 0, tls: 0 };
  const cleanups: (() => Promise<unknown>)[] = [];

  before(async () => {
    dir = await ServerDir.create({
      jails: { sshd: sshdJail({ maxretry: MAXRETRY, findtime: '10m', bantime: '1h' }) },
    });
    cleanups.push(() => dir.remove());
    files = await makeCertificates(dir.dir);
    // ca-dir() looks certificates up by their subject hash, as OpenSSL's c_rehash names them.
    caDir = join(dir.dir, 'ca.d');
    mkdirSync(caDir);
    copyFileSync(files.ca, join(caDir, 'fleetban-ca.pem'));
    execFileSync('openssl', ['rehash', caDir]);
    await dir.writeConfig({
      ingest: {
        tls: {
          enabled: true,
          address: '127.0.0.1',
          port: 0,
          cert: files.cert,
          key: files.key,
          ca: files.ca,
          requireClientCert: true,
        },
      },
    });
    server = await startServer(dir);
    cleanups.push(() => server.kill());
    ports.tcp = server.ready.tcp?.port ?? 0;
    ports.tls = server.ready.tls?.port ?? 0;
    assert.ok(ports.tcp > 0 && ports.tls > 0, 'the ready file names the TCP and TLS ports');
  });

  after(async () => {
    for (const undo of cleanups.reverse()) await undo().catch(() => undefined);
  });

  for (const [destination, hostname, attacker, transport] of [
    ['d_fleetban_tcp', 'web-pkg-tcp', '198.51.100.64', 'tcp'],
    ['d_fleetban_tls', 'web-pkg-tls', '198.51.100.65', 'tls'],
  ] as const) {
    it(`${destination}: the attacker is banned, with the host as evidence`, async () => {
      const client = await launchSyslogNg(hostname, ({ version, socket, dir: work }) =>
        [
          `@version: ${version}`,
          // Debian's syslog-ng.conf defines s_src for local logs; here it is the test's socket.
          `source s_src { unix-dgram("${socket}" host-override("${hostname}")); };`,
          installedSnippet(destination, ports, { caDir, files }, work),
          '',
        ].join('\n'),
      );
      cleanups.push(() => client.stop());
      client.log(failed(attacker, MAXRETRY), { tag: 'sshd', pid: 900 });
      await server.waitForLog(exactMsg(`NOTICE [sshd] Ban ${attacker}`)).catch((e: unknown) => {
        throw new Error(
          `${e instanceof Error ? e.message : String(e)}; syslog-ng said: ${client.output}`,
        );
      });
      const ban = (await cliJson<ListedBan[]>(['bans', '--json', '--config', dir.configFile])).find(
        (b) => b.target === attacker,
      );
      assert.deepEqual(ban?.hosts, { [hostname]: MAXRETRY });
      const senders = await cliJson<{ address: string; transports: string[] }[]>([
        'senders',
        '--json',
        '--config',
        dir.configFile,
      ]);
      assert.ok(
        senders.find((x) => x.address === '127.0.0.1')?.transports.includes(transport),
        `the lines came over ${transport}`,
      );
    });
  }
});
