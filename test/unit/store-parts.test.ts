// The store's building blocks under load: text columns growing and packing, coalesced history reads, group commit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CoalescedReads } from '../../src/store/coalesced-reads.js';
import { GroupCommit } from '../../src/store/group-commit.js';
import { TextColumn, hashText } from '../../src/store/text-column.js';

describe('TextColumn', () => {
  it('keeps every text through growth from a full packed column', () => {
    const texts = Array.from({ length: 1000 }, (_, i) => `198.51.${i >> 8}.${i & 255}`);
    const bytes = Buffer.from(texts.join(''));
    const lengths = Uint32Array.from(texts, (t) => Buffer.byteLength(t));
    const column = TextColumn.packed(bytes, lengths, 3000);
    // The packed buffer is exactly full: every new text makes room.
    for (let i = 1000; i < 3000; i++) column.set(i, `2001:db8::${i.toString(16)}`);
    column.set(5, 'hôte.example');
    for (let i = 0; i < 3000; i++) {
      const want = i === 5 ? 'hôte.example' : i < 1000 ? texts[i] : `2001:db8::${i.toString(16)}`;
      assert.equal(column.get(i), want, `slot ${i}`);
      const { hash, utf8 } = hashText(want ?? '');
      assert.equal(column.hash(i), hash, `hash of slot ${i}`);
      assert.ok(column.equals(i, want ?? '', utf8), `equals at slot ${i}`);
    }
  });

  it('packs the live texts once replaced ones outweigh them', () => {
    const column = new TextColumn(4, 64);
    // Rewriting one slot over and over leaves garbage behind: the buffer must not grow for ever.
    for (let i = 0; i < 10_000; i++) column.set(i % 4, `text-${i}`);
    for (let slot = 0; slot < 4; slot++) assert.equal(column.get(slot), `text-${9996 + slot}`);
    const { bytes } = column.pack(4);
    assert.equal(bytes.toString(), ['text-9996', 'text-9997', 'text-9998', 'text-9999'].join(''));
    column.clear(1);
    assert.equal(column.get(1), '');
  });
});

describe('CoalescedReads', () => {
  it('sends the reads of one turn as one multi-get, a repeated key once', async () => {
    const calls: string[][] = [];
    const reads = new CoalescedReads<string>((keys) => {
      calls.push(keys);
      return Promise.resolve(
        keys.map((k) => (k.startsWith('known') ? `history of ${k}` : undefined)),
      );
    });
    const results = await Promise.all([
      reads.get('known-a'),
      reads.get('b'),
      reads.get('known-a'),
      reads.get('known-c'),
    ]);
    assert.deepEqual(results, [
      'history of known-a',
      undefined,
      'history of known-a',
      'history of known-c',
    ]);
    assert.deepEqual(calls, [['known-a', 'b', 'known-c']]);
    // A read in a later turn is a new call.
    assert.equal(await reads.get('known-d'), 'history of known-d');
    assert.equal(calls.length, 2);
  });

  it('fails every read of a failed multi-get, and the next turn reads again', async () => {
    let fail = true;
    const reads = new CoalescedReads<string>((keys) =>
      fail ? Promise.reject(new Error('disk gone')) : Promise.resolve(keys.map(() => 'ok')),
    );
    const outcomes = await Promise.allSettled([reads.get('a'), reads.get('b')]);
    assert.deepEqual(
      outcomes.map((o) => (o.status === 'rejected' ? (o.reason as Error).message : o.value)),
      ['disk gone', 'disk gone'],
    );
    fail = false;
    assert.equal(await reads.get('a'), 'ok');
  });
});

describe('GroupCommit', () => {
  it('writes a burst in groups of at most maxGroup, in order, each caller getting its own result', async () => {
    const groups: number[][] = [];
    const writer = new GroupCommit<number, string>(async (items) => {
      groups.push([...items]);
      await new Promise((resolve) => setImmediate(resolve));
      return items.map((i) => `done ${i}`);
    }, 4);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => writer.submit(i)));
    assert.deepEqual(
      results,
      Array.from({ length: 10 }, (_, i) => `done ${i}`),
    );
    assert.deepEqual(groups, [
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
  });

  it('fails only the group whose write failed, and runs exclusive jobs between groups', async () => {
    const order: string[] = [];
    const writer = new GroupCommit<number, number>((items) => {
      order.push(`write ${items.join(',')}`);
      return items.includes(2)
        ? Promise.reject(new Error('disk full'))
        : Promise.resolve([...items]);
    }, 2);
    const first = [writer.submit(1), writer.submit(2)];
    const job = writer.exclusive(() => {
      order.push('job');
      return Promise.resolve('job done');
    });
    const later = writer.submit(3);
    const settled = await Promise.allSettled([...first, job, later]);
    assert.deepEqual(
      settled.map((o) => (o.status === 'rejected' ? (o.reason as Error).message : o.value)),
      ['disk full', 'disk full', 'job done', 3],
    );
    assert.deepEqual(order, ['write 1,2', 'job', 'write 3']);
  });
});
