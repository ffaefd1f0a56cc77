// AgentStream on a store whose view was rebuilt: a change that skips sequence numbers ends the stream for a resync.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { test } from 'node:test';
import type { Change } from '../../src/core/types.js';
import { AgentStream, StreamEnd } from '../../src/distribute/agent-stream.js';
import { MemoryBanStore } from '../../src/store/memory-store.js';
import type { ChangeListener } from '../../src/store/store.js';
import { newBan } from './store-contract.js';

/** Just enough of a ServerResponse: it records what is written and how it ended. */
class RecordingResponse extends EventEmitter {
  readonly lines: unknown[] = [];
  writableNeedDrain = false;
  ended = false;
  writeHead(): this {
    return this;
  }
  write(chunk: string): boolean {
    for (const line of chunk.split('\n')) if (line !== '') this.lines.push(JSON.parse(line));
    return true;
  }
  end(): this {
    this.ended = true;
    this.emit('finish');
    return this;
  }
  destroy(): this {
    this.ended = true;
    return this;
  }
}

test('a change that skips sequence numbers ends a live stream with resync, after the gapless ones went out', async () => {
  const store = new MemoryBanStore();
  await store.open();
  await store.ban([newBan('192.0.2.1')]);
  const listeners: ChangeListener[] = [];
  // The store's own feed, plus a hook to emit what a rebuilt view would.
  const seen = Object.assign(Object.create(store) as MemoryBanStore, {
    subscribe: (l: ChangeListener) => {
      listeners.push(l);
      return () => undefined;
    },
    stats: () => store.stats(),
    active: () => store.active(),
    changesSince: (after: number, limit: number) => store.changesSince(after, limit),
  });
  const res = new RecordingResponse();
  const ends: StreamEnd[] = [];
  const stream = new AgentStream({
    store: seen,
    res: res as unknown as ServerResponse,
    since: null,
    maxQueued: 100,
    pingIntervalMs: 60_000,
    onEnd: (reason) => ends.push(reason),
  });
  await stream.run();
  const ban = (seq: number, target: string): Change => ({
    seq,
    kind: 'ban',
    ban: { ...newBan(target), seq },
  });
  for (const l of listeners) l([ban(2, '192.0.2.2')]);
  assert.equal(stream.lastSent, 2);
  assert.deepEqual(ends, []);
  for (const l of listeners) l([ban(7, '192.0.2.7')]);
  assert.deepEqual(ends, [StreamEnd.RESYNC]);
  assert.equal(stream.lastSent, 2, 'nothing past the gap went out');
  assert.equal(res.ended, true);
  await store.close();
});
