// The shipped rsyslog snippets: each validates with rsyslogd -N1; the UDP, TCP and TLS ones feed a real server, and the TCP queue loses nothing across its restart.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AdminClient } from '../../src/control/admin-client.js';
import { makeCertificates } from '../helpers/certs.js';
import { RsyslogClient, requireRsyslog } from '../helpers/rsyslog.js';
import {
  ServerDir,
  cliJson,
  sshdJail,
  startServer,
  type ServerProcess,
} from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';

const SNIPPETS = fileURLToPath(new URL('../../../packaging/rsyslog/', import.meta.url));
const SHIPPED_TARGET = 'fleetban.example.org';

/** A snippet with the shipped target host and port replaced, as an admin installs it. */
function snippetFor(file: string, target: { address: string; port: number }): string {
  const text = readFileSync(join(SNIPPETS, file), 'utf8');
  assert.ok(text.includes(`target="${SHIPPED_TARGET}"`), `${file} names the target to replace`);
  return text
    .replaceAll(`target="${SHIPPED_TARGET}"`, `target="${target.address}"`)
    .replace(/\bport="\d+"/g, `port="${target.port}"`);
}

/** The minimal rsyslog.conf around a snippet: private work directory and input socket. */
function wrapper(dir: string, socket: string, hostname: string, snippetFile: string): string {
  return [
    `global(workDirectory="${dir}" localHostname="${hostname}")`,
    'module(load="imuxsock" SysSock.Use="off")',
    `input(type="imuxsock" Socket="${socket}" CreatePath="on" RateLimit.Interval="0")`,
    `include(file="${snippetFile}")`,
    '',
  ].join('\n');
}

/**
 * Starts a foreground rsyslogd whose only action is the shipped snippet `file`, with the target
 * replaced and `edit` applied (e.g. certificate paths); resolves once its input socket exists.
 */
