// Acceptance with the real server and real logger: bans spare ignored and never-ban addresses, firewalls never see such bans, recidive reads only fleetban's own bans.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { after, before, describe, it } from 'node:test';
import type { ListedBan, StatusReport } from '../../src/control/plane.js';
import type { StreamMessage } from '../../src/distribute/protocol.js';
import {
  cliJson,
  exactMsg,
  runCli,
  ServerDir,
  sshdJail,
  startServer,
  type JsonObject,
} from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';
import { bodyOf, get, openStream } from './agent-api-client.js';

/** Sends lines with util-linux `logger` over UDP in RFC 3164, as any host (or forger) can. */
function logger(port: number, tag: string, lines: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'logger',
      ['-n', '127.0.0.1', '-P', String(port), '-d', '--rfc3164', '-t', tag],
      { stdio: ['pipe', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`logger exited ${code ?? -1}: ${stderr}`));
    });
    child.stdin.end(`${lines.join('\n')}\n`);
  });
}

function failures(ip: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `Invalid user guest${i} from ${ip} port ${50000 + i}`);
}

async function started(jails: JsonObject, config: JsonObject = {}) {
  const dir = await ServerDir.create({ jails, config });
  const server = await startServer(dir);
  const udp = server.ready.udp;
  assert.ok(udp !== undefined, 'the UDP listener is up');
  const cli = (args: string[]) => [...args, '--config', dir.configFile];
  const bans = (): Promise<ListedBan[]> => cliJson<ListedBan[]>(cli(['bans', '--json']));
  const status = (): Promise<StatusReport> => cliJson<StatusReport>(cli(['status', '--json']));
  return { dir, server, udp: udp.port, cli, bans, status };
}

