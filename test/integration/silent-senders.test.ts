// A real `fleetban server` and SMTP server: a sender that stops is flagged once after ingest.silentAfter, and cleared when it speaks again.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import {
  cliJson,
  runCli,
  ServerDir,
  startServer,
  type JsonObject,
  type ServerProcess,
} from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';
import { SMTP_PASS, SMTP_USER, SmtpFixture } from './mail-smtp-fixture.js';

const SILENT_AFTER_MS = 2000;

interface Sender {
  readonly address: string;
  readonly lastSeen: number;
  readonly silentSince: number | null;
}
interface Status {
  readonly silentSenders?: {
    readonly enabled: boolean;
    readonly silentAfterSec: number;
    readonly senders: readonly { readonly address: string; readonly name: string }[];
  };
}

function infoLine(n: number): Buffer {
  return Buffer.from(
    `<30>1 ${new Date().toISOString()} web-3 cron 77 - - (root) CMD (run-parts /etc/cron.hourly) #${n}`,
  );
}

async function sendUdp(port: number, line: Buffer): Promise<void> {
  const socket = dgram.createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.send(line, port, '127.0.0.1', (e) => {
        if (e) reject(e);
        else resolve();
      });
    });
  } finally {
    socket.close();
  }
}

function metrics(socketPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/metrics' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve(Buffer.concat(chunks).toString('utf8'));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Signs a viewer in to the dashboard; returns a reader of its Overview API. */
async function dashboardReader(
  dir: ServerDir,
  server: ServerProcess,
): Promise<() => Promise<{ silentSenders: unknown }>> {
  const base = (server.ready.dashboard?.url ?? '').replace(/\/$/, '');
  const { token } = await cliJson<{ token: string }>([
    'users',
    'add',
    'viewer',
    '--role',
    'viewer',
    '--json',
    '--socket',
    dir.socket,
  ]);
  const login = await fetch(`${base}/login`, {
    method: 'POST',
    headers: { origin: base, 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  assert.equal(login.status, 200);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  return async () => {
    const res = await fetch(`${base}/api/overview`, { headers: { cookie } });
    assert.equal(res.status, 200);
    return (await res.json()) as { silentSenders: unknown };
  };
}

function config(smtp: SmtpFixture, silentAfter: string): JsonObject {
  return {
    ingest: { silentAfter, senders: { 'web-3': ['127.0.0.1'] } },
    mail: {
      enabled: true,
      from: 'fleetban@example.net',
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
      // Sender alerts share the ban mail's flood control: one within groupWait of the last mail waits.
      groupWait: '1s',
      timeZone: 'UTC',
    },
  };
}

describe('silent senders on a running server', () => {
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

  async function serve(silentAfter: string): Promise<{ dir: ServerDir; server: ServerProcess }> {
    const dir = await ServerDir.create({ config: config(smtp, silentAfter) });
    dirs.push(dir);
    const server = await startServer(dir);
    servers.push(server);
    return { dir, server };
  }

  it('a sender that stops is mailed once after silentAfter, and again once when it speaks', async () => {
    smtp.received.length = 0;
    const { dir, server } = await serve(`${SILENT_AFTER_MS / 1000}s`);
    const port = server.ready.udp?.port ?? 0;
    const senders = () => cliJson<Sender[]>(['senders', '--json', '--socket', dir.socket]);
    const overview = await dashboardReader(dir, server);
    assert.deepEqual((await overview()).silentSenders, []);

    await sendUdp(port, infoLine(1));
    const first = await waitFor(async () => (await senders())[0], {
      what: 'the sender in fleetban senders',
    });
    assert.equal(first.address, '127.0.0.1');
    assert.equal(first.silentSince, null);

    await smtp.waitForCount(1, 15_000);
    const flaggedAfter = Date.now() - first.lastSeen;
    assert.ok(flaggedAfter >= SILENT_AFTER_MS, `mailed ${flaggedAfter} ms after the last line`);
    const mail = smtp.received[0];
    assert.ok(mail !== undefined);
    assert.equal(mail.subject, '[fleetban] sender web-3 (127.0.0.1) silent for 2s');
    assert.deepEqual(mail.to, ['admin@example.net']);
    assert.match(mail.text, /web-3 \(127\.0\.0\.1\) +last line \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);

    const warn = await server.waitForLog((l) => /no longer reach fleetban/.test(l.msg));
    assert.ok(warn.level === '40' || warn.level === 'warn', JSON.stringify(warn));
    assert.match(
      warn.msg,
      /^sender web-3 \(127\.0\.0\.1\) silent for 2s: its logs no longer reach fleetban$/,
    );
    const flagged = (await senders())[0];
    assert.ok(flagged?.silentSince !== null && flagged?.silentSince !== undefined);
    const text = await runCli(['senders', '--socket', dir.socket]);
    assert.match(text.stdout, /^127\.0\.0\.1 .* flagged (now|\d+s ago)$/m);
    const status = await cliJson<Status>(['status', '--json', '--socket', dir.socket]);
    assert.deepEqual(
      status.silentSenders?.senders.map((s) => [s.address, s.name]),
      [['127.0.0.1', 'web-3']],
    );
    assert.match(
      (await runCli(['status', '--socket', dir.socket])).stdout,
      /^ {2}SILENT: web-3 \(127\.0\.0\.1\), last message /m,
    );
    assert.match(await metrics(dir.socket), /^fleetban_senders_silent 1$/m);
    assert.deepEqual((await overview()).silentSenders, [
      { address: '127.0.0.1', name: 'web-3', lastSeen: first.lastSeen, since: flagged.silentSince },
    ]);

    // Stay silent for another silentAfter (four more checks): still one mail, one warn line.
    await waitFor(() => Date.now() - first.lastSeen >= 2 * SILENT_AFTER_MS, {
      what: 'a second silentAfter of silence',
    });
    assert.equal(smtp.received.length, 1, 'one mail while the silence lasts');
    assert.equal(server.logsMatching((l) => /no longer reach fleetban/.test(l.msg)).length, 1);

    await sendUdp(port, infoLine(2));
    await smtp.waitForCount(2, 15_000);
    assert.equal(smtp.received[1]?.subject, '[fleetban] sender web-3 (127.0.0.1) sending again');
    const back = await server.waitForLog((l) => /speaks again/.test(l.msg));
    assert.match(back.msg, /^sender web-3 \(127\.0\.0\.1\) speaks again after \d+s of silence$/);
    assert.equal((await senders())[0]?.silentSince, null);
    assert.match(await metrics(dir.socket), /^fleetban_senders_silent 0$/m);
    assert.deepEqual((await overview()).silentSenders, []);
    await server.stop();
    assert.equal(smtp.received.length, 2, 'no more mail, at stop either');
  });

  it('silentAfter 0: not watched, and status says so', async () => {
    const { dir } = await serve('0');
    const status = await cliJson<Status>(['status', '--json', '--socket', dir.socket]);
    assert.deepEqual(status.silentSenders, { enabled: false, silentAfterSec: 0, senders: [] });
    assert.match(
      (await runCli(['status', '--socket', dir.socket])).stdout,
      /^silent senders: not watched \(ingest\.silentAfter is 0\)$/m,
    );
  });
});
