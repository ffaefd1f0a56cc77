// The syslog header is attacker text too: a forged HOSTNAME, APP-NAME, structured data or an embedded line never picks who is banned.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import type { ListedBan, StatusReport } from '../../src/control/plane.js';
import {
  cliJson,
  ServerDir,
  sshdJail,
  startServer,
  type ServerProcess,
} from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';

const VICTIMS = ['8.8.8.8', '8.8.4.4', '9.9.9.9', '1.1.1.1'];

function send(port: number, datagrams: readonly string[]): Promise<void> {
  const socket = dgram.createSocket('udp4');
  return (async () => {
    try {
      for (const d of datagrams)
        await new Promise<void>((resolve, reject) => {
          socket.send(Buffer.from(d), port, '127.0.0.1', (e) => {
            if (e) reject(e);
            else resolve();
          });
        });
    } finally {
      socket.close();
    }
  })();
}

describe('attacker-written syslog header fields', () => {
  let dir: ServerDir;
  let server: ServerProcess;
  let port = 0;
  const bans = () => cliJson<ListedBan[]>(['bans', '--json', '--socket', dir.socket]);
  const status = () => cliJson<StatusReport>(['status', '--json', '--socket', dir.socket]);

  before(async () => {
    dir = await ServerDir.create({
      jails: { sshd: sshdJail({ maxretry: 2, findtime: '10m', bantime: '1h' }) },
    });
    server = await startServer(dir);
    port = server.ready.udp?.port ?? 0;
  });
  after(async () => {
    await server.kill();
    await dir.remove();
  });

  it('bans the address in the message, never one from the header or a smuggled line', async () => {
    const now = new Date().toISOString();
    const real = 'Failed password for root from 203.0.113.77 port 22 ssh2';
    const datagrams = [
      // HOSTNAME and TAG carry a victim address (RFC 3164 and RFC 5424).
      `<38>Dec  2 10:00:00 8.8.8.8 sshd[1]: ${real}`,
      `<38>1 ${now} 8.8.4.4 sshd 2 - - ${real}`,
      // APP-NAME, MSGID and structured data written to look like a failure from a victim.
      `<38>1 ${now} web1 sshd 3 from_9.9.9.9 [x@1 m="Failed password for root from 9.9.9.9 port 1 ssh2"] ${real}`,
      // A second "line" smuggled into one datagram after a newline.
      `<38>1 ${now} web1 sshd 4 - - Invalid user x\n<38>1 ${now} web1 sshd 5 - - Failed password for root from 1.1.1.1 port 1 ssh2`,
      `<38>1 ${now} web1 sshd 6 - - Invalid user x\nFailed password for root from 1.1.1.1 port 1 ssh2`,
    ];
    await send(port, datagrams);
    await waitFor(async () => (await bans()).some((b) => b.target === '203.0.113.77'), {
      what: 'the real client banned',
    });
    // Everything sent has been through the jails before we look for victims.
    await waitFor(async () => (await status()).ingest.messages >= datagrams.length, {
      what: 'every datagram received',
    });
    const banned = (await bans()).map((b) => b.target);
    for (const victim of VICTIMS) assert.ok(!banned.includes(victim), `${victim} is not banned`);
    const jail = (await status()).jails.find((j) => j.name === 'sshd');
    assert.ok(jail !== undefined);
    assert.equal(
      jail.matched,
      3,
      'the three lines with a real failure match, the smuggled ones do not',
    );
  });
});
