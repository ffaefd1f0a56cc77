// ServerControlPlane over real parts (memory store, jail engine, pipeline, unstarted ingest): what the admin API sees.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { ErrorCode, isFleetbanError } from '../../src/core/errors.js';
import { CidrSet } from '../../src/core/ip.js';
import type { ReloadReport } from '../../src/control/plane.js';
import { renderMetrics } from '../../src/control/metrics.js';
import { Ingest } from '../../src/ingest/ingest.js';
import { SenderTable } from '../../src/ingest/senders.js';
import { JailEngine } from '../../src/jails/engine.js';
import { computeBantime } from '../../src/jails/policy.js';
import { BanLog } from '../../src/log/ban-log.js';
import { BanManager } from '../../src/server/ban-manager.js';
import { followBanChanges } from '../../src/server/ban-reactions.js';
import { ServerControlPlane } from '../../src/server/control-plane.js';
import { Pipeline } from '../../src/server/pipeline.js';
import { MemoryBanStore } from '../../src/store/memory-store.js';
import { MANUAL_BANTIME_SEC, SEC, T0, cidr, jails, recordingLogger } from './server-fixtures.js';

const RELOADED: ReloadReport = {
  jails: ['sshd'],
  added: [],
  removed: [],
  changed: [],
  warnings: [],
};

/** The server's wiring, minus sockets and LevelDB: ingest is built but never started. */
async function setup() {
  const clock = new ManualClock(T0);
  const logger = recordingLogger();
  const store = new MemoryBanStore();
  await store.open();
  const configs = jails({
    sshd: { maxretry: 3, bantime: '1h' },
    'nginx-auth': {
      failregex: ['^auth failed from <HOST>$'],
      programs: ['nginx'],
      maxretry: 2,
      bantime: '10m',
      enabled: false,
    },
  });
  let reloads = 0;
  // the engine asks the ban manager for bans; the ban manager asks the engine for policy
  const engine: JailEngine = new JailEngine({
    jails: configs,
    ignore: new CidrSet([cidr('127.0.0.0/8'), cidr('10.0.0.0/8')]),
    maxTrackedAttackers: 1000,
    clock,
    onBan: (request) => {
      bans.request(request);
    },
  });
  const bans = new BanManager({
    store,
    clock,
    logger,
    banLog: new BanLog('', logger, clock),
    bantime: (jail, history) => {
      const jc = engine.configs().find((j) => j.name === jail);
      return jc === undefined ? MANUAL_BANTIME_SEC : computeBantime(jc, history, () => 0);
    },
    ignored: (jail) => engine.ignoreList(jail),
  });
  followBanChanges({ store, engine });
  const senders = new SenderTable();
  const pipeline = new Pipeline({ maxSkewMs: 0 }, (event) => {
    engine.process(event);
  });
  const ingest = new Ingest(
    {
      udp: { enabled: true, address: '127.0.0.1', port: 0 },
      tcp: { enabled: true, address: '127.0.0.1', port: 0 },
      tls: { enabled: false, address: '127.0.0.1', port: 0 },
    },
    { sink: pipeline, senders, clock, log: logger },
  );
  const plane = new ServerControlPlane({
    clock,
    store,
    engine,
    bans,
    ingest,
    senders,
    pipeline,
    reload: () => {
      reloads++;
      return RELOADED;
    },
  });
  /** One syslog line from `host` (sender `peer`), through the pipeline as ingest would deliver it. */
  const send = (peer: string, text: string) => {
    const record = senders.touch(peer, clock.now());
    record.messages++;
    record.bytes += Buffer.byteLength(text);
    record.transports.udp++;
    pipeline.accept(text, record, clock.now());
  };
  const sshFail = (host: string, ip: string) =>
    `<38>Jan  1 12:00:00 ${host} sshd[123]: Failed password for root from ${ip} port 4242 ssh2`;
  return {
    clock,
    store,
    engine,
    bans,
    senders,
    pipeline,
    ingest,
    plane,
    send,
    sshFail,
    reloads: () => reloads,
  };
}

function code(expected: ErrorCode): (e: unknown) => boolean {
  return (e) => isFleetbanError(e, expected);
}

test('health before ingest is started: not ok, says so, and turns ok once listening', async () => {
  const { plane } = await setup();
  assert.deepEqual(plane.health(), {
    ok: false,
    checks: { ingest: 'not listening', store: '0 active bans' },
  });
  plane.attachListening(() => ({ udp: { address: '127.0.0.1', port: 5514, family: 'IPv4' } }));
  assert.deepEqual(plane.health(), {
    ok: true,
    checks: { ingest: 'listening', store: '0 active bans' },
  });
});

