// SenderTable: canonical peer addresses, bounded size with least-recently-seen eviction, snapshots.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { SenderTable } from '../../src/ingest/senders.js';

describe('SenderTable', () => {
  it('keeps one record per canonical address, IPv4-mapped IPv6 reported as IPv4', () => {
    const t = new SenderTable();
    const a = t.touch('::ffff:192.0.2.7', 1000);
    const b = t.touch('192.0.2.7', 2000);
    const c = t.touch('2001:DB8:0:0::1', 3000);
    assert.equal(a, b);
    assert.equal(a.address, '192.0.2.7');
    assert.equal(a.firstSeen, 1000);
    assert.equal(a.lastSeen, 2000);
    assert.equal(c.address, '2001:db8::1');
    assert.equal(t.size, 2);
  });

  it('evicts the least recently seen sender at capacity and counts it', () => {
    const clock = new ManualClock(0);
    const t = new SenderTable({ capacity: 3 });
    for (const peer of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) {
      t.touch(peer, clock.now());
      clock.advance(5000);
    }
    t.touch('10.0.0.1', clock.now()); // now the most recent: .2 is the oldest
    clock.advance(5000);
    t.touch('10.0.0.4', clock.now());
    assert.equal(t.size, 3);
    assert.equal(t.evicted, 1);
    assert.equal(t.get('10.0.0.2'), undefined);
    assert.deepEqual(
      t.snapshot().map((s) => s.address),
      ['10.0.0.4', '10.0.0.1', '10.0.0.3'],
    );
  });

  it('snapshots are copies: later counting does not change them', () => {
    const t = new SenderTable();
    const r = t.touch('198.51.100.1', 0);
    r.messages = 5;
    r.transports.tcp = 5;
    const snap = t.snapshot();
    r.messages++;
    r.transports.tcp++;
    const first = snap[0];
    assert.ok(first);
    assert.equal(first.messages, 5);
    assert.equal(first.transports.tcp, 5);
  });

  it('rejects a capacity that is not a positive integer', () => {
    assert.throws(() => new SenderTable({ capacity: 0 }), TypeError);
  });
});
