// The running server against one allowed sender that forges failures: the ban brake holds what is past the budget, host bindings refuse borrowed names.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AdminClient } from '../../src/control/admin-client.js';
import { listHeld } from '../../src/control/brake.js';
import type { BrakeReport } from '../../src/control/plane.js';
import type { ListedBan, SenderReport } from '../../src/control/plane.js';
import type { HeldBan } from '../../src/core/types.js';
import {
  cliJson,
  runCli,
  ServerDir,
  sshdJail,
  startServer,
  type ServerProcess,
} from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';
import { SMTP_PASS, SMTP_USER, SmtpFixture } from './mail-smtp-fixture.js';

/** Three loopback addresses: on Linux all of 127.0.0.0/8 is local, so each is a distinct sender. */
const FORGER = '127.0.0.2';
const HONEST = '127.0.0.3';
const OTHER = '127.0.0.4';

const PER_SENDER = 5;
const FLEET = 8;
const FORGED = 40;

function failureLine(ip: string, host: string): string {
  return `<38>1 ${new Date().toISOString()} ${host} sshd 4242 - - Failed password for root from ${ip} port 22 ssh2`;
}

/** Sends octet-counted lines over one TCP connection from `localAddress`, and waits for the close. */
function sendTcp(port: number, localAddress: string, lines: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress }, () => {
      socket.end(lines.map((l) => `${Buffer.byteLength(l)} ${l}`).join(''));
    });
    socket.resume();
    socket.once('error', reject);
    socket.once('close', () => {
      resolve();
    });
  });
}

interface Status {
  readonly brake?: BrakeReport;
  readonly jails: readonly { readonly name: string; readonly banRequests: number }[];
}

describe('the ban brake against a forging sender (real server, TCP)', () => {
  let smtp: SmtpFixture;
  let dir: ServerDir;
  let server: ServerProcess;
  let port: number;
  let admin: AdminClient;
  const cli = <T>(...args: string[]): Promise<T> =>
    cliJson<T>([...args, '--json', '--socket', dir.socket]);
  // Polling goes through the admin API directly; the CLI is run where its output is the point.
  const bans = (): Promise<ListedBan[]> => admin.bans();
  const held = (): Promise<HeldBan[]> => listHeld(admin);
  const status = (): Promise<Status> => admin.status();
  const requests = async (): Promise<number> =>
    (await status()).jails.find((j) => j.name === 'sshd')?.banRequests ?? -1;

  before(async () => {
    smtp = await SmtpFixture.start();
    dir = await ServerDir.create({
      config: {
        ingest: { allowedSenders: ['127.0.0.0/8'] },
        brake: { perSenderPerMinute: PER_SENDER, fleetPerMinute: FLEET },
        mail: {
          enabled: true,
          to: ['admin@example.net'],
          smtp: {
            host: '127.0.0.1',
            port: smtp.port,
            requireTLS: true,
            user: SMTP_USER,
            pass: SMTP_PASS,
            tls: { ca: smtp.certFile },
          },
          retryMin: '0.2s',
          retryMax: '1s',
          timeZone: 'UTC',
        },
      },
      jails: { sshd: sshdJail({ maxretry: 1, findtime: '10m', bantime: '1h', notify: 'off' }) },
    });
    server = await startServer(dir);
    port = server.ready.tcp?.port ?? 0;
    admin = new AdminClient({ kind: 'unix', socket: dir.socket });
  });

  after(async () => {
    await server.kill();
    await dir.remove();
    await smtp.close();
  });

  it('bans only the forging sender’s budget and holds the rest, loudly', async () => {
    const forged = Array.from({ length: FORGED }, (_, i) => `198.51.100.${i + 1}`);
    await sendTcp(
      port,
      FORGER,
      forged.map((ip) => failureLine(ip, 'web-a')),
    );
    await waitFor(async () => (await requests()) === FORGED, { what: `${FORGED} ban requests` });
    await waitFor(async () => (await held()).length === FORGED - PER_SENDER, {
      what: `${FORGED - PER_SENDER} held bans`,
    });
    const banned = await bans();
    assert.equal(banned.length, PER_SENDER, 'only the per-sender budget is banned');
    const waiting = await held();
    assert.ok(waiting.every((h) => h.reason === 'sender' && h.request.senders[FORGER] === 1));
    assert.deepEqual(
      new Set([...banned.map((b) => b.target), ...waiting.map((h) => h.target)]),
      new Set(forged),
    );

    await server.waitForLog(`ban brake tripped: sender ${FORGER}`);
    const brake = (await status()).brake;
    assert.equal(brake?.held, FORGED - PER_SENDER);
    assert.deepEqual(
      brake.tripped.map((t) => [t.scope, t.sender, t.held]),
      [['sender', FORGER, FORGED - PER_SENDER]],
    );
    const text = await runCli(['status', '--socket', dir.socket]);
    assert.match(text.stdout, new RegExp(`TRIPPED: sender ${FORGER.replace(/\./g, '\\.')}`));
    const metrics = await admin.metrics();
    assert.match(metrics, new RegExp(`^fleetban_brake_held ${FORGED - PER_SENDER}$`, 'm'));
    assert.match(metrics, /^fleetban_brake_tripped\{scope="sender",sender="127\.0\.0\.2"\} 1$/m);
    await smtp.waitForCount(1);
    assert.equal(
      smtp.received[0]?.subject,
      `[fleetban] ban brake tripped: sender ${FORGER} over ${PER_SENDER} bans/min`,
    );
  });

  it('an honest sender’s attacker is still banned, until the fleet budget runs out', async () => {
    await sendTcp(port, HONEST, [failureLine('203.0.113.1', 'web-b')]);
    await waitFor(async () => (await bans()).some((b) => b.target === '203.0.113.1'), {
      what: 'the honest report banned',
    });
    // The fleet has spent PER_SENDER + 1 of FLEET; the next reports find it empty.
    const more = ['203.0.113.2', '203.0.113.3', '203.0.113.4', '203.0.113.5'];
    await sendTcp(
      port,
      HONEST,
      more.map((ip) => failureLine(ip, 'web-b')),
    );
    await waitFor(async () => (await requests()) === FORGED + 1 + more.length, {
      what: 'the honest ban requests',
    });
    await waitFor(async () => (await held()).some((h) => h.reason === 'fleet'), {
      what: 'a ban held by the fleet budget',
    });
    const fleetHeld = (await held()).filter((h) => h.reason === 'fleet');
    const honestBanned = (await bans()).filter((b) => b.target.startsWith('203.0.113.'));
    // Token refill over the test's seconds may let one more through: never more.
    assert.ok(
      honestBanned.length >= 1 + FLEET - PER_SENDER - 1 &&
        honestBanned.length <= 1 + FLEET - PER_SENDER + 1,
      `honest bans: ${honestBanned.length}`,
    );
    assert.equal(honestBanned.length + fleetHeld.length, 1 + more.length);
    await server.waitForLog('ban brake tripped: the fleet');
  });

  it('held bans survive a restart; release bans them, discard drops them', async () => {
    const before = (await held()).map((h) => h.target).sort();
    await server.stop();
    server = await startServer(dir);
    port = server.ready.tcp?.port ?? 0;
    assert.deepEqual((await cli<HeldBan[]>('held')).map((h) => h.target).sort(), before);
    await server.waitForLog(`ban brake: ${before.length} held bans wait for review`);

    const target = before.find((t) => t.startsWith('198.51.100.'));
    assert.ok(target !== undefined);
    const released = await cli<HeldBan[]>('release', target);
    assert.deepEqual(
      released.map((h) => h.target),
      [target],
    );
    const ban = (await bans()).find((b) => b.target === target);
    assert.equal(ban?.jail, 'sshd', 'the released ban is in force');
    assert.deepEqual(ban.hosts, { 'web-a': 1 });
    assert.equal((await held()).length, before.length - 1);

    const notHeld = await runCli(['release', '192.0.2.99', '--socket', dir.socket]);
    assert.notEqual(notHeld.code, 0);
    assert.match(notHeld.stderr, /not held: 192\.0\.2\.99/);

    const discarded = await cli<HeldBan[]>('discard', '--all');
    assert.equal(discarded.length, before.length - 1);
    assert.deepEqual(await held(), []);
    assert.equal((await bans()).filter((b) => b.target === target).length, 1);
  });

  it('manual bans are never braked', async () => {
    for (let i = 1; i <= FLEET + 2; i++) await admin.ban({ target: `198.18.7.${i}` });
    assert.equal((await bans()).filter((b) => b.target.startsWith('198.18.7.')).length, FLEET + 2);
    assert.deepEqual(await held(), []);
  });
});

