// The whole running server under bad input and bad configs: everything is counted and skipped, nothing stops it serving.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AdminClient } from '../../src/control/admin-client.js';
import type {
  IngestReport,
  ListedBan,
  SenderReport,
  StatusReport,
} from '../../src/control/plane.js';
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

const MAXRETRY = 3;

/** An RFC 5424 sshd failure line as a host named `host` would send it. */
function failureLine(ip: string, host = 'web-x', user = 'root'): string {
  return `<38>1 ${new Date().toISOString()} ${host} sshd 4242 - - Failed password for ${user} from ${ip} port 22 ssh2`;
}

function octetCounted(text: string | Buffer): Buffer {
  const body = typeof text === 'string' ? Buffer.from(text) : text;
  return Buffer.concat([Buffer.from(`${body.length} `), body]);
}

/** Opens one TCP connection, writes the chunks, half-closes, and resolves once the server has closed too. */
function sendTcp(port: number, chunks: readonly Buffer[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      for (const c of chunks) socket.write(c);
      socket.end();
    });
    socket.resume();
    socket.once('error', reject);
    socket.once('close', () => {
      resolve();
    });
  });
}

/** Sends datagrams from a socket of the given family and closes it once they are all sent. */
async function sendUdp(
  type: 'udp4' | 'udp6',
  host: string,
  port: number,
  datagrams: readonly Buffer[],
): Promise<void> {
  const socket = dgram.createSocket(type);
  try {
    for (const d of datagrams) {
      await new Promise<void>((resolve, reject) => {
        socket.send(d, port, host, (e) => {
          if (e) reject(e);
          else resolve();
        });
      });
    }
  } finally {
    socket.close();
  }
}

