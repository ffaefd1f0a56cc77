// SilentSenders: a sender that sent and then fell silent is flagged once, cleared once, on a manual clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { HostBindings } from '../../src/ingest/host-bindings.js';
import { SenderTable } from '../../src/ingest/senders.js';
import { renderSilentSenders } from '../../src/notify/silent-alert.js';
import {
  silentCheckIntervalMs,
  SilentSenders,
  silentWatchOff,
  type SilentSenderChange,
} from '../../src/server/silent-senders.js';
import { recordingLogger } from './server-fixtures.js';

const MIN = 60_000;
const CTX = { timeZone: 'UTC', hostname: 'fleetban.example.net' };

function setup(options: { capacity?: number } = {}) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const table = new SenderTable(options);
  const logger = recordingLogger();
  const alerts: { kind: 'silent' | 'back'; changes: readonly SilentSenderChange[] }[] = [];
  const bindings = new HostBindings({ 'web-3': ['10.0.0.3'] });
  const watch = new SilentSenders(
    {
      senders: table,
      clock,
      logger,
      nameOf: (a) => bindings.nameOf(a),
      onChange: (kind, changes) => alerts.push({ kind, changes }),
    },
    15 * MIN,
  );
  /** A delivered message, as ingest counts it. */
  const speak = (peer: string): void => {
    table.touch(peer, clock.now()).messages++;
  };
  return { clock, table, logger, alerts, watch, speak };
}