describe('ingest.senders: a bound host name counts only from its own address', () => {
  let dir: ServerDir;
  let server: ServerProcess;
  let port: number;

  before(async () => {
    dir = await ServerDir.create({
      config: { ingest: { allowedSenders: ['127.0.0.0/8'], senders: { 'web-a': [FORGER] } } },
      jails: {
        sshd: sshdJail({ maxretry: 1, findtime: '10m', bantime: '1h', hosts: ['web-a'] }),
      },
    });
    server = await startServer(dir);
    port = server.ready.tcp?.port ?? 0;
  });

  after(async () => {
    await server.kill();
    await dir.remove();
  });

  it('ignores web-a from another peer, counts web-a from the bound one', async () => {
    await sendTcp(port, OTHER, [failureLine('198.51.100.77', 'web-a')]);
    await sendTcp(port, OTHER, [failureLine('198.51.100.78', 'WEB-A')]);
    const admin = new AdminClient({ kind: 'unix', socket: dir.socket });
    const senders = (): Promise<SenderReport[]> => admin.senders();
    await waitFor(
      async () => (await senders()).find((s) => s.address === OTHER)?.spoofedHostname === 2,
      {
        what: 'two spoofed-hostname drops from the other peer',
      },
    );
    await sendTcp(port, FORGER, [failureLine('198.51.100.79', 'web-a')]);
    await waitFor(async () => (await admin.bans()).length === 1, {
      what: 'the ban reported by the bound peer',
    });
    const listed = await cliJson<ListedBan[]>(['bans', '--json', '--socket', dir.socket]);
    assert.deepEqual(
      listed.map((b) => [b.target, b.hosts]),
      [['198.51.100.79', { 'web-a': 1 }]],
    );
    assert.equal((await senders()).find((s) => s.address === FORGER)?.spoofedHostname, 0);
    await server.waitForLog(`a line from ${OTHER} claimed HOSTNAME web-a`);
    await server.waitForLog(`a line from ${OTHER} claimed HOSTNAME WEB-A`);
  });
});
