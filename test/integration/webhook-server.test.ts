// The running `fleetban server` with a webhook: a syslog ban POSTed once after the receiver comes back, nothing re-sent after a restart.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import dgram from 'node:dgram';
import { readdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { StatusReport } from '../../src/control/plane.js';
import {
  cliJson,
  runCli,
  ServerDir,
  sshdJail,
  startServer,
  type ServerProcess,
} from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

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

/** GET /metrics over the admin socket. */
function metrics(socket: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path: '/metrics', method: 'GET' }, (res) => {
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

function sample(text: string, name: string): number | null {
  const m = new RegExp(
    `^${name}\\{webhook="webhook 1 \\(127\\.0\\.0\\.1:\\d+\\)"\\} ([\\d.]+)$`,
    'm',
  ).exec(text);
  return m?.[1] === undefined ? null : Number(m[1]);
}

function targets(r: WebhookReceiver): string[] {
  return r.got.flatMap((g) =>
    (JSON.parse(g.body) as { events: { target: string }[] }).events.map((e) => e.target),
  );
}

const JAILS = { sshd: sshdJail({ maxretry: 2, findtime: '10m', bantime: '1h' }) };

describe('fleetban server with a webhook', () => {
  const receiver = new WebhookReceiver();
  let dir: ServerDir | null = null;
  let server: ServerProcess | null = null;
  after(async () => {
    await server?.kill();
    await dir?.remove();
    await receiver.close();
  });

  it('delivers a ban once after the receiver comes back, and nothing again after a restart', async () => {
    await receiver.listen();
    const port = receiver.port;
    await receiver.close();
    dir = await ServerDir.create({
      config: {
        notify: {
          webhooks: [{ url: `http://127.0.0.1:${port}/hook`, hmac: 'k3y' }],
          groupWait: '0s',
          retryMin: '0.1s',
          retryMax: '0.3s',
        },
      },
      jails: JAILS,
    });
    server = await startServer(dir);
    const udp = server.ready.udp?.port ?? 0;
    await sendUdp(udp, [failureLine('203.0.113.60', 'web1'), failureLine('203.0.113.60', 'web2')]);
    const socket = dir.socket;
    await waitFor(
      async () => {
        const m = await metrics(socket);
        return (sample(m, 'fleetban_webhook_failed_total') ?? 0) >= 2 &&
          sample(m, 'fleetban_webhook_pending') === 1
          ? m
          : null;
      },
      { what: 'failed attempts and one pending while the receiver is down' },
    );
    const down = await metrics(socket);
    assert.equal(sample(down, 'fleetban_webhook_position'), 0);
    assert.equal(sample(down, 'fleetban_webhook_last_delivery_timestamp_seconds'), 0);
    const erredAt = sample(down, 'fleetban_webhook_last_error_timestamp_seconds') ?? 0;
    assert.ok(Math.abs(erredAt - Date.now() / 1000) < 60, `last error at ${erredAt}`);
    const downText = (await runCli(['status', '--socket', socket])).stdout;
    assert.match(
      downText,
      /^webhook 1 \(127\.0\.0\.1:\d+\): at change 0 \(1 behind\), 0 sent, \d+ failed, 0 dropped; last delivery none since start\n {2}last error \(.+\): .*ECONNREFUSED.*\n/m,
    );

    await receiver.listen(port);
    await waitFor(() => receiver.got.length === 1, { what: 'the POST once the receiver is back' });
    assert.deepEqual(targets(receiver), ['203.0.113.60']);
    const body = JSON.parse(receiver.got[0]?.body ?? '') as {
      events: { jail: string; hosts: Record<string, number> }[];
    };
    const [event] = body.events;
    assert.ok(event !== undefined);
    assert.equal(event.jail, 'sshd');
    const signed = createHmac('sha256', 'k3y')
      .update(receiver.got[0]?.body ?? '')
      .digest('hex');
    assert.equal(receiver.got[0]?.headers['x-fleetban-signature'], `sha256=${signed}`);
    assert.deepEqual(event.hosts, { web1: 1, web2: 1 });
    const m = await waitFor(
      async () => {
        const text = await metrics(socket);
        return sample(text, 'fleetban_webhook_pending') === 0 ? text : null;
      },
      { what: 'nothing pending' },
    );
    assert.equal(sample(m, 'fleetban_webhook_sent_total'), 1);
    assert.equal(sample(m, 'fleetban_webhook_position'), 1);
    const deliveredAt = sample(m, 'fleetban_webhook_last_delivery_timestamp_seconds') ?? 0;
    assert.ok(Math.abs(deliveredAt - Date.now() / 1000) < 60, `delivered at ${deliveredAt}`);
    const status = await cliJson<StatusReport>(['status', '--json', '--socket', socket]);
    const [hook] = status.webhooks ?? [];
    assert.deepEqual([hook?.position, hook?.pending, hook?.sent], [1, 0, 1]);
    assert.match(hook?.lastError ?? '', /ECONNREFUSED/);
    assert.equal(hook?.nextRetryAt, null);
    assert.match(
      (await runCli(['status', '--socket', socket])).stdout,
      /^webhook 1 \(127\.0\.0\.1:\d+\): at change 1 \(0 behind\), 1 sent, \d+ failed, 0 dropped; last delivery \d{4}-\d\d-\d\d /m,
    );
    const positions = await readdir(join(dir.storePath, 'webhooks'));
    assert.equal(positions.length, 1, 'one position file inside the store folder');

    assert.equal((await server.stop()).code, 0);
    server = await startServer(dir);
    await sendUdp(server.ready.udp?.port ?? 0, [
      failureLine('203.0.113.61', 'web1'),
      failureLine('203.0.113.61', 'web1'),
    ]);
    await waitFor(() => receiver.got.length === 2, { what: 'the ban after the restart' });
    await waitFor(async () => sample(await metrics(socket), 'fleetban_webhook_pending') === 0, {
      what: 'nothing pending after the restart',
    });
    assert.deepEqual(targets(receiver), ['203.0.113.60', '203.0.113.61']);
  });
});
