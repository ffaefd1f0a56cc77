// The running `fleetban server` with mail: a syslog ban mailed once, mail test, status, bad credentials, kill -9.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import {
  cliJson,
  runCli,
  ServerDir,
  sshdJail,
  startServer,
  type JsonObject,
  type ServerProcess,
} from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';
import { SMTP_PASS, SMTP_USER, SmtpFixture } from './mail-smtp-fixture.js';

interface Outbox {
  readonly enabled: boolean;
  readonly pending: number;
  readonly sent: number;
  readonly lastError: string | null;
  readonly nextRetryAt: number | null;
}
interface Status {
  readonly outbox?: Outbox;
  readonly jails: readonly { readonly name: string; readonly failures: number }[];
}

function failureLine(ip: string, host: string): Buffer {
  return Buffer.from(
    `<38>1 ${new Date().toISOString()} ${host} sshd 4242 - - Failed password for root from ${ip} port 22 ssh2`,
  );
}

async function sendUdp(port: number, lines: readonly Buffer[]): Promise<void> {
  const socket = dgram.createSocket('udp4');
  try {
    for (const d of lines)
      await new Promise<void>((resolve, reject) => {
        socket.send(d, port, '127.0.0.1', (e) => {
          if (e) reject(e);
          else resolve();
        });
      });
  } finally {
    socket.close();
  }
}

function mailConfig(smtp: SmtpFixture, pass = SMTP_PASS): JsonObject {
  return {
    mail: {
      enabled: true,
      from: 'fleetban@example.net',
      to: ['admin@example.net'],
      smtp: {
        host: '127.0.0.1',
        port: smtp.port,
        requireTLS: true,
        user: SMTP_USER,
        pass,
        tls: { ca: smtp.certFile },
      },
      groupWait: '1s',
      retryMin: '0.2s',
      retryMax: '1s',
      timeZone: 'UTC',
    },
  };
}

const JAILS = { sshd: sshdJail({ maxretry: 2, findtime: '10m', bantime: '1h' }) };

