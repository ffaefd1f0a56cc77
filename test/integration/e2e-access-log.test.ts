// Acceptance: nginx and Apache access lines sent as nginx's `access_log syslog:` and `logger -t apache2` send them, over UDP to a real server running the shipped access-log jails.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { ListedBan, StatusReport } from '../../src/control/plane.js';
import {
  cliJson,
  exactMsg,
  ServerDir,
  startServer,
  type JsonObject,
  type ServerProcess,
} from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';

const JAILS_D = new URL('../../../config/jails.d/', import.meta.url);
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number): string => String(n).padStart(2, '0');

/** The shipped jail, enabled: what an admin gets by turning it on. */
function shippedJail(name: string): JsonObject {
  const file = JSON.parse(readFileSync(new URL(`${name}.json`, JAILS_D), 'utf8')) as Record<
    string,
    JsonObject
  >;
  return { ...(file[name] ?? assert.fail(name)), enabled: true };
}

/**
 * nginx's syslog header (ngx_syslog_add_header): `<PRI>Mmm dd hh:mm:ss HOST TAG: `, local time,
 * facility local7 and severity info (190) unless configured; `logger -t apache2` writes the same
 * RFC 3164 shape with user.notice (13).
 */
function syslog(pri: number, tag: string, line: string, at = new Date()): string {
  const day = String(at.getDate()).padStart(2, ' ');
  const time = `${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}`;
  return `<${pri}>${MONTHS[at.getMonth()] ?? 'Jan'} ${day} ${time} web-01 ${tag}: ${line}`;
}

const nginx = (line: string): string => syslog(190, 'nginx', line);
const apache = (line: string): string => syslog(13, 'apache2', line);

/** nginx "combined"; nginx writes a quote in client text as \x22. */
function combined(ip: string, request: string, status: number, tail = '"-" "Mozilla/5.0"'): string {
  return `${ip} - - [02/Dec/2026:17:00:00 +0000] "${request} HTTP/1.1" ${status} 153 ${tail}`;
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

const BROWSER = '198.51.100.50';
const SCANNER = '203.0.113.66';
const SCANNER6 = '2001:db8:66::66';
const VICTIM = '9.9.9.9';
const VICTIM6 = '2001:db8:dead::1';

describe('access-log jails over UDP', () => {
  let dir: ServerDir;
  let server: ServerProcess;
  let port = 0;
  let sent = 0;
  const status = () => cliJson<StatusReport>(['status', '--json', '--socket', dir.socket]);
  const bans = () => cliJson<ListedBan[]>(['bans', '--json', '--socket', dir.socket]);
  const jail = async (name: string) =>
    (await status()).jails.find((j) => j.name === name) ?? assert.fail(name);
  const deliver = async (datagrams: readonly string[]): Promise<void> => {
    await send(port, datagrams);
    sent += datagrams.length;
    await waitFor(
      async () => {
        const i = (await status()).ingest;
        return i.parsed + i.parseErrors >= sent;
      },
      { what: `${sent} datagrams parsed` },
    );
  };

  before(async () => {
    dir = await ServerDir.create({
      jails: {
        'http-4xx': shippedJail('http-4xx'),
        'http-4xx-notfound': shippedJail('http-4xx-notfound'),
        'http-badpaths': shippedJail('http-badpaths'),
      },
    });
    server = await startServer(dir);
    port = server.ready.udp?.port ?? 0;
    assert.ok(port > 0);
  });
  after(async () => {
    await server.kill();
    await dir.remove();
  });

  it('bans the scanners probing bad paths, not the client browsing, nor the addresses they name', async () => {
    // A client browsing: pages, its browser's icons, 29 dead links, 3 refusals; all below maxretry.
    const browsing: string[] = [];
    for (let i = 0; i < 40; i++) browsing.push(nginx(combined(BROWSER, `GET /page/${i}`, 200)));
    for (let i = 0; i < 29; i++) browsing.push(nginx(combined(BROWSER, `GET /old/${i}`, 404)));
    for (let i = 0; i < 5; i++) browsing.push(nginx(combined(BROWSER, 'GET /favicon.ico', 404)));
    for (let i = 0; i < 3; i++) browsing.push(nginx(combined(BROWSER, 'GET /members/', 403)));
    // Scanners naming other addresses in the path, Referer and User-Agent, with fake fields.
    const fake = (victim: string): string =>
      `"http://${victim}/\\x22 404 0" "${victim} - - [02/Dec/2026:17:00:00 +0000] \\x22GET /.env HTTP/1.1\\x22 404 0"`;
    const scanning = [
      nginx(combined(SCANNER, `GET /${VICTIM}/.env`, 404, fake(VICTIM))),
      nginx(combined(SCANNER, 'GET /.git/config', 403, fake(VICTIM6))),
      nginx(combined(SCANNER, 'GET /phpmyadmin/', 404, fake(VICTIM))),
      // Apache, through `CustomLog "|/usr/bin/logger -t apache2" combined`: quotes as \".
      apache(
        `${SCANNER6} - - [02/Dec/2026:17:00:00 +0000] "GET /wp-login.php HTTP/1.1" 404 196 "http://[${VICTIM6}]/\\" 404 0" "${VICTIM6} \\"GET /.env\\" 404"`,
      ),
      apache(`${SCANNER6} - - [02/Dec/2026:17:00:01 +0000] "GET /.aws/credentials HTTP/1.1" 404 -`),
      apache(
        `${SCANNER6} - - [02/Dec/2026:17:00:02 +0000] "POST /boaform/admin/formLogin HTTP/1.1" 404 -`,
      ),
    ];
    await deliver([...browsing, ...scanning]);
    await server.waitForLog(exactMsg(`NOTICE [http-badpaths] Ban ${SCANNER}`));
    await waitFor(async () => (await bans()).some((b) => b.attacker === SCANNER6), {
      what: 'the IPv6 scanner banned',
    });

    const listed = (await bans()).map((b) => `${b.jail} ${b.attacker}`).sort();
    assert.deepEqual(listed, [`http-badpaths ${SCANNER6}`, `http-badpaths ${SCANNER}`]);
    const notfound = await jail('http-4xx-notfound');
    // 29 dead links and the scanners' 404s counted; the icons matched but were ignored.
    assert.equal(notfound.ignored, 5);
    assert.equal(notfound.failures, 29 + 5);
    assert.equal((await jail('http-4xx')).failures, 3 + 1);
  });

  it('bans the browsing client at its 30th missing page within findtime', async () => {
    assert.equal(
      (await bans()).some((b) => b.attacker === BROWSER),
      false,
    );
    await deliver([nginx(combined(BROWSER, 'GET /old/last', 410))]);
    await server.waitForLog(exactMsg(`NOTICE [http-4xx-notfound] Ban ${BROWSER}`));
  });
});
