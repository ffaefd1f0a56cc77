// Reactions to stored changes: a ban (whoever made it) and an administrator's unban clear the counting, an expiry does not; recidive counts stored bans.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import type { Ban } from '../../src/core/types.js';
import { followBanChanges } from '../../src/server/ban-reactions.js';
import { MemoryBanStore } from '../../src/store/memory-store.js';
import { SEC, T0, banManager } from './server-fixtures.js';

class RecordingEngine {
  readonly forgotten: string[] = [];
  readonly counted: string[] = [];
  forget(target: string, jail?: string, keepBanCounts = false): number {
    assert.equal(jail, undefined, 'every jail forgets');
    assert.equal(keepBanCounts, true, 'the jails that count bans keep counting');
    this.forgotten.push(target);
    return 1;
  }
  processBan(ban: Ban): void {
    this.counted.push(ban.target);
  }
}

const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('the change feed drives the counting: bans and admin unbans clear it, expiries do not', async () => {
  const clock = new ManualClock(T0);
  const store = new MemoryBanStore();
  await store.open();
  const engine = new RecordingEngine();
  let stored = 0;
  const stop = followBanChanges({ store, engine, onBanStored: () => stored++ });
  const { bans } = banManager(store, clock);

  await bans.ban({ target: '203.0.113.7', durationSec: 60 });
  await bans.ban({ target: '198.51.100.0/24', durationSec: 600 });
  assert.deepEqual(engine.forgotten, ['203.0.113.7', '198.51.100.0/24']);
  assert.equal(stored, 2);
  assert.deepEqual(engine.counted, [], 'recidive counts once the write has settled');
  await settled();
  assert.deepEqual(engine.counted, ['203.0.113.7', '198.51.100.0/24']);

  clock.advance(61 * SEC);
  assert.equal(await bans.expireDue(), 1);
  assert.deepEqual(engine.forgotten.length, 2, 'an expiry leaves the counting alone');

  await bans.unban({ target: '198.51.100.0/24' });
  assert.deepEqual(engine.forgotten, ['203.0.113.7', '198.51.100.0/24', '198.51.100.0/24']);
  assert.equal(stored, 2, 'an unban stores no ban');

  stop();
  await bans.ban({ target: '192.0.2.200', durationSec: 60 });
  assert.equal(engine.forgotten.length, 3, 'nothing follows once stopped');
  await store.close();
});