describe('the running server against bad input', () => {
  let dir: ServerDir;
  let server: ServerProcess;
  let admin: AdminClient;
  let tcpPort: number;
  let udpPort: number;
  /** Failures the sshd jail must have counted so far: every step adds its own and waits for them. */
  let expected = 0;
  const cleanups: (() => Promise<unknown>)[] = [];

  const status = (): Promise<StatusReport> =>
    cliJson<StatusReport>(['status', '--json', '--config', dir.configFile]);
  const ingest = async (): Promise<IngestReport> => (await admin.status()).ingest;
  const countedSoFar = (what: string) =>
    waitFor(async () => (await admin.jail('sshd')).failures === expected, {
      what: `${expected} failures counted (${what})`,
    });

  before(async () => {
    dir = await ServerDir.create({
      config: {
        // Dual-stack UDP so that ::1 can knock while only 127.0.0.1 may feed the jails.
        ingest: { udp: { address: '::' }, allowedSenders: ['127.0.0.1'] },
      },
      jails: { sshd: sshdJail({ maxretry: MAXRETRY, findtime: '10m', bantime: '1h' }) },
    });
    cleanups.push(() => dir.remove());
    server = await startServer(dir);
    cleanups.push(() => server.kill());
    admin = new AdminClient({ kind: 'unix', socket: dir.socket });
    const { tcp, udp } = server.ready;
    assert.ok(tcp !== undefined && udp !== undefined);
    tcpPort = tcp.port;
    udpPort = udp.port;
  });

  after(async () => {
    for (const undo of cleanups.reverse()) await undo().catch(() => undefined);
  });

  it('skips random bytes over TCP and UDP', async () => {
    const before = await ingest();
    await Promise.all([1, 2, 3].map(() => sendTcp(tcpPort, [randomBytes(64 * 1024)])));
    const datagrams = Array.from({ length: 200 }, (_, i) => randomBytes(16 + ((i * 97) % 1400)));
    await sendUdp('udp4', '127.0.0.1', udpPort, [
      ...datagrams,
      Buffer.from(failureLine('198.51.100.21')),
    ]);
    expected += 1;
    await countedSoFar('a failure sent over UDP after 200 random datagrams');
    await waitFor(async () => (await ingest()).connectionsOpen === 0, {
      what: 'the garbage connections to close',
    });
    const now = await ingest();
    assert.ok(
      now.invalidUtf8 - before.invalidUtf8 >= 150,
      `invalid UTF-8 counted (${now.invalidUtf8})`,
    );
    assert.ok(
      now.messages - before.messages >= 200,
      'the random datagrams were delivered as text and skipped by the jails',
    );
  });

  it('skips 1 MB frames (LF, octet-counted and UDP) and keeps the connection', async () => {
    const before = await ingest();
    const mega = Buffer.alloc(1024 * 1024, 'A');
    await sendTcp(tcpPort, [
      Buffer.concat([mega, Buffer.from('\n')]),
      octetCounted(failureLine('198.51.100.22')),
      octetCounted(mega),
      octetCounted(failureLine('198.51.100.22')),
    ]);
    await sendUdp('udp4', '127.0.0.1', udpPort, [Buffer.alloc(60_000, 'B')]);
    expected += 2;
    await countedSoFar('the failures behind the 1 MB frames on the same connection');
    await waitFor(async () => (await ingest()).oversized - before.oversized === 3, {
      what: 'three oversized frames counted',
    });
  });

  it('resynchronises after an octet count that lies', async () => {
    const before = await ingest();
    await sendTcp(tcpPort, [
      Buffer.from(`99999999 ${failureLine('198.51.100.99')}\n`),
      octetCounted(failureLine('198.51.100.23')),
    ]);
    expected += 1;
    await countedSoFar('the failure after the lying frame');
    assert.equal((await ingest()).framingErrors - before.framingErrors, 1);
  });

  it('counts invalid UTF-8 and still reads the attacker from the line', async () => {
    const before = await ingest();
    const line = Buffer.concat([
      Buffer.from('<38>1 - web-x sshd 1 - - Failed password for '),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from(' from 198.51.100.24 port 22 ssh2'),
    ]);
    await sendUdp('udp4', '127.0.0.1', udpPort, [line]);
    expected += 1;
    await countedSoFar('the failure with invalid UTF-8 in the user name');
    assert.equal((await ingest()).invalidUtf8 - before.invalidUtf8, 1);
  });

  it('survives a thousand connections opened and dropped', async () => {
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(
        Array.from(
          { length: 100 },
          (_, i) =>
            new Promise<void>((resolve) => {
              const socket = net.connect({ host: '127.0.0.1', port: tcpPort }, () => {
                // Half of them leave a frame unfinished; half of them reset instead of closing.
                if (i % 2 === 0)
                  socket.write('<38>1 2026-01-01T00:00:00Z web-x sshd - - - Failed pass');
                if (i % 4 < 2) socket.resetAndDestroy();
                else socket.destroy();
              });
              socket.once('error', () => undefined);
              socket.once('close', () => {
                resolve();
              });
            }),
        ),
      );
    }
    await waitFor(async () => (await ingest()).connectionsOpen === 0, {
      what: 'all dropped connections to be closed',
    });
    await sendTcp(tcpPort, [octetCounted(failureLine('198.51.100.27'))]);
    expected += 1;
    await countedSoFar('a failure after the thousand connections');
  });

  it('drops and counts datagrams from a sender outside ingest.allowedSenders', async () => {
    const before = await status();
    const forged = Array.from({ length: 5 }, () => Buffer.from(failureLine('198.51.100.26')));
    await sendUdp('udp6', '::1', udpPort, forged);
    await waitFor(
      async () => (await admin.senders()).find((s) => s.address === '::1')?.dropped === 5,
      { what: 'five dropped datagrams counted for ::1' },
    );
    const senders = await cliJson<SenderReport[]>([
      'senders',
      '--json',
      '--config',
      dir.configFile,
    ]);
    const outsider = senders.find((s) => s.address === '::1');
    assert.ok(outsider !== undefined);
    assert.equal(outsider.dropped, 5);
    assert.equal(outsider.messages, 0, 'nothing from ::1 was delivered');
    const after = await status();
    assert.equal(after.ingest.dropped - before.ingest.dropped, 5);
    assert.equal((await admin.jail('sshd')).failures, expected, 'forged lines were not counted');
  });

  it('still bans from lines sent after all of that', async () => {
    await sendTcp(
      tcpPort,
      Array.from({ length: MAXRETRY }, () => octetCounted(failureLine('198.51.100.30'))),
    );
    await server.waitForLog(exactMsg('NOTICE [sshd] Ban 198.51.100.30'));
    const bans = await cliJson<ListedBan[]>(['bans', '--json', '--config', dir.configFile]);
    assert.deepEqual(
      bans.map((b) => b.target),
      ['198.51.100.30'],
      'only the real attacker is banned',
    );
    assert.ok(server.running);
  });
});

