// Connection slots: per-sender cap, total cap, and which waiting connection gives way to a newcomer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConnectionSlots, type Admission, type Slot } from '../../src/ingest/slots.js';

function admitted<C>(a: Admission<C>): { slot: Slot<C>; evicted: C | null } {
  assert.ok(a.admitted, `admitted, not refused (${a.admitted ? '' : a.reason})`);
  return a;
}

describe('ConnectionSlots', () => {
  it('refuses a sender at its cap, and admits it again once one of its slots is released', () => {
    const slots = new ConnectionSlots<string>({ maxConnections: 10, maxConnectionsPerSender: 2 });
    const first = admitted(slots.admit('a1', '192.0.2.1', false));
    admitted(slots.admit('a2', '192.0.2.1', false));
    assert.deepEqual(slots.admit('a3', '192.0.2.1', false), {
      admitted: false,
      reason: 'perSender',
    });
    admitted(slots.admit('b1', '192.0.2.2', false));
    slots.release(first.slot);
    slots.release(first.slot);
    assert.equal(slots.size, 2);
    admitted(slots.admit('a3', '192.0.2.1', false));
  });

  it('when full, evicts the oldest connection still waiting for a frame, never a framed one', () => {
    const slots = new ConnectionSlots<string>({ maxConnections: 3, maxConnectionsPerSender: 3 });
    const framed = admitted(slots.admit('framed', '192.0.2.1', false));
    slots.framed(framed.slot);
    admitted(slots.admit('idle1', '192.0.2.2', false));
    admitted(slots.admit('idle2', '192.0.2.3', false));
    assert.equal(admitted(slots.admit('new1', '192.0.2.4', false)).evicted, 'idle1');
    assert.equal(admitted(slots.admit('new2', '192.0.2.5', false)).evicted, 'idle2');
    assert.equal(admitted(slots.admit('new3', '192.0.2.6', false)).evicted, 'new1');
    assert.equal(slots.size, 3);
    assert.equal(slots.waiting, 2);
  });

  it('refuses when every slot holds a framed connection', () => {
    const slots = new ConnectionSlots<string>({ maxConnections: 2, maxConnectionsPerSender: 2 });
    for (const c of ['x', 'y']) slots.framed(admitted(slots.admit(c, '192.0.2.1', false)).slot);
    assert.deepEqual(slots.admit('z', '192.0.2.9', true), { admitted: false, reason: 'full' });
  });

  it("lets a stranger evict only strangers, and a known sender a known sender's waiting slot", () => {
    const slots = new ConnectionSlots<string>({ maxConnections: 2, maxConnectionsPerSender: 2 });
    const known1 = admitted(slots.admit('known1', '192.0.2.1', true));
    admitted(slots.admit('known2', '192.0.2.1', true));
    assert.deepEqual(slots.admit('stranger', '203.0.113.1', false), {
      admitted: false,
      reason: 'full',
    });
    assert.equal(admitted(slots.admit('known3', '192.0.2.2', true)).evicted, 'known1');
    // An evicted slot is released at once; its owner's later release changes nothing.
    slots.release(known1.slot);
    assert.equal(slots.size, 2);
    admitted(slots.admit('known4', '192.0.2.1', true));
  });

  it('evicts strangers before known senders', () => {
    const slots = new ConnectionSlots<string>({ maxConnections: 2, maxConnectionsPerSender: 2 });
    admitted(slots.admit('known', '192.0.2.1', true));
    admitted(slots.admit('stranger', '203.0.113.1', false));
    assert.equal(admitted(slots.admit('known2', '192.0.2.2', true)).evicted, 'stranger');
  });
});