describe('jail bans spare ignored addresses; recidive counts only stored bans', () => {
  let s: Awaited<ReturnType<typeof started>>;

  before(async () => {
    s = await started({
      sshd: sshdJail({
        maxretry: 2,
        findtime: '10m',
        bantime: '1h',
        banmask: { v4: 32, v6: 64 },
        ignoreip: ['2001:db8:1::1'],
      }),
      recidive: { enabled: true, filter: 'recidive', maxretry: 3, findtime: '1d', bantime: '1w' },
    });
  });

  after(async () => {
    await s.server.kill().catch(() => undefined);
    await s.dir.remove();
  });

  it('narrows the /64 around 2001:db8:1::dead so that it spares the ignored 2001:db8:1::1', async () => {
    await logger(s.udp, 'sshd', failures('2001:db8:1::dead', 2));
    const line = await s.server.waitForLog(exactMsg('NOTICE [sshd] Ban 2001:db8:1::8000/113'));
    assert.equal(line.level, 'info');
    await s.server.waitForLog(
      (l) => l.level === 'warn' && l.msg.includes('instead of 2001:db8:1::/64'),
    );
    const targets = (await s.bans()).map((b) => b.target);
    assert.ok(!targets.includes('2001:db8:1::/64'), targets.join(' '));
  });

  it('narrows the /64 around ::7f00:1 so that it spares loopback ::1', async () => {
    await logger(s.udp, 'sshd', failures('::7f00:1', 2));
    await s.server.waitForLog(exactMsg('NOTICE [sshd] Ban ::4000:0/98'));
    const metrics = await s.status();
    assert.ok((metrics.neverBan?.narrowed ?? 0) >= 2, JSON.stringify(metrics.neverBan));
  });

  it('forged ban lines over syslog ban nobody, whatever program they claim', async () => {
    const before = (await s.status()).ingest.messages;
    const forged = Array.from({ length: 5 }, () => 'NOTICE [sshd] Ban 7.7.7.7');
    const fail2banLog = Array.from(
      { length: 5 },
      () => '2025-03-03 10:10:01,123 fail2ban.actions        [812]: NOTICE  [sshd] Ban 7.7.7.7',
    );
    await logger(s.udp, 'fleetban', forged);
    await logger(s.udp, 'fail2ban.actions', fail2banLog);
    await logger(s.udp, 'fail2ban', forged);
    // Every forged line was received and handed to the jails before we look at the bans.
    await waitFor(async () => (await s.status()).ingest.messages >= before + 15, {
      what: 'the 15 forged lines counted by ingest',
    });
    const targets = (await s.bans()).map((b) => b.target);
    assert.ok(!targets.includes('7.7.7.7'), targets.join(' '));
    // The recidive jail saw the bans stored so far, and nothing else.
    const stored = s.server.logsMatching((l) => /^NOTICE \[\w+\] Ban /.test(l.msg)).length;
    const recidive = (await s.status()).jails.find((j) => j.name === 'recidive');
    assert.deepEqual([recidive?.linesSeen, recidive?.banRequests], [stored, 0]);
  });

  it('three real bans of one address escalate to a one-week recidive ban', async () => {
    const attacker = '198.51.100.77';
    for (let round = 1; round <= 3; round++) {
      const seen = s.server.logsMatching(exactMsg(`NOTICE [sshd] Ban ${attacker}`)).length;
      await logger(s.udp, 'sshd', failures(attacker, 2));
      await waitFor(
        () => s.server.logsMatching(exactMsg(`NOTICE [sshd] Ban ${attacker}`)).length > seen,
        { what: `sshd ban number ${round} of ${attacker}` },
      );
      if (round < 3) {
        const r = await runCli(s.cli(['unban', attacker]));
        assert.equal(r.code, 0, r.stderr);
      }
    }
    await s.server.waitForLog(exactMsg(`NOTICE [recidive] Ban ${attacker}`));
    const ban = (await s.bans()).find((b) => b.target === attacker);
    assert.equal(ban?.jail, 'recidive');
    assert.ok(ban.end !== null && ban.end - ban.start === 7 * 86400_000, JSON.stringify(ban));
    assert.deepEqual(ban.hosts, { sshd: 3 });
  });

  it('a restart forgets no repeat offender and repeats no recidive ban', async () => {
    const attacker = '198.51.100.88';
    const sshdBan = async (): Promise<void> => {
      const seen = s.server.logsMatching(exactMsg(`NOTICE [sshd] Ban ${attacker}`)).length;
      await logger(s.udp, 'sshd', failures(attacker, 2));
      await waitFor(
        () => s.server.logsMatching(exactMsg(`NOTICE [sshd] Ban ${attacker}`)).length > seen,
        { what: `an sshd ban of ${attacker}` },
      );
      const r = await runCli(s.cli(['unban', attacker]));
      assert.equal(r.code, 0, r.stderr);
    };
    await sshdBan();
    await sshdBan();
    const before = (await s.bans()).find((b) => b.target === '198.51.100.77');
    await s.server.stop();
    s.server = await startServer(s.dir);
    s.udp = s.server.ready.udp?.port ?? assert.fail('no UDP listener');
    await s.server.waitForLog('recent bans counted again for recidive');
    const after = (await s.bans()).find((b) => b.target === '198.51.100.77');
    assert.deepEqual(after, before, 'the recidive ban from before the restart is not made again');
    await logger(s.udp, 'sshd', failures(attacker, 2));
    await s.server.waitForLog(exactMsg(`NOTICE [recidive] Ban ${attacker}`));
  });
});

