// The column-kept active set against a plain map of ban objects, through random bans, replacements and lifts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Ban, Change } from '../../src/core/types.js';
import { ActiveBans } from '../../src/store/active-bans.js';
import type { BanColumns } from '../../src/store/ban-columns.js';
import { decodeSnapshot, encodeSnapshot } from '../../src/store/snapshot.js';

const T0 = Date.UTC(2026, 0, 1);

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function ban(rnd: () => number, target: string, seq: number): Ban {
  const v6 = target.includes(':');
  const pick = <T>(values: readonly T[]): T => values[Math.floor(rnd() * values.length)] as T;
  const attacker = pick([target, '', v6 ? '2001:db8::7' : '198.51.100.7', 'hôte.example']);
  return {
    target,
    family: v6 ? 6 : 4,
    jail: pick(['sshd', 'postfix', 'dovecot']),
    origin: pick(['jail', 'manual'] as const),
    attacker,
    start: T0 + seq,
    end: rnd() < 0.1 ? null : T0 + Math.floor(rnd() * 1000) * 1000,
    banCount: 1 + Math.floor(rnd() * 4),
    failures: Math.floor(rnd() * 30),
    reason: pick(['5 failures', 'banned by an administrator', `note ${seq}`, 'é ✓']),
    seq,
  };
}

const byTarget = (a: Ban, b: Ban): number => (a.target < b.target ? -1 : 1);

/** Every observable of `bans` matches the model. */
function assertSame(bans: ActiveBans, model: Map<string, Ban>, targets: readonly string[]): void {
  assert.equal(bans.size, model.size);
  assert.deepEqual([...bans.values()].sort(byTarget), [...model.values()].sort(byTarget));
  for (const t of targets) assert.deepEqual(bans.get(t), model.get(t), t);
  const ends = [...model.values()].flatMap((b) => (b.end === null ? [] : [b.end]));
  assert.equal(bans.nextExpiry(), ends.length === 0 ? null : Math.min(...ends));
  for (const now of [T0, T0 + 300_000, T0 + 2_000_000]) {
    const due = bans.due(now);
    const wanted = [...model.values()].filter((b) => b.end !== null && b.end <= now);
    assert.deepEqual([...due].sort(byTarget), wanted.sort(byTarget));
    assert.deepEqual(
      due.map((b) => b.end),
      wanted.map((b) => b.end).sort((x, y) => (x ?? 0) - (y ?? 0)),
    );
  }
}

describe('ActiveBans', () => {
  it('answers as a map of ban objects would, through bans, replacements and lifts', () => {
    const rnd = random(7);
    // Few targets, many changes: slots are freed and reused, texts released and renumbered.
    const targets = [
      ...Array.from({ length: 300 }, (_, i) => `10.0.${i >> 8}.${i & 255}`),
      ...Array.from({ length: 100 }, (_, i) => `2001:db8:${i.toString(16)}::/64`),
      'hôte-ünïcode',
      '',
    ];
    const model = new Map<string, Ban>();
    let bans = new ActiveBans();
    let seq = 0;
    // Loaded in two chunks first, as a scan of the LevelDB store does.
    for (const chunk of [targets.slice(0, 150), targets.slice(150, 250)]) {
      const loaded = chunk.map((t) => ban(rnd, t, ++seq));
      bans.load(loaded);
      for (const b of loaded) model.set(b.target, b);
    }
    assertSame(bans, model, targets);
    for (let round = 0; round < 40; round++) {
      const changes: Change[] = [];
      for (let i = 0; i < 200; i++) {
        const target = targets[Math.floor(rnd() * targets.length)] ?? '';
        seq++;
        if (rnd() < 0.6) {
          const b = ban(rnd, target, seq);
          changes.push({ seq, kind: 'ban', ban: b });
          model.set(target, b);
        } else {
          changes.push({ seq, kind: 'unban', target, jail: 'sshd', at: T0, reason: 'manual' });
          model.delete(target);
        }
      }
      bans.apply(changes);
      assertSame(bans, model, targets);
      // Every few rounds, go through the snapshot, as a restart would.
      if (round % 5 === 4) {
        const decoded = decodeSnapshot(encodeSnapshot(seq, bans.columns()));
        assert.ok(decoded !== null);
        assert.equal(decoded.lastSeq, seq);
        const restored = ActiveBans.fromColumns(decoded.columns);
        assert.ok(restored !== null);
        bans = restored;
        assertSame(bans, model, targets);
      }
    }
  });

  it('loads 200,000 bans from a snapshot and finds each by its target', () => {
    const n = 200_000;
    const source = new ActiveBans();
    const loaded: Ban[] = [];
    for (let i = 0; i < n; i++) {
      const target = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      loaded.push({
        target,
        family: 4,
        jail: 'sshd',
        origin: 'jail',
        attacker: target,
        start: T0,
        end: i % 20 === 0 ? null : T0 + (n - i) * 1000,
        banCount: 1,
        failures: 5,
        reason: '5 failures',
        seq: i + 1,
      });
    }
    source.load(loaded);
    const decoded = decodeSnapshot(encodeSnapshot(n, source.columns()));
    assert.ok(decoded !== null);
    assert.equal(decoded.count, n);
    const bans = ActiveBans.fromColumns(decoded.columns);
    assert.ok(bans !== null);
    assert.equal(bans.size, n);
    for (let i = 0; i < n; i += 997) assert.deepEqual(bans.get(loaded[i]?.target ?? ''), loaded[i]);
    assert.equal(bans.get('10.255.255.255'), undefined);
    assert.equal(bans.nextExpiry(), T0 + 1000);
    assert.deepEqual(
      bans.due(T0 + 2000).map((b) => b.target),
      ['10.3.13.63', '10.3.13.62'],
    );
  });

  it('refuses columns that do not hold together (the store then scans)', () => {
    const rnd = random(3);
    const source = new ActiveBans();
    source.apply(
      ['192.0.2.1', '192.0.2.2', '2001:db8::/64', '192.0.2.4'].map((t, i) => ({
        seq: i + 1,
        kind: 'ban' as const,
        // The last one permanent, the others ending.
        ban: { ...ban(rnd, t, i + 1), end: i === 3 ? null : T0 + (i + 1) * 1000 },
      })),
    );
    source.apply([
      { seq: 4, kind: 'unban', target: '192.0.2.2', jail: 'sshd', at: T0, reason: 'x' },
    ]);
    const fresh = (): BanColumns => {
      const decoded = decodeSnapshot(encodeSnapshot(5, source.columns()));
      assert.ok(decoded !== null);
      return decoded.columns;
    };
    assert.equal(ActiveBans.fromColumns(fresh())?.size, 3);
    const broken: ((c: BanColumns) => void)[] = [
      (c) => (c.family[0] = 5),
      (c) => (c.jail[0] = c.texts.length),
      (c) => (c.used[0] = 2),
      // The index names a free slot.
      (c) => (c.used[2] = 0),
      (c) => c.index.fill(0),
      (c) => (c.heap.slots[0] = c.used.length),
      // A heap entry whose end is not its ban's, for a permanent ban, or missing for a ban that ends.
      (c) => (c.heap.ends[0] = (c.heap.ends[0] ?? 0) - 1),
      (c) => (c.end[c.heap.slots[0] ?? 0] = NaN),
      (c) => (c.end[3] = T0 + 9000),
    ];
    for (const breakIt of broken) {
      const c = fresh();
      breakIt(c);
      assert.equal(ActiveBans.fromColumns(c), null, breakIt.toString());
    }
  });
});