test('status and jailStatus: counters, bans per jail, parse errors, uptime', async () => {
  const s = await setup();
  s.send('192.0.2.10', s.sshFail('web1', '203.0.113.7'));
  s.send('192.0.2.11', s.sshFail('web2', '203.0.113.7'));
  s.send('192.0.2.10', s.sshFail('web1', '203.0.113.7'));
  s.send('192.0.2.10', '<999>not a PRI');
  await s.bans.drain();
  await s.plane.ban({ target: '198.51.100.0/24' });
  s.clock.advance(90 * SEC);
  const status = s.plane.status();
  assert.match(status.version, /^\d+\.\d+\.\d+/);
  assert.equal(status.startedAt, T0);
  assert.equal(status.uptimeSec, 90);
  assert.equal(status.activeBans, 2);
  assert.deepEqual(status.store, { activeBans: 2, lastSeq: 2 });
  assert.deepEqual(status.ingest.listening, []);
  assert.equal(status.ingest.parseErrors, 1);
  assert.equal(status.ingest.parsed, 3);
  assert.equal(status.ingest.backlogDropped, 0);
  assert.deepEqual(
    status.jails.map((j) => ({
      name: j.name,
      enabled: j.enabled,
      activeBans: j.activeBans,
      failures: j.failures,
      banRequests: j.banRequests,
      linesSeen: j.linesSeen,
      bantime: j.bantime,
      maxretry: j.maxretry,
    })),
    [
      {
        name: 'sshd',
        enabled: true,
        activeBans: 1,
        failures: 3,
        banRequests: 1,
        linesSeen: 3,
        bantime: 3600,
        maxretry: 3,
      },
      {
        name: 'nginx-auth',
        enabled: false,
        activeBans: 0,
        failures: 0,
        banRequests: 0,
        linesSeen: 0,
        bantime: 600,
        maxretry: 2,
      },
    ],
  );
  assert.deepEqual(s.plane.jailStatus('sshd'), status.jails[0]);
  assert.throws(
    () => s.plane.jailStatus('postfix'),
    (e: unknown) =>
      isFleetbanError(e, ErrorCode.JAIL_UNKNOWN) && e.message.includes('sshd, nginx-auth'),
  );
});

test('bans: oldest first, hosts from the details, filtered by jail', async () => {
  const s = await setup();
  await s.plane.ban({ target: '198.51.100.9', reason: 'scanner' });
  s.clock.advance(SEC);
  s.send('192.0.2.10', s.sshFail('web1', '203.0.113.7'));
  s.send('192.0.2.11', s.sshFail('web2', '203.0.113.7'));
  s.send('192.0.2.11', s.sshFail('web2', '203.0.113.7'));
  await s.bans.drain();
  s.clock.advance(SEC);
  await s.plane.ban({ target: '2001:db8::/64', jail: 'sshd', durationSec: null });
  const all = await s.plane.bans({});
  assert.deepEqual(
    all.map((b) => [b.target, b.jail, b.origin, b.hosts, b.end]),
    [
      ['198.51.100.9', 'manual', 'manual', {}, T0 + MANUAL_BANTIME_SEC * SEC],
      ['203.0.113.7', 'sshd', 'jail', { web1: 1, web2: 2 }, T0 + SEC + 3600 * SEC],
      ['2001:db8::/64', 'sshd', 'manual', {}, null],
    ],
  );
  assert.deepEqual(
    (await s.plane.bans({ jail: 'sshd' })).map((b) => b.target),
    ['203.0.113.7', '2001:db8::/64'],
  );
  assert.deepEqual(
    (await s.plane.bans({ jail: 'manual' })).map((b) => b.target),
    ['198.51.100.9'],
  );
  assert.deepEqual(await s.plane.bans({ jail: 'no-such-jail' }), []);
  // listings are data, not evidence: no matched lines
  assert.equal('lines' in (all[1] ?? {}), false);
  JSON.stringify(all);
});

test('ban: unknown jail, ignored and invalid targets are refused with their codes', async () => {
  const s = await setup();
  await assert.rejects(
    s.plane.ban({ target: '198.51.100.9', jail: 'postfix' }),
    code(ErrorCode.JAIL_UNKNOWN),
  );
  await assert.rejects(s.plane.ban({ target: '10.1.2.3' }), code(ErrorCode.BAN_IGNORED));
  await assert.rejects(
    s.plane.ban({ target: '0.0.0.0/0', jail: 'sshd' }),
    code(ErrorCode.BAN_IGNORED),
  );
  await assert.rejects(
    s.plane.ban({ target: 'host.example.org' }),
    code(ErrorCode.BAN_TARGET_INVALID),
  );
  assert.equal(s.store.stats().lastSeq, 0);
  // a disabled jail still exists: bans may be filed under it
  const ban = await s.plane.ban({ target: '198.51.100.9', jail: 'nginx-auth' });
  assert.equal(ban.end, T0 + 600 * SEC);
});