describe('fleetban server with mail', () => {
  let smtp: SmtpFixture;
  const dirs: ServerDir[] = [];
  const servers: ServerProcess[] = [];
  before(async () => {
    smtp = await SmtpFixture.start();
  });
  after(async () => {
    for (const s of servers) await s.kill();
    for (const d of dirs) await d.remove();
    await smtp.close();
  });

  async function serve(config: JsonObject): Promise<{ dir: ServerDir; server: ServerProcess }> {
    const dir = await ServerDir.create({ config, jails: JAILS });
    dirs.push(dir);
    const server = await startServer(dir);
    servers.push(server);
    return { dir, server };
  }

  it('a ban from syslog is mailed once; mail test answers; status shows the outbox', async () => {
    smtp.received.length = 0;
    const { dir, server } = await serve(mailConfig(smtp));
    const port = server.ready.udp?.port ?? 0;
    await sendUdp(port, [failureLine('203.0.113.50', 'web1'), failureLine('203.0.113.50', 'web2')]);
    await smtp.waitForCount(1);
    const mail = smtp.received[0];
    assert.ok(mail !== undefined);
    assert.equal(mail.subject, '[fleetban] sshd: banned 203.0.113.50');
    assert.match(mail.text, /web1 +1/);
    assert.match(mail.text, /web2 +1/);
    assert.match(mail.text, /fleetban unban 203\.0\.113\.50/);

    const test = await runCli(['mail', 'test', '--to', 'ops@example.net', '--socket', dir.socket]);
    assert.equal(test.code, 0, test.stderr);
    assert.match(test.stdout, /server: +250 Ok: queued as M2/);
    await smtp.waitForCount(2);
    assert.deepEqual(smtp.received[1]?.to, ['ops@example.net']);

    const status = await cliJson<Status>(['status', '--json', '--socket', dir.socket]);
    assert.ok(status.outbox !== undefined);
    assert.equal(status.outbox.enabled, true);
    assert.equal(status.outbox.pending, 0);
    assert.equal(status.outbox.sent, 1);
    const text = await runCli(['status', '--socket', dir.socket]);
    assert.match(text.stdout, /outbox: 0 pending, 1 sent/);
    await server.stop();
    assert.equal(smtp.received.length, 2, 'no more mail, at stop either');
    assert.ok(
      !server.logs.some((l) => JSON.stringify(l).includes(SMTP_PASS)),
      'no password in logs',
    );
  });

  it('bad credentials: clear error in the log and in status, and ingest goes on', async () => {
    smtp.received.length = 0;
    const { dir, server } = await serve(mailConfig(smtp, 'not the password'));
    const port = server.ready.udp?.port ?? 0;
    await sendUdp(port, [failureLine('203.0.113.60', 'web1'), failureLine('203.0.113.60', 'web1')]);
    const line = await server.waitForLog('authentication failed');
    assert.equal(line.level === '50' || line.level === 'error', true, JSON.stringify(line));
    const status = await cliJson<Status>(['status', '--json', '--socket', dir.socket]);
    assert.match(status.outbox?.lastError ?? '', /authentication failed/);
    assert.equal(status.outbox?.pending, 1);
    const text = await runCli(['status', '--socket', dir.socket]);
    assert.match(text.stdout, /last error: .*authentication failed/);
    const failures = status.jails.find((j) => j.name === 'sshd')?.failures ?? 0;
    await sendUdp(port, [failureLine('198.51.100.61', 'web1')]);
    await waitFor(
      async () =>
        (await cliJson<Status>(['status', '--json', '--socket', dir.socket])).jails.find(
          (j) => j.name === 'sshd',
        )?.failures ===
        failures + 1,
      { what: 'the next syslog line counted while mail fails' },
    );
    assert.ok(!server.logs.some((l) => JSON.stringify(l).includes('not the password')));
    await server.stop();
    assert.equal(smtp.received.length, 0);
  });

  it('killed with mail pending (SMTP down): after a restart the mail goes out once', async () => {
    smtp.received.length = 0;
    await smtp.stop();
    const { dir, server } = await serve(mailConfig(smtp));
    const port = server.ready.udp?.port ?? 0;
    await sendUdp(port, [failureLine('203.0.113.70', 'web3'), failureLine('203.0.113.70', 'web3')]);
    await server.waitForLog('mail not sent');
    await server.kill();
    await smtp.resume();
    const again = await startServer(dir);
    servers.push(again);
    await smtp.waitForCount(1);
    await waitFor(
      async () =>
        (await cliJson<Status>(['status', '--json', '--socket', dir.socket])).outbox?.pending === 0,
      { what: 'an empty outbox after the restart' },
    );
    await again.stop();
    assert.equal(smtp.received.length, 1);
    assert.equal(smtp.received[0]?.subject, '[fleetban] sshd: banned 203.0.113.70');
  });

  it('mail.maxPerHour holds across a restart: a held notice stays held', async () => {
    smtp.received.length = 0;
    const config = mailConfig(smtp);
    const mail = { ...(config['mail'] as JsonObject), maxPerHour: 2, groupWait: '0.3s' };
    const { dir, server } = await serve({ ...config, mail });
    const port = server.ready.udp?.port ?? 0;
    const outbox = async (s: string): Promise<Outbox | undefined> =>
      (await cliJson<Status>(['status', '--json', '--socket', s])).outbox;
    for (const [i, ip] of ['203.0.113.81', '203.0.113.82'].entries()) {
      await sendUdp(port, [failureLine(ip, 'web4'), failureLine(ip, 'web4')]);
      await smtp.waitForCount(i + 1);
    }
    await sendUdp(port, [failureLine('203.0.113.83', 'web4'), failureLine('203.0.113.83', 'web4')]);
    await waitFor(async () => (await outbox(dir.socket))?.pending === 1, {
      what: 'the third notice held by the hourly cap',
    });
    await server.stop();
    const again = await startServer(dir);
    servers.push(again);
    // The mailer's first pass runs at start; give it several group waits to (wrongly) send.
    await waitFor(async () => (await outbox(dir.socket))?.pending === 1, {
      what: 'the outbox read after the restart',
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal((await outbox(dir.socket))?.pending, 1, 'still held after the restart');
    await again.stop();
    assert.equal(smtp.received.length, 2, 'no third mail within the hour');
  });
});
