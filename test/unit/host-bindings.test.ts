// ingest.senders: a bound HOSTNAME (or journal _HOSTNAME) counts only from its own addresses; a borrowed one becomes the peer's own line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { CidrSet } from '../../src/core/ip.js';
import type { BanRequest } from '../../src/core/types.js';
import { HostBindings } from '../../src/ingest/host-bindings.js';
import { SenderTable } from '../../src/ingest/senders.js';
import { JailEngine } from '../../src/jails/engine.js';
import { SyslogTimeZone } from '../../src/parse/syslog.js';
import { Pipeline } from '../../src/server/pipeline.js';
import { jails, T0 } from './server-fixtures.js';

const line = (host: string, ip: string): string =>
  `<38>1 2026-01-01T12:00:00Z ${host} sshd 42 - - Failed password for root from ${ip} port 22 ssh2`;

function setup(bindings: Record<string, string[]>) {
  const bans: BanRequest[] = [];
  const clock = new ManualClock(T0);
  const engine = new JailEngine({
    jails: jails({ sshd: { filter: 'sshd', maxretry: 1, hosts: ['web-a'] } }),
    ignore: new CidrSet(),
    maxTrackedAttackers: 100,
    clock,
    onBan: (r) => bans.push(r),
  });
  const refused: string[] = [];
  const hostBindings = new HostBindings(bindings, (host, peer) => refused.push(`${host} ${peer}`));
  const pipeline = new Pipeline(
    { maxSkewMs: 10 ** 12, timeZone: new SyslogTimeZone('UTC') },
    (e) => {
      engine.process(e);
    },
    hostBindings,
  );
  const senders = new SenderTable();
  const send = (peer: string, text: string): void => {
    pipeline.accept(text, senders.touch(peer, T0), T0);
  };
  /** A journal entry's fields, as the journal listener hands them on. */
  const sendFields = (peer: string, hostname: string, ip: string): void => {
    const message = `Failed password for root from ${ip} port 22 ssh2`;
    pipeline.acceptFields(
      { facility: 4, severity: 6, ownTime: NaN, hostname, program: 'sshd', pid: '42', message },
      senders.touch(peer, T0),
      T0,
    );
  };
  return { bans, send, sendFields, senders, pipeline, hostBindings, refused };
}

test('a hosts-scoped jail counts web-a only from the bound peer', () => {
  const t = setup({ 'web-a': ['192.0.2.10', '2001:db8::/64'] });
  t.send('192.0.2.66', line('web-a', '198.51.100.1'));
  t.send('192.0.2.66', line('WEB-A', '198.51.100.2'));
  assert.equal(t.bans.length, 0, 'a borrowed name feeds no jail scoped to it');
  assert.equal(t.senders.get('192.0.2.66')?.spoofedHostname, 2);
  assert.equal(t.pipeline.stats.spoofedHostname, 2);
  assert.deepEqual(t.refused, ['web-a 192.0.2.66', 'WEB-A 192.0.2.66'], 'heard at once, per pair');

  t.send('192.0.2.10', line('web-a', '198.51.100.3'));
  t.send('2001:db8::5', line('Web-A', '198.51.100.4'));
  assert.deepEqual(
    t.bans.map((b) => [b.attacker, b.hosts, b.senders]),
    [
      ['198.51.100.3', { 'web-a': 1 }, { '192.0.2.10': 1 }],
      ['198.51.100.4', { 'Web-A': 1 }, { '2001:db8::5': 1 }],
    ],
  );
  assert.equal(t.senders.get('192.0.2.10')?.spoofedHostname, 0);

  const report = t.hostBindings.takeReport();
  assert.deepEqual(
    report.pairs.map((p) => [p.host, p.peer, p.count]),
    [
      ['web-a', '192.0.2.66', 1],
      ['WEB-A', '192.0.2.66', 1],
    ],
  );
  assert.deepEqual(t.hostBindings.takeReport().pairs, [], 'a report empties the tally');
});

test('names without a binding are taken as sent, and no binding means no check', () => {
  const t = setup({ 'web-b': ['192.0.2.10'] });
  t.send('192.0.2.66', line('web-a', '198.51.100.1'));
  assert.equal(t.bans.length, 1);
  assert.equal(t.pipeline.stats.spoofedHostname, 0);
  assert.equal(new HostBindings({}).empty, true);
});

test("a journal entry's _HOSTNAME is held to the same bindings as a HOSTNAME", () => {
  const t = setup({ 'web-a': ['192.0.2.10'] });
  t.sendFields('192.0.2.66', 'web-a', '198.51.100.1');
  assert.equal(t.bans.length, 0, 'a borrowed name feeds no jail scoped to it');
  assert.equal(t.senders.get('192.0.2.66')?.spoofedHostname, 1);
  assert.equal(t.pipeline.stats.spoofedHostname, 1);
  assert.deepEqual(t.refused, ['web-a 192.0.2.66']);

  t.sendFields('192.0.2.10', 'web-a', '198.51.100.2');
  // No _HOSTNAME it could trust: the peer stands for it, so no jail scoped to web-a counts it.
  t.sendFields('192.0.2.10', '', '198.51.100.3');
  assert.deepEqual(
    t.bans.map((b) => [b.attacker, b.hosts, b.senders]),
    [['198.51.100.2', { 'web-a': 1 }, { '192.0.2.10': 1 }]],
  );
  assert.equal(t.pipeline.stats.parsed, 3);
});
