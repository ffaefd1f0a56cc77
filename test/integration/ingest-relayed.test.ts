// Relayed senders end to end: busybox, socklog/svlogd, metalog and FreeBSD lines over a real UDP socket reach the sshd jails, hosts kept.
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

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number): string => String(n).padStart(2, '0');

/** `Dec  2 10:00:00` in the local zone, as libc's strftime("%h %e %T") writes it (the server reads local time). */
function bsdStamp(d: Date): string {
  const day = String(d.getDate()).padStart(2, ' ');
  return `${MONTHS[d.getMonth()] ?? 'Jan'} ${day} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** svlogd -tt: `YYYY-MM-DD_HH:MM:SS.fffff` in UTC (runit fmt_ptime.c). */
function svlogdStamp(d: Date): string {
  return `${d.toISOString().slice(0, 19).replace('T', '_')}.${String(d.getUTCMilliseconds() * 100).padStart(5, '0')}`;
}

/** An RFC 3339 stamp with a colon-less `+0000` offset and microseconds. */
function isoNoColon(d: Date): string {
  return `${d.toISOString().slice(0, 23)}000+0000`;
}

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

const ATTACKER = '203.0.113.41';
const INJECTED = '203.0.113.42';
const FROM_WEB07 = '203.0.113.43';
const fail = (ip: string): string => `Failed password for root from ${ip} port 51234 ssh2`;

describe('relayed senders over UDP', () => {
  let dir: ServerDir;
  let server: ServerProcess;
  let port = 0;
  const status = () => cliJson<StatusReport>(['status', '--json', '--socket', dir.socket]);
  const bans = () => cliJson<ListedBan[]>(['bans', '--json', '--socket', dir.socket]);

  before(async () => {
    dir = await ServerDir.create({
      jails: {
        sshd: sshdJail({ maxretry: 100, findtime: '10m', bantime: '1h' }),
        // Scoped to one reporting host: only a line whose header names web-07 may feed it.
        'sshd-web07': sshdJail({ maxretry: 1, findtime: '10m', bantime: '1h', hosts: ['web-07'] }),
      },
    });
    server = await startServer(dir);
    port = server.ready.udp?.port ?? 0;
  });
  after(async () => {
    await server.kill();
    await dir.remove();
  });

  it('parses every format, feeds the sshd jail, and routes by the header host only', async () => {
    const now = new Date();
    const s = bsdStamp(now);
    const relayed = [
      // busybox syslogd -R (glibc and musl programs): the /dev/log line, no HOSTNAME.
      `<38>${s} sshd[811]: ${fail(ATTACKER)}\n`,
      `<38>${s} sshd-session[812]: ${fail(ATTACKER)}\n`,
      // socklog -R through svlogd -tt, socklog without -R, socklog inet relaying.
      `${svlogdStamp(now)} <38>${s} sshd[813]: ${fail(ATTACKER)}\n`,
      `auth.info: ${s} sshd[814]: ${fail(ATTACKER)}\n`,
      `198.51.100.20: auth.info: ${s} sshd[815]: ${fail(ATTACKER)}\n`,
      // metalog remote_log.
      `[sshd] ${fail(ATTACKER)}\n`,
      // FreeBSD syslogd: its own line, then -O rfc5424.
      `<38>${s} sshd[816]: ${fail(ATTACKER)}`,
      `<38>1 ${now.toISOString().slice(0, 23)}000+00:00 bsd1.example.org sshd 817 - - ${fail(ATTACKER)}`,
      // RFC 5424 with a colon-less offset.
      `<38>1 ${isoNoColon(now)} web-03 sshd 818 - - ${fail(ATTACKER)}`,
    ];
    const injected = [
      // The message part names web-07 in header shapes; none of it is the line's header.
      `<38>${s} sshd[821]: Forwarded from web-07: sshd[1]: ${fail(INJECTED)}`,
      `[sshd] ${s} web-07 sshd[1]: ${fail(INJECTED)}\n`,
      `auth.info: ${s} sshd[822]: Forwarded from web-07: sshd[1]: ${fail(INJECTED)}\n`,
      `<38>${s} sshd[823]: web-07 sshd[1]: ${fail(INJECTED)}\n`,
    ];
    // A FreeBSD relay that really forwards web-07's line.
    const fromWeb07 = `<38>${s} Forwarded from web-07: sshd[824]: ${fail(FROM_WEB07)}`;
    const all = [...relayed, ...injected, fromWeb07];
    await send(port, all);

    // Every datagram parsed (or refused) and through the jails before anything is counted.
    await waitFor(
      async () => {
        const i = (await status()).ingest;
        return i.parsed + i.parseErrors >= all.length;
      },
      { what: 'every datagram parsed' },
    );
    await waitFor(async () => (await bans()).some((b) => b.target === FROM_WEB07), {
      what: "web-07's attacker banned by the scoped jail",
    });
    await waitFor(
      async () =>
        ((await status()).jails.find((j) => j.name === 'sshd')?.matched ?? 0) >= relayed.length + 1,
      { what: 'the sshd jail matched every relayed failure' },
    );
    const report = await status();
    assert.equal(report.ingest.parseErrors, 0);
    assert.equal(report.ingest.parsed, all.length, 'every line parsed and handed to the jails');
    const jail = (name: string) => report.jails.find((j) => j.name === name);
    assert.equal(
      jail('sshd')?.matched,
      relayed.length + 1,
      'every relayed failure and the web-07 one match; the injected ones keep their prefix and do not',
    );
    assert.equal(jail('sshd-web07')?.matched, 1, 'only the line whose header names web-07');
    const banned = (await bans()).map((b) => b.target);
    assert.ok(!banned.includes(INJECTED), 'text in the message part never reaches the web-07 jail');
    assert.ok(!banned.includes(ATTACKER), `${ATTACKER} is below the sshd jail's maxretry`);
  });
});
