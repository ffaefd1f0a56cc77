// The whole server over TLS (RFC 5425) from its configuration: client certificates required, a
// client with one gets its lines counted and banned, a client without one is refused and counted.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect, type TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import type { ListedBan } from '../../src/control/plane.js';
import { makeCertificates } from '../helpers/certs.js';
import {
  cliJson,
  exactMsg,
  ServerDir,
  startServer,
  type ServerProcess,
} from '../helpers/server-process.js';
import { waitFor, withDeadline } from '../helpers/wait.js';

/** Opens a TLS connection; resolves once the handshake is done, rejects if the server refuses it. */
function open(
  port: number,
  options: { ca: string; cert?: string; key?: string },
): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      ca: options.ca,
      servername: 'localhost',
      ...(options.cert !== undefined ? { cert: options.cert, key: options.key } : {}),
    });
    socket.once('secureConnect', () => {
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** RFC 5425 frames: octet-counted RFC 5424 messages. */
function frame(message: string): string {
  return `${Buffer.byteLength(message)} ${message}`;
}

function metrics(socket: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path: '/metrics' }, (res) => {
      let body = '';
      res
        .setEncoding('utf8')
        .on('data', (c: string) => (body += c))
        .on('end', () => {
          resolve(body);
        });
    });
    req.once('error', reject);
    req.end();
  });
}

describe('the server over TLS with client certificates', () => {
  let dir: ServerDir;
  let server: ServerProcess;
  let files: Awaited<ReturnType<typeof makeCertificates>>;
  let port = 0;

  before(async () => {
    dir = await ServerDir.create();
    files = await makeCertificates(dir.dir);
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
    port = server.ready.tls?.port ?? 0;
    assert.ok(port > 0, 'the ready file names the TLS port');
  });

  after(async () => {
    await server.stop();
    await dir.remove();
  });

  it('counts the lines of a client with a certificate and bans across them', async () => {
    const [ca, cert, key] = await Promise.all([
      readFile(files.ca, 'utf8'),
      readFile(files.clientCert, 'utf8'),
      readFile(files.clientKey, 'utf8'),
    ]);
    const socket = await open(port, { ca, cert, key });
    for (let i = 0; i < 5; i++) {
      socket.write(
        frame(
          `<38>1 2026-11-25T20:00:0${i}Z web-a sshd 4242 - - Failed password for root from 198.51.100.44 port ${50000 + i} ssh2`,
        ),
      );
    }
    await server.waitForLog(exactMsg('NOTICE [sshd] Ban 198.51.100.44'));
    socket.end();
    const bans = await cliJson<ListedBan[]>(['bans', '--json', '--config', dir.configFile]);
    const ban = bans.find((b) => b.target === '198.51.100.44');
    assert.ok(ban !== undefined, JSON.stringify(bans));
    assert.deepEqual(ban.hosts, { 'web-a': 5 });
  });

  it('refuses a client without a certificate and counts the refusal', async () => {
    const ca = await readFile(files.ca, 'utf8');
    const before = await metrics(dir.socket);
    const count = (text: string) =>
      Number(
        /^fleetban_ingest_tls_handshake_errors_total\{transport="tls"\} (\d+)$/m.exec(text)?.[1] ??
          NaN,
      );
    assert.ok(Number.isFinite(count(before)), 'the handshake error counter is exported');
    const refused = await withDeadline(
      open(port, { ca }).then(
        (socket) =>
          // TLS 1.3 may finish the client side first; the refusal then arrives as an alert or a close.
          new Promise<boolean>((resolve) => {
            socket.once('error', () => {
              resolve(true);
            });
            socket.once('close', () => {
              resolve(true);
            });
            socket.write(
              frame(
                '<38>1 2026-11-25T20:00:00Z web-x sshd - - - Failed password for root from 198.51.100.45 port 1 ssh2',
              ),
            );
          }),
        () => true,
      ),
      5000,
      'the server to refuse a client without a certificate',
    );
    assert.equal(refused, true);
    await waitFor(async () => count(await metrics(dir.socket)) > count(before), {
      what: 'the refused handshake to be counted',
    });
    const status = await cliJson<{ ingest: { messages: number } }>([
      'status',
      '--json',
      '--config',
      dir.configFile,
    ]);
    assert.equal(
      status.ingest.messages,
      5,
      'only the five lines of the certified client were received',
    );
  });
});