async function startWithSnippet(
  file: string,
  target: { address: string; port: number },
  hostname: string,
  edit: (text: string) => string = (text) => text,
): Promise<RsyslogClient> {
  const bins = requireRsyslog();
  const work = await mkdtemp(join(tmpdir(), 'fleetban-rsyslog-pkg-'));
  const socket = join(work, 'log.sock');
  const snippet = join(work, file);
  await writeFile(snippet, edit(snippetFor(file, target)));
  const conf = join(work, 'rsyslog.conf');
  await writeFile(conf, wrapper(work, socket, hostname, snippet));
  const child = spawn(bins.rsyslogd, ['-n', '-f', conf, '-i', join(work, 'rsyslogd.pid')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const started = new RsyslogClient(child, work, socket, bins.logger, hostname);
  await waitFor(
    () => {
      if (!started.running) throw new Error(`rsyslogd exited: ${started.output}`);
      return existsSync(socket) && statSync(socket).isSocket();
    },
    { what: `rsyslogd to create ${socket}`, timeoutMs: 10_000 },
  );
  return started;
}

function failed(ip: string, n: number, from = 0): string[] {
  return Array.from(
    { length: n },
    (_, i) => `Failed password for root from ${ip} port ${40000 + from + i} ssh2`,
  );
}

describe('rsyslog snippets in packaging/rsyslog', () => {
  const bins = requireRsyslog();
  let temp = '';

  before(async () => {
    temp = await mkdtemp(join(tmpdir(), 'fleetban-snippets-'));
  });
  after(async () => {
    if (temp !== '') await rm(temp, { recursive: true, force: true });
  });

  const files = readdirSync(SNIPPETS).filter((f) => f.endsWith('.conf'));

  it('ships the UDP, TCP, TLS and RELP snippets', () => {
    assert.deepEqual(files.sort(), [
      '60-fleetban-relp.conf',
      '60-fleetban-tcp.conf',
      '60-fleetban-tls.conf',
      '60-fleetban-udp.conf',
    ]);
  });

  for (const file of files) {
    it(`${file} passes rsyslogd -N1`, async () => {
      const dir = await mkdtemp(join(temp, 'n1-'));
      const snippet = join(dir, file);
      await writeFile(snippet, snippetFor(file, { address: '127.0.0.1', port: 6514 }));
      const conf = join(dir, 'rsyslog.conf');
      await writeFile(conf, wrapper(dir, join(dir, 'log.sock'), 'n1', snippet));
      const r = spawnSync(bins.rsyslogd, ['-N1', '-f', conf], { encoding: 'utf8' });
      assert.equal(r.status, 0, `rsyslogd -N1:\n${r.stdout}${r.stderr}`);
      assert.doesNotMatch(`${r.stdout}${r.stderr}`, /error|warning/i);
    });
  }

  it('rsyslogd -N1 refuses a broken snippet, so the checks above mean something', async () => {
    const dir = await mkdtemp(join(temp, 'n1-bad-'));
    const snippet = join(dir, 'bad.conf');
    const text = snippetFor('60-fleetban-tcp.conf', { address: '127.0.0.1', port: 514 });
    await writeFile(snippet, text.replace('queue.filename', 'queue.filenam'));
    const conf = join(dir, 'rsyslog.conf');
    await writeFile(conf, wrapper(dir, join(dir, 'log.sock'), 'n1', snippet));
    const r = spawnSync(bins.rsyslogd, ['-N1', '-f', conf], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
  });
});

describe('the TCP snippet forwarding to a real fleetban server', () => {
  const HOST = 'web-pkg';
  let dir: ServerDir | undefined;
  let server: ServerProcess | undefined;
  let rsyslog: RsyslogClient | undefined;
  const serverDir = (): ServerDir => {
    assert.ok(dir !== undefined, 'the server folder was created');
    return dir;
  };
  const client = (): RsyslogClient => {
    assert.ok(rsyslog !== undefined, 'rsyslogd was started');
    return rsyslog;
  };
  let admin: AdminClient;
  let tcpPort: number;

  // Lines matched: once "sshd-ban" has banned an attacker (or is writing its ban), every jail
  // still matches its lines but windows them no more.
  const matched = async (): Promise<number> => (await admin.jail('sshd')).matched;

  before(async () => {
    // "sshd" counts every line (maxretry too high to ban); "sshd-ban" bans at 3, naming the hosts.
    dir = await ServerDir.create({
      jails: {
        sshd: sshdJail({ maxretry: 1000, findtime: '1h', bantime: '1h' }),
        'sshd-ban': sshdJail({ maxretry: 3, findtime: '1h', bantime: '1h' }),
      },
    });
    const d = serverDir();
    server = await startServer(d);
    admin = new AdminClient({ kind: 'unix', socket: d.socket });
    const tcp = server.ready.tcp;
    assert.ok(tcp !== undefined, 'the server listens on TCP');
    tcpPort = tcp.port;

    rsyslog = await startWithSnippet(
      '60-fleetban-tcp.conf',
      { address: '127.0.0.1', port: tcpPort },
      HOST,
    );
  });

  after(async () => {
    await Promise.allSettled([rsyslog?.stop(), server?.kill()]);
    await dir?.remove();
  });

  it('delivers lines parsed with the right host and program', async () => {
    client().log(failed('198.51.100.20', 3), { tag: 'sshd' });
    client().log(['Accepted publickey for deploy from 192.0.2.5 port 2222 ssh2'], { tag: 'cron' });
    await waitFor(async () => (await matched()) === 3, { what: '3 sshd failures matched' });
    const senders = await cliJson<{ address: string; messages: number; transports: string[] }[]>([
      'senders',
      '--json',
      '--config',
      serverDir().configFile,
    ]);
    const local = senders.find((s) => s.address === '127.0.0.1');
    assert.ok(local !== undefined, 'rsyslog is listed as a sender');
    assert.deepEqual(local.transports, ['tcp']);
    const jail = await admin.jail('sshd');
    // The cron line reached the server but not the sshd jail: routed by program.
    assert.equal(jail.matched, 3);
    await waitFor(async () => (await admin.status()).ingest.messages >= 4, {
      what: 'the cron line received too',
    });
    const bans = await waitFor(
      async () => {
        const listed = await admin.bans('sshd-ban');
        return listed.length > 0 ? listed : null;
      },
      { what: 'the ban of 198.51.100.20 in jail sshd-ban' },
    );
    const [first] = bans;
    assert.ok(first !== undefined);
    assert.equal(first.target, '198.51.100.20');
    assert.deepEqual(first.hosts, { [HOST]: 3 }, 'the HOSTNAME rsyslog sent');
  });

  it('loses nothing while fleetban restarts on the same port (disk-assisted queue)', async () => {
    assert.ok(server !== undefined);
    const exit = await server.stop();
    assert.equal(exit.code, 0);
    const lines = failed('203.0.113.30', 25, 100);
    client().log(lines.slice(0, 10), { tag: 'sshd' });
    client().log(lines.slice(10), { tag: 'sshd' });

    await serverDir().writeConfig({ ingest: { tcp: { address: '127.0.0.1', port: tcpPort } } });
    server = await startServer(serverDir());
    assert.equal(server.ready.tcp?.port, tcpPort, 'the server is back on the same port');
    admin = new AdminClient({ kind: 'unix', socket: serverDir().socket });
    await waitFor(async () => (await matched()) === lines.length, {
      what: `all ${lines.length} lines logged while fleetban was down`,
      timeoutMs: 30_000,
    });
    const status = await admin.jail('sshd');
    assert.equal(status.matched, lines.length, 'no line twice');
  });
});

describe('the UDP and TLS snippets forwarding to a real fleetban server', () => {
  let dir: ServerDir | undefined;
  let server: ServerProcess | undefined;
  const clients: RsyslogClient[] = [];
  let admin: AdminClient;

  before(async () => {
    dir = await ServerDir.create({
      jails: { 'sshd-ban': sshdJail({ maxretry: 3, findtime: '1h', bantime: '1h' }) },
    });
    // The TLS snippet checks the server's name (x509/name) against its permitted peer.
    const pki = await makeCertificates(dir.dir, SHIPPED_TARGET, 'web-tls.example.org');
    await dir.writeConfig({
      ingest: {
        tls: {
          enabled: true,
          address: '127.0.0.1',
          port: 0,
          cert: pki.cert,
          key: pki.key,
          ca: pki.ca,
          requireClientCert: true,
        },
      },
    });
    server = await startServer(dir);
    admin = new AdminClient({ kind: 'unix', socket: dir.socket });
    const { udp, tls } = server.ready;
    assert.ok(udp !== undefined && tls !== undefined, 'the server listens on UDP and TLS');
    clients.push(
      await startWithSnippet('60-fleetban-udp.conf', udp, 'web-udp'),
      await startWithSnippet('60-fleetban-tls.conf', tls, 'web-tls', (text) =>
        text
          .replace('/etc/rsyslog.d/tls/ca.crt', pki.ca)
          .replace('/etc/rsyslog.d/tls/client.crt', pki.clientCert)
          .replace('/etc/rsyslog.d/tls/client.key', pki.clientKey),
      ),
    );
  });

  after(async () => {
    await Promise.allSettled([...clients.map((c) => c.stop()), server?.kill()]);
    await dir?.remove();
  });

  for (const [index, transport, host, attacker] of [
    [0, 'udp', 'web-udp', '198.51.100.61'],
    [1, 'tls', 'web-tls', '198.51.100.62'],
  ] as const) {
    it(`the ${transport.toUpperCase()} snippet delivers lines with host ${host}, and they ban`, async () => {
      const client = clients[index];
      assert.ok(client !== undefined, 'rsyslogd was started');
      client.log(failed(attacker, 3), { tag: 'sshd' });
      const ban = await waitFor(
        async () => (await admin.bans('sshd-ban')).find((b) => b.target === attacker),
        { what: `the ban of ${attacker} sent over ${transport}`, timeoutMs: 15_000 },
      );
      assert.deepEqual(ban.hosts, { [host]: 3 }, 'the HOSTNAME rsyslog sent');
      const senders = await cliJson<{ address: string; transports: string[] }[]>([
        'senders',
        '--json',
        '--config',
        dir?.configFile ?? '',
      ]);
      assert.ok(
        senders.some((s) => s.address === '127.0.0.1' && s.transports.includes(transport)),
        JSON.stringify(senders),
      );
    });
  }
});