test('unban clears the counting too: one more failure after an unban does not ban again', async () => {
  const s = await setup();
  const attack = (n: number) => {
    for (let i = 0; i < n; i++) s.send('192.0.2.10', s.sshFail('web1', '203.0.113.7'));
  };
  attack(3);
  await s.bans.drain();
  assert.ok(s.store.get('203.0.113.7'));
  // lines still in flight from other servers while the ban spreads
  attack(2);
  await s.bans.drain();
  assert.equal(s.bans.stats.alreadyBanned, 0);
  assert.equal(s.engine.stats()[0]?.trackedAttackers, 1);
  const lifted = await s.plane.unban({ target: '203.0.113.7' });
  assert.deepEqual(
    lifted.map((b) => b.target),
    ['203.0.113.7'],
  );
  assert.equal(s.engine.stats()[0]?.trackedAttackers, 0);
  attack(1);
  await s.bans.drain();
  assert.equal(s.store.get('203.0.113.7'), undefined);
  assert.equal(s.engine.stats()[0]?.banRequests, 1);
  // the same holds for --all
  attack(3);
  await s.bans.drain();
  attack(2);
  assert.equal((await s.plane.unban({ all: true })).length, 1);
  attack(1);
  await s.bans.drain();
  assert.equal(s.store.stats().activeBans, 0);
  assert.equal(s.engine.stats()[0]?.banRequests, 2);
  await assert.rejects(s.plane.unban({ target: '203.0.113.7' }), code(ErrorCode.BAN_NOT_FOUND));
  assert.deepEqual(await s.plane.unban({ all: true }), []);
});

test('senders: per-sender counters with parse errors, most recent first', async () => {
  const s = await setup();
  s.send('192.0.2.10', s.sshFail('web1', '203.0.113.7'));
  s.clock.advance(5 * SEC);
  s.send('::ffff:192.0.2.11', '<999>bad');
  s.send('192.0.2.11', '');
  const senders = s.plane.senders();
  assert.deepEqual(
    senders.map((r) => [
      r.address,
      r.messages,
      r.parseErrors,
      r.firstSeen,
      r.lastSeen,
      r.transports,
    ]),
    [
      ['192.0.2.11', 2, 2, T0 + 5 * SEC, T0 + 5 * SEC, ['udp']],
      ['192.0.2.10', 1, 0, T0, T0, ['udp']],
    ],
  );
  // a snapshot, not live records
  (senders[0] as { messages: number }).messages = 1000;
  assert.equal(s.plane.senders()[0]?.messages, 2);
});

test('metrics render as Prometheus text with the live values', async () => {
  const s = await setup();
  for (let i = 0; i < 3; i++) s.send('192.0.2.10', s.sshFail('web1', '203.0.113.7'));
  s.send('192.0.2.10', '<999>bad');
  await s.bans.drain();
  await s.plane.ban({ target: '198.51.100.9', durationSec: 60 });
  s.clock.advance(61 * SEC);
  await s.bans.expireDue();
  s.ingest.stats.udpReceiver.backlogDropped = 7;
  s.ingest.stats.udpReceiver.restarts = 2;
  const text = renderMetrics(s.plane.metrics());
  const lines = new Set(text.split('\n'));
  for (const line of [
    '# TYPE fleetban_udp_backlog_dropped_total counter',
    'fleetban_udp_backlog_dropped_total 7',
    'fleetban_udp_receiver_restarts_total 2',
    '# TYPE fleetban_active_bans gauge',
    'fleetban_active_bans 1',
    'fleetban_bans_total 2',
    'fleetban_bans_expired_total 1',
    'fleetban_unbans_total 1',
    'fleetban_ban_write_errors_total 0',
    'fleetban_parse_errors_total 1',
    'fleetban_senders 1',
    'fleetban_store_last_seq 3',
    '# TYPE fleetban_jail_ban_requests_total counter',
    'fleetban_jail_ban_requests_total{jail="sshd"} 1',
    'fleetban_jail_ban_requests_total{jail="nginx-auth"} 0',
    'fleetban_jail_failures_total{jail="sshd"} 3',
    'fleetban_ingest_messages_total{transport="udp"} 0',
    'fleetban_ingest_connections_open{transport="tcp"} 0',
  ]) {
    assert.ok(lines.has(line), `missing: ${line}`);
  }
  // every family has HELP and TYPE, every sample line parses
  for (const line of text.trimEnd().split('\n')) {
    assert.match(
      line,
      /^(# (HELP|TYPE) fleetban_\w+ .+|fleetban_\w+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?\d+(\.\d+)?)$/,
      line,
    );
  }
});

test('reload delegates to the composition root', async () => {
  const s = await setup();
  assert.deepEqual(await s.plane.reload(), RELOADED);
  assert.equal(s.reloads(), 1);
});

test('status names how each UDP socket is read', async () => {
  const s = await setup();
  s.ingest.stats.udpSockets['[::1]:5514'] = { recvBufferSize: 1 << 20, reader: 'dgram' };
  s.plane.attachListening(() => ({
    udp: { address: '::1', port: 5514, family: 'IPv6' },
    tcp: { address: '::1', port: 5514, family: 'IPv6' },
  }));
  assert.deepEqual(s.plane.status().ingest.listening, [
    { transport: 'udp', address: '::1', port: 5514, reader: 'dgram' },
    { transport: 'tcp', address: '::1', port: 5514 },
  ]);
});