describe('the never-ban list: admin networks, own addresses, agents and firewalls', () => {
  let s: Awaited<ReturnType<typeof started>>;
  let token: string;
  let agentsPort: number;

  before(async () => {
    // No jails.ignoreip: loopback is protected by the never-ban list alone.
    s = await started(
      { sshd: sshdJail({ maxretry: 5, findtime: '10m', bantime: '1h' }) },
      { jails: { ignoreip: [] } },
    );
    const agents = s.server.ready.agents;
    assert.ok(agents !== undefined);
    agentsPort = agents.port;
    ({ token } = await cliJson<{ token: string }>(s.cli(['agents', 'add', 'gw1', '--json'])));
  });

  after(async () => {
    await s.server.kill().catch(() => undefined);
    await s.dir.remove();
  });

  const nftTargets = async (): Promise<string> => {
    const { res } = await get(agentsPort, '/v1/nftables', token);
    assert.equal(res.statusCode, 200);
    return bodyOf(res);
  };

  it("refuses manual bans of loopback and of the server's own addresses with FLEETBAN_BAN_PROTECTED", async () => {
    const own = Object.values(networkInterfaces())
      .flat()
      .map((i) => i?.address)
      .filter((a): a is string => a !== undefined && !a.startsWith('fe80'));
    for (const target of ['127.0.0.2', '::1', ...own]) {
      const r = await runCli(s.cli(['ban', target]));
      assert.equal(r.code, 1, `${target}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /never bans/, target);
    }
    assert.deepEqual(await s.bans(), []);
  });

  it('an admin network added by reload: bans refused, stored ones withheld from streams and nftables', async () => {
    for (const target of ['198.51.100.0/24', '192.0.2.99']) {
      const r = await runCli(s.cli(['ban', target]));
      assert.equal(r.code, 0, r.stderr);
    }
    const first = await openStream({ port: agentsPort, token });
    const snapshot = await first.waitFor((m) => m.type === 'snapshot');
    assert.deepEqual(targetsOf(snapshot), ['192.0.2.99', '198.51.100.0/24']);
    assert.match(await nftTargets(), /198\.51\.100\.0/);
    const since = first.lastSeq();

    await s.dir.writeConfig({
      jails: { ignoreip: [] },
      neverBan: { adminNetworks: ['198.51.100.0/28'] },
    });
    const reload = await runCli(s.cli(['reload']));
    assert.equal(reload.code, 0, reload.stderr);
    // The agent holds the now-protected ban: its stream ends so that it comes back for a snapshot.
    await first.closed;
    const again = await openStream({ port: agentsPort, token, since });
    const fresh = await again.waitFor((m) => m.type === 'snapshot');
    assert.deepEqual(targetsOf(fresh), ['192.0.2.99']);
    const doc = await nftTargets();
    assert.doesNotMatch(doc, /198\.51\.100\.0/);
    assert.match(doc, /192\.0\.2\.99/);
    again.close();

    const refused = await runCli(s.cli(['ban', '198.51.100.0/26']));
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /198\.51\.100\.0\/28.*admin/);

    const status = await s.status();
    const entries = status.neverBan?.entries.map((e) => `${e.cidr} ${e.source}`) ?? [];
    assert.ok(entries.includes('198.51.100.0/28 admin'), entries.join(', '));
    assert.ok(entries.includes('127.0.0.0/8 self'), entries.join(', '));
    assert.ok(entries.some((e) => e.endsWith(' agent') || e === '127.0.0.0/8 self'));
    assert.ok((status.neverBan?.withheld ?? 0) >= 2);
    assert.ok((status.neverBan?.manualRefused ?? 0) >= 3, 'loopback, ::1 and the admin network');
    const human = await runCli(s.cli(['status']));
    assert.match(human.stdout, /^never banned: \d+ entries/m);
    assert.match(human.stdout, /^ {4}198\.51\.100\.0\/28 +admin +neverBan\.adminNetworks$/m);
  });

  it('after a restart on the old store the ban stays withheld, and a resuming agent gets a snapshot', async () => {
    const { res } = await get(agentsPort, '/v1/nftables', token);
    const seq = Number(res.headers['x-fleetban-seq']);
    res.resume();
    await s.server.stop();
    s.server = await startServer(s.dir);
    const agents = s.server.ready.agents;
    assert.ok(agents !== undefined);
    agentsPort = agents.port;
    assert.equal((await s.bans()).length, 2, 'the store still holds both bans');
    const stream = await openStream({ port: agentsPort, token, since: seq });
    const first = await stream.waitFor((m) => m.type === 'snapshot' || m.type === 'resume');
    assert.deepEqual(targetsOf(first), ['192.0.2.99']);
    stream.close();
    assert.doesNotMatch(await nftTargets(), /198\.51\.100\.0/);
  });
});

function targetsOf(m: StreamMessage): string[] {
  if (m.type !== 'snapshot') return assert.fail(`a snapshot, not ${m.type}`);
  return m.bans.map((b) => b.target).sort();
}

describe('one allowed host forges failures naming another allowed host', () => {
  it('bans nobody of the fleet, counts the refusal, and still bans a real attacker', async () => {
    const peer = '203.0.113.200';
    const s = await started(
      { sshd: sshdJail({ maxretry: 2, findtime: '10m', bantime: '1h' }) },
      { ingest: { allowedSenders: ['127.0.0.0/8', `${peer}/32`] } },
    );
    try {
      await logger(s.udp, 'sshd', failures(peer, 4));
      await logger(s.udp, 'sshd', failures('198.51.100.91', 2));
      await s.server.waitForLog(exactMsg('NOTICE [sshd] Ban 198.51.100.91'));
      await waitFor(async () => ((await s.status()).neverBan?.refused ?? 0) >= 1, {
        what: 'the refused ban of the allowed sender',
      });
      const targets = (await s.bans()).map((b) => b.target);
      assert.deepEqual(targets, ['198.51.100.91']);
    } finally {
      await s.server.kill().catch(() => undefined);
      await s.dir.remove();
    }
  });
});