describe('SilentSenders', () => {
  it('flags a sender once after silentAfter, with one warn line and one alert', () => {
    const t = setup();
    t.speak('10.0.0.3');
    t.watch.check();
    t.clock.advance(15 * MIN - 1);
    t.watch.check();
    assert.equal(t.watch.count, 0, 'not yet: 1 ms short of silentAfter');
    assert.equal(t.alerts.length, 0);
    t.clock.advance(1);
    t.watch.check();
    assert.equal(t.watch.count, 1);
    assert.equal(t.watch.silentSince('10.0.0.3'), t.clock.now());
    assert.deepEqual(t.logger.messages('warn'), [
      'sender web-3 (10.0.0.3) silent for 15m: its logs no longer reach fleetban',
    ]);
    assert.equal(t.alerts.length, 1);
    assert.equal(t.alerts[0]?.kind, 'silent');
    assert.deepEqual(
      t.alerts[0].changes.map((c) => [c.address, c.name]),
      [['10.0.0.3', 'web-3']],
    );
    for (let i = 0; i < 10; i++) {
      t.clock.advance(5 * MIN);
      t.watch.check();
    }
    assert.equal(t.logger.messages('warn').length, 1, 'still one line after 50 more minutes');
    assert.equal(t.alerts.length, 1, 'still one alert');
    assert.deepEqual(
      t.watch.report().senders.map((s) => s.address),
      ['10.0.0.3'],
    );
  });

  it('clears a silent sender when it speaks again: one info line, one recovery alert', () => {
    const t = setup();
    t.speak('10.0.0.3');
    t.clock.advance(20 * MIN);
    t.watch.check();
    t.speak('10.0.0.3');
    t.watch.check();
    assert.equal(t.watch.count, 0);
    assert.equal(t.watch.silentSince('10.0.0.3'), null);
    assert.deepEqual(t.logger.messages('info'), [
      'sender web-3 (10.0.0.3) speaks again after 20m of silence',
    ]);
    assert.deepEqual(
      t.alerts.map((a) => a.kind),
      ['silent', 'back'],
    );
    t.watch.check();
    assert.equal(t.alerts.length, 2, 'no repeat');
    // Silent again later: flagged again, once.
    t.clock.advance(15 * MIN);
    t.watch.check();
    t.watch.check();
    assert.deepEqual(
      t.alerts.map((a) => a.kind),
      ['silent', 'back', 'silent'],
    );
  });

  it('never flags a sender it never heard a message from (refused, or no message yet)', () => {
    const t = setup();
    t.table.touch('198.51.100.9', t.clock.now()).dropped++; // outside allowedSenders
    t.clock.advance(60 * MIN);
    t.watch.check();
    assert.equal(t.watch.count, 0);
    assert.equal(t.alerts.length, 0);
    assert.deepEqual(t.logger.entries, []);
  });

  it('senders that fall silent together make one alert; bare addresses without a bound name', () => {
    const t = setup();
    t.speak('10.0.0.1');
    t.speak('10.0.0.2');
    t.clock.advance(10 * MIN);
    t.speak('10.0.0.4');
    t.clock.advance(5 * MIN);
    t.watch.check();
    assert.equal(t.alerts.length, 1);
    assert.deepEqual(
      t.alerts[0]?.changes.map((c) => c.address),
      ['10.0.0.1', '10.0.0.2'],
    );
    assert.deepEqual(t.logger.messages('warn'), [
      'sender 10.0.0.1 silent for 15m: its logs no longer reach fleetban',
      'sender 10.0.0.2 silent for 15m: its logs no longer reach fleetban',
    ]);
  });

  it('a silent sender forgotten by the table capacity stops being flagged, with no recovery mail', () => {
    const t = setup({ capacity: 2 });
    t.speak('10.0.0.1');
    t.clock.advance(15 * MIN);
    t.watch.check();
    assert.equal(t.watch.count, 1);
    t.speak('10.0.0.2');
    t.clock.advance(2000);
    t.speak('10.0.0.5'); // evicts 10.0.0.1, the least recently seen
    assert.equal(t.table.get('10.0.0.1'), undefined);
    t.watch.check();
    assert.equal(t.watch.count, 0);
    assert.deepEqual(
      t.alerts.map((a) => a.kind),
      ['silent'],
    );
    assert.match(t.logger.messages('info')[0] ?? '', /10\.0\.0\.1 is no longer tracked/);
  });

  it('silentAfter 0 is off: the watch refuses it, and the stand-in reports it off', () => {
    assert.throws(
      () =>
        new SilentSenders(
          { senders: new SenderTable(), clock: new ManualClock(), logger: recordingLogger() },
          0,
        ),
      /silentAfterMs must be a positive number, got 0/,
    );
    assert.deepEqual(silentWatchOff.report(), { enabled: false, silentAfterSec: 0, senders: [] });
    assert.equal(silentWatchOff.silentSince(), null);
  });

  it('checks a quarter of silentAfter apart, between 100 ms and 30 s', () => {
    assert.equal(silentCheckIntervalMs(15 * MIN), 30_000);
    assert.equal(silentCheckIntervalMs(2000), 500);
    assert.equal(silentCheckIntervalMs(100), 100);
  });
});

describe('silent-sender mail', () => {
  const line = {
    address: '10.0.0.3',
    name: 'web-3',
    lastSeen: Date.UTC(2026, 0, 1, 8),
    flaggedAt: Date.UTC(2026, 0, 1, 8, 15),
  };

  it('names the sender, its last line and what to check', () => {
    const m = renderSilentSenders('silent', [line], 15 * MIN, CTX);
    assert.equal(m.subject, '[fleetban] sender web-3 (10.0.0.3) silent for 15m');
    assert.match(m.text, /no log line for 15m \(ingest\.silentAfter\)/);
    assert.match(m.text, /web-3 \(10\.0\.0\.3\) +last line 2026-01-01 08:00:00 UTC/);
    assert.match(m.text, /stopped rsyslog/);
    assert.match(m.html, /<li>web-3 \(10\.0\.0\.3\): last line/);
  });

  it('a recovery and a group say so in the subject', () => {
    const back = renderSilentSenders('back', [line], 15 * MIN, CTX);
    assert.equal(back.subject, '[fleetban] sender web-3 (10.0.0.3) sending again');
    const two = renderSilentSenders(
      'silent',
      [line, { ...line, address: '10.0.0.4', name: '' }],
      2000,
      CTX,
    );
    assert.equal(two.subject, '[fleetban] 2 senders silent for 2s');
    assert.match(two.text, /^10\.0\.0\.4 +last line/m);
  });
});