describe('the running server against a broken config on reload', () => {
  let dir: ServerDir;
  let server: ServerProcess;
  let tcpPort: number;
  const cleanups: (() => Promise<unknown>)[] = [];
  const good = {
    jails: { sshd: sshdJail({ maxretry: MAXRETRY, findtime: '10m', bantime: '1h' }) },
  };

  const reloadCli = (...extra: string[]) => runCli(['reload', '--socket', dir.socket, ...extra]);
  const bans = () => cliJson<ListedBan[]>(['bans', '--json', '--socket', dir.socket]);
  const jailFailures = async () =>
    (
      await cliJson<{ jail: { failures: number } }>([
        'status',
        'sshd',
        '--json',
        '--socket',
        dir.socket,
      ])
    ).jail.failures;
  const send = (ip: string, n: number) =>
    sendTcp(
      tcpPort,
      Array.from({ length: n }, () => octetCounted(failureLine(ip, 'web-y'))),
    );

  /** SIGHUP must be refused with an error naming the file and the key; so must `fleetban reload`. */
  async function expectRefused(file: string, key: string): Promise<void> {
    const already = server.logsMatching((l) => l.msg.startsWith('reload refused')).length;
    server.signal('SIGHUP');
    const refusals = () => server.logsMatching((l) => l.msg.startsWith('reload refused'));
    await waitFor(() => refusals().length === already + 1, { what: `SIGHUP refused for ${key}` });
    const logged = refusals().at(-1);
    assert.ok(logged !== undefined);
    assert.equal(logged.level, 'error');
    assert.ok(
      logged.msg.includes(file) && logged.msg.includes(key),
      `the log names ${file} and ${key}: ${logged.msg}`,
    );

    const result = await reloadCli();
    assert.equal(result.code, 1, `fleetban reload exits 1 (${result.stderr})`);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /reload refused, the running configuration is unchanged/);
    assert.ok(
      result.stderr.includes(file) && result.stderr.includes(key),
      `stderr names ${file} and ${key}: ${result.stderr}`,
    );
  }

  before(async () => {
    dir = await ServerDir.create(good);
    cleanups.push(() => dir.remove());
    server = await startServer(dir);
    cleanups.push(() => server.kill());
    assert.ok(server.ready.tcp !== undefined);
    tcpPort = server.ready.tcp.port;
  });

  after(async () => {
    for (const undo of cleanups.reverse()) await undo().catch(() => undefined);
  });

  it('refuses invalid JSON, a bad key and a bad jail option, and keeps counting with the old config', async () => {
    await send('198.51.100.41', MAXRETRY);
    await server.waitForLog(exactMsg('NOTICE [sshd] Ban 198.51.100.41'));
    await send('198.51.100.40', 1);
    await waitFor(async () => (await jailFailures()) === MAXRETRY + 1, {
      what: 'the failure of 198.51.100.40 counted',
    });

    await dir.writeRaw('fleetban.json', '{ "store": ');
    await expectRefused(dir.configFile, 'not valid JSON');

    await dir.writeConfig({ ingest: { maxMessageSize: 'big' } });
    await expectRefused(dir.configFile, 'ingest.maxMessageSize');

    await dir.writeConfig({});
    await dir.writeJails('sshd.json', {
      sshd: sshdJail({ maxretry: 'five', findtime: '10m', bantime: '1h' }),
    });
    await expectRefused(`${dir.jailsDir}/sshd.json`, 'maxretry');

    // A pattern the linear engine cannot run (lookahead) that repeats a repeat: refused by name.
    await dir.writeJails('sshd.json', {
      sshd: sshdJail({
        maxretry: MAXRETRY,
        findtime: '10m',
        bantime: '1h',
        failregex: [String.raw`^(?=l)login failed for (\w+\s?)+ from <HOST>$`],
      }),
    });
    await expectRefused(`${dir.jailsDir}/sshd.json`, 'a lookahead');
    await dir.writeJails('sshd.json', good.jails);

    const running = await cliJson<StatusReport>(['status', '--json', '--socket', dir.socket]);
    assert.deepEqual(
      running.jails.map((j) => [j.name, j.maxretry]),
      [['sshd', MAXRETRY]],
    );
    assert.equal(await jailFailures(), MAXRETRY + 1, 'counters survived the refused reloads');
    assert.deepEqual(
      (await bans()).map((b) => b.target),
      ['198.51.100.41'],
      'the ban survived',
    );

    // One failure before the reloads, two after: the attacker's window survived too.
    await send('198.51.100.40', MAXRETRY - 1);
    await server.waitForLog(exactMsg('NOTICE [sshd] Ban 198.51.100.40'));
    assert.ok(server.running);
  });

  it('applies a later good reload that adds a jail, from the CLI and from SIGHUP', async () => {
    await dir.writeJails('sshd.json', good.jails);
    await dir.writeJails('extra.json', {
      'sshd-aggressive': sshdJail({
        maxretry: 2,
        findtime: '10m',
        bantime: '1h',
        mode: 'aggressive',
      }),
    });
    const result = await reloadCli('--json');
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { added: string[]; jails: string[] };
    assert.deepEqual(report.added, ['sshd-aggressive']);
    assert.deepEqual([...report.jails].sort(), ['sshd', 'sshd-aggressive']);
    assert.deepEqual((await bans()).map((b) => b.target).sort(), [
      '198.51.100.40',
      '198.51.100.41',
    ]);

    const reloads = () => server.logsMatching((l) => l.msg === 'configuration reloaded').length;
    const already = reloads();
    server.signal('SIGHUP');
    await waitFor(() => reloads() === already + 1, { what: 'SIGHUP reload logged' });

    // The new jail is live: pam_unix lines only its aggressive mode reads.
    const pam =
      'pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.42  user=root';
    const line = `<38>1 ${new Date().toISOString()} web-y sshd 77 - - ${pam}`;
    await sendTcp(tcpPort, [octetCounted(line), octetCounted(line)]);
    await server.waitForLog(exactMsg('NOTICE [sshd-aggressive] Ban 198.51.100.42'));
  });
});
