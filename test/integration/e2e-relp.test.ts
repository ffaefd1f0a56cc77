// Acceptance: real rsyslog omrelp feeds a fleetban server that restarts while rsyslog sends; every numbered line is banned, and counted once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AdminClient } from '../../src/control/admin-client.js';
import { Forwarding, startRsyslog, type RsyslogClient } from '../helpers/rsyslog.js';
import {
  exactMsg,
  ServerDir,
  sshdJail,
  startServer,
  type ServerProcess,
} from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';

const TOTAL = 3000;

/** Line n names its own attacker, so that each line bans one address (maxretry 1). */
function attacker(n: number): string {
  return `10.77.${Math.floor(n / 250)}.${(n % 250) + 1}`;
}

function lines(from: number, to: number): string[] {
  return Array.from(
    { length: to - from + 1 },
    (_, i) => `Failed password for root from ${attacker(from + i)} port ${from + i} ssh2`,
  );
}

/** The RELP messages a run took in, from its last log line. */
function relpMessages(server: ServerProcess): number {
  const stopped = server.logsMatching(exactMsg('fleetban stopped'));
  assert.equal(stopped.length, 1, 'the server logged its stop');
  const messages = stopped[0]?.messages as
    { udp: number; tcp: number; tls: number; relp: number } | undefined;
  assert.ok(messages !== undefined, 'the stop line counts the messages per transport');
  assert.equal(messages.udp + messages.tcp + messages.tls, 0, 'nothing came in another way');
  return messages.relp;
}

describe('fleetban server fed by real rsyslog over RELP, restarted while it sends', () => {
  let dir: ServerDir;
  let server: ServerProcess;
  let rsyslog: RsyslogClient;
  const cleanups: (() => Promise<unknown>)[] = [];
  const activeBans = async (): Promise<number> =>
    (await new AdminClient({ kind: 'unix', socket: dir.socket }).status()).activeBans;

  before(async () => {
    dir = await ServerDir.create({
      config: {
        ingest: {
          udp: { enabled: false },
          tcp: { enabled: false },
          relp: { enabled: true, address: '127.0.0.1', port: 0 },
        },
        // Thousands of bans from one sender in a minute are the point here, not an attack.
        brake: { enabled: false },
      },
      jails: { sshd: sshdJail({ maxretry: 1, findtime: '1h', bantime: '1h' }) },
    });
    cleanups.push(() => dir.remove());
    server = await startServer(dir);
    cleanups.push(() => server.kill());
  });

  after(async () => {
    for (const undo of cleanups.reverse()) await undo().catch(() => undefined);
  });

  it(`bans all ${TOTAL} attackers, each line counted once over both runs`, async () => {
    const relp = server.ready.relp;
    assert.ok(relp !== undefined, 'the ready file names the RELP listener');
    rsyslog = await startRsyslog({
      hostname: 'relp-host',
      forwarding: Forwarding.RELP_RFC5424,
      target: relp,
    });
    cleanups.push(() => rsyslog.stop());
    rsyslog.log(lines(1, TOTAL), { tag: 'sshd' });
    await waitFor(async () => (await activeBans()) >= 300, {
      what: 'the first 300 bans',
      timeoutMs: 30_000,
    });
    const first = server;
    assert.equal((await first.stop()).code, 0);
    const firstRun = relpMessages(first);
    assert.ok(
      firstRun >= 300 && firstRun < TOTAL,
      `rsyslog was still sending at the restart (${firstRun} in)`,
    );

    await dir.writeConfig({
      ingest: {
        udp: { enabled: false },
        tcp: { enabled: false },
        relp: { enabled: true, address: '127.0.0.1', port: relp.port },
      },
      brake: { enabled: false },
    });
    server = await startServer(dir);
    assert.equal(server.ready.relp?.port, relp.port, 'back on the same port');
    await waitFor(async () => (await activeBans()) === TOTAL, {
      what: `${TOTAL} bans, one per line`,
      timeoutMs: 60_000,
    });
    // rsyslog sends what it still holds before it exits: a line sent twice would arrive by then.
    await rsyslog.stop();
    assert.equal((await server.stop()).code, 0);
    const secondRun = relpMessages(server);
    assert.equal(firstRun + secondRun, TOTAL, `${firstRun} + ${secondRun} lines taken in`);
  });
});
