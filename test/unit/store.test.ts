// The ban store: the shared contract against both stores, then what only the LevelDB store promises.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Level } from 'level';
import { ErrorCode, isFleetbanError } from '../../src/core/errors.js';
import type { Ban } from '../../src/core/types.js';
import { ActiveBans } from '../../src/store/active-bans.js';
import { expiryKey } from '../../src/store/codec.js';
import { LevelBanStore } from '../../src/store/level-store.js';
import { MemoryBanStore } from '../../src/store/memory-store.js';
import { decodeSnapshot, encodeSnapshot } from '../../src/store/snapshot.js';
import { heldBan, newBan, storeContract, T0 } from './store-contract.js';

const CHILD = fileURLToPath(new URL('./store-child.js', import.meta.url));

function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'fleetban-store-'));
}

storeContract('MemoryBanStore', (options) =>
  Promise.resolve({ store: new MemoryBanStore(options), cleanup: () => Promise.resolve() }),
);

storeContract('LevelBanStore', async (options) => {
  const dir = await tempDir();
  return {
    store: new LevelBanStore(join(dir, 'db'), options),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

/** Starts the child script; its stdout lines are its signals (readiness, acknowledged bans). */
function startChild(args: string[]): {
  child: ChildProcessByStdio<Writable, Readable, null>;
  lines: AsyncIterableIterator<string>;
} {
  const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const rl = createInterface({ input: child.stdout });
  return { child, lines: rl[Symbol.asyncIterator]() };
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
}

describe('LevelBanStore', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir();
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('merges concurrent calls into far fewer batches (group commit)', async () => {
    const store = new LevelBanStore(join(dir, 'group'));
    await store.open();
    try {
      const n = 5000;
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) => store.ban([newBan(`10.2.${i >> 8}.${i & 255}`)])),
      );
      assert.equal(new Set(results.map((r) => r[0]?.seq)).size, n);
      // Calls that arrive while a batch is being written join the next one.
      const first = store.ban([newBan('192.0.2.1')]);
      const more = Array.from({ length: 100 }, (_, i) => store.ban([newBan(`192.0.3.${i}`)]));
      await Promise.all([first, ...more]);
      const { batchesWritten, lastSeq } = store.stats();
      assert.equal(lastSeq, n + 101);
      assert.ok(batchesWritten <= 10, `${n + 101} calls took ${batchesWritten} batches`);
    } finally {
      await store.close();
    }
  });

  it('restores bans, details, history, feed and sequence after a restart', async () => {
    const path = join(dir, 'restart');
    const first = new LevelBanStore(path, { sync: true });
    await first.open();
    await first.ban([
      newBan('192.0.2.1', 10),
      newBan('192.0.2.2', null),
      newBan('2001:db8::/64', 30, { attacker: '2001:db8::1', reason: 'é ✓' }),
    ]);
    await first.ban([newBan('192.0.2.1', 90, { banCount: 2, jail: 'recidive' })]);
    await first.unban([{ target: '192.0.2.2', at: T0 + 1000, reason: 'manual' }]);
    const before = {
      active: [...first.active()],
      feed: await first.changesSince(0, 100),
      history: await first.history('192.0.2.1'),
    };
    await first.close();

    const second = new LevelBanStore(path);
    await second.open();
    let indexed: string[];
    try {
      const byTarget = (a: { target: string }, b: { target: string }): number =>
        a.target.localeCompare(b.target);
      assert.deepEqual([...second.active()].sort(byTarget), before.active.sort(byTarget));
      assert.equal(second.get('2001:db8::/64')?.reason, 'é ✓');
      assert.deepEqual(await second.changesSince(0, 100), before.feed);
      assert.deepEqual(await second.history('192.0.2.1'), before.history);
      assert.equal((await second.details('2001:db8::/64'))?.lines.length, 1);
      assert.equal(second.nextExpiry(), T0 + 30 * 60_000);
      assert.deepEqual(second.stats().lastSeq, 5);
      const [next] = await second.ban([newBan('198.51.100.1')]);
      assert.equal(next?.seq, 6);
      indexed = [...second.active()].flatMap((b) =>
        b.end === null ? [] : [expiryKey(b.end, b.target)],
      );
    } finally {
      await second.close();
    }

    // The expiry index on disk holds exactly the active, non-permanent bans, in expiry order.
    const raw = new Level<string, string>(path);
    const expiry = await raw.sublevel('expiry').keys().all();
    await raw.close();
    assert.equal(expiry.length, 3);
    assert.deepEqual(expiry, indexed.sort());
    assert.ok(expiry[0]?.endsWith(' 198.51.100.1'));
  });

  it('restores held bans after a restart, and forgets the dropped ones', async () => {
    const path = join(dir, 'held');
    const first = new LevelBanStore(path);
    await first.open();
    await first.hold([heldBan('192.0.2.1', 1), heldBan('192.0.2.2', 2, 'fleet')]);
    await first.hold([heldBan('192.0.2.3', 3)]);
    await first.dropHeld(['192.0.2.2']);
    const before = first.held();
    await first.close();

    const second = new LevelBanStore(path);
    await second.open();
    try {
      assert.deepEqual(second.held(), before);
      assert.deepEqual(
        second.held().map((h) => h.target),
        ['192.0.2.1', '192.0.2.3'],
      );
      assert.equal(second.heldSize(), 2);
      assert.equal(second.stats().activeBans, 0);
    } finally {
      await second.close();
    }
  });

  describe('active-ban snapshot', () => {
    const SNAPSHOT = 'fleetban-active.snapshot';
    const sorted = (store: LevelBanStore) =>
      [...store.active()].sort((a, b) => a.target.localeCompare(b.target));

    /** Opens the store at `path`, runs `work`, closes it (writing the snapshot). */
    async function session(
      path: string,
      work: (s: LevelBanStore) => unknown,
      options: { feedRetention?: number } = {},
    ): Promise<Ban[]> {
      const store = new LevelBanStore(path, options);
      await store.open();
      try {
        await work(store);
        return sorted(store);
      } finally {
        await store.close();
      }
    }

    it('is written at close and gives the same active set as a scan', async () => {
      const path = join(dir, 'snapshot-same');
      const wanted = await session(path, (s) =>
        s.ban([
          newBan('192.0.2.1', 10),
          newBan('192.0.2.2', null),
          newBan('2001:db8::/64', 30, { attacker: '2001:db8::1', reason: 'é ✓' }),
        ]),
      );
      const bytes = await readFile(join(path, SNAPSHOT));
      assert.equal(decodeSnapshot(bytes)?.lastSeq, 3);
      assert.equal(decodeSnapshot(bytes)?.count, 3);
      assert.deepEqual(await session(path, () => undefined), wanted);
    });

    it('keeps texts that are not ASCII', async () => {
      const path = join(dir, 'snapshot-texts');
      const wanted = await session(path, (s) =>
        s.ban([newBan('192.0.2.1'), newBan('192.0.2.2', 10, { attacker: 'hôte.example' })]),
      );
      assert.equal(decodeSnapshot(await readFile(join(path, SNAPSHOT)))?.count, 2);
      assert.deepEqual(await session(path, () => undefined), wanted);
    });

    it('costs only speed when it cannot be written or read (the next open scans)', async () => {
      const path = join(dir, 'snapshot-unwritable');
      await mkdir(join(path, SNAPSHOT), { recursive: true });
      const wanted = await session(path, (s) => s.ban([newBan('192.0.2.1'), newBan('192.0.2.2')]));
      assert.equal((await stat(join(path, SNAPSHOT))).isDirectory(), true);
      assert.deepEqual(await session(path, () => undefined), wanted);
    });

    it('is brought up to date from the feed when changes were written after it', async () => {
      const path = join(dir, 'snapshot-replay');
      await session(path, (s) => s.ban([newBan('192.0.2.1'), newBan('192.0.2.2')]));
      const old = await readFile(join(path, SNAPSHOT));
      const wanted = await session(path, async (s) => {
        await s.ban([newBan('192.0.2.3'), newBan('192.0.2.2', 60, { banCount: 2 })]);
        await s.unban([{ target: '192.0.2.1', at: T0 + 5, reason: 'manual' }]);
      });
      // As after a kill -9: the snapshot on disk is older than the store.
      await writeFile(join(path, SNAPSHOT), old);
      const got = await session(path, (s) => {
        assert.equal(s.stats().lastSeq, 5);
        assert.equal(s.nextExpiry(), T0 + 10 * 60_000);
      });
      assert.deepEqual(got, wanted);
      assert.deepEqual(
        got.map((b) => [b.target, b.banCount]),
        [
          ['192.0.2.2', 2],
          ['192.0.2.3', 1],
        ],
      );
    });

    it('is ignored when damaged, newer than the store, or older than the feed reaches', async () => {
      const path = join(dir, 'snapshot-ignored');
      const wanted = await session(path, (s) => s.ban([newBan('192.0.2.1'), newBan('192.0.2.2')]));
      const good = await readFile(join(path, SNAPSHOT));
      const damaged = Buffer.from(good);
      damaged[damaged.length - 3] = (damaged[damaged.length - 3] ?? 0) ^ 0xff;
      const newer = encodeSnapshot(99, new ActiveBans().columns());
      for (const bytes of [damaged, newer, good.subarray(0, good.length - 1)]) {
        await writeFile(join(path, SNAPSHOT), bytes);
        assert.deepEqual(await session(path, () => undefined), wanted);
      }
      // The feed keeps 2 entries; a snapshot at seq 2 cannot be brought to seq 6 from it.
      await writeFile(join(path, SNAPSHOT), good);
      const later = await session(
        path,
        async (s) => {
          for (let i = 3; i <= 6; i++) await s.ban([newBan(`192.0.2.${i}`)]);
        },
        { feedRetention: 2 },
      );
      await writeFile(join(path, SNAPSHOT), good);
      assert.equal((await session(path, () => undefined, { feedRetention: 2 })).length, 6);
      assert.deepEqual(await session(path, () => undefined), later);
    });
  });

  it('closes cleanly when close() is called while open() is still running', async () => {
    const path = join(dir, 'close-during-open');
    const store = new LevelBanStore(path);
    const opening = store.open();
    await store.close();
    await opening;
    await assert.rejects(store.ban([newBan('192.0.2.1')]), (e: unknown) =>
      isFleetbanError(e, ErrorCode.STORE_CLOSED),
    );
    // The lock is released: another instance can open the same folder.
    const again = new LevelBanStore(path);
    await again.open();
    await again.close();
  });

  it('trims the feed when reopened with a smaller retention', async () => {
    const path = join(dir, 'retention');
    const a = new LevelBanStore(path);
    await a.open();
    for (let i = 0; i < 10; i++) await a.ban([newBan(`192.0.2.${i}`)]);
    await a.close();
    const b = new LevelBanStore(path, { feedRetention: 4 });
    await b.open();
    try {
      assert.equal(await b.changesSince(5, 100), null);
      assert.deepEqual(
        (await b.changesSince(6, 100))?.map((c) => c.seq),
        [7, 8, 9, 10],
      );
    } finally {
      await b.close();
    }
  });

  it('loses no acknowledged ban when the process is killed with SIGKILL', async () => {
    const path = join(dir, 'killed');
    const { child, lines } = startChild(['write', path]);
    const acked: string[] = [];
    for await (const line of lines) {
      acked.push(line.slice('acked '.length));
      if (acked.length === 2000) {
        child.kill('SIGKILL');
        break;
      }
    }
    await exited(child);
    assert.equal(
      child.signalCode,
      'SIGKILL',
      'the writer must still have been writing when killed',
    );
    assert.equal(acked.length, 2000);

    const store = new LevelBanStore(path);
    await store.open();
    try {
      const missing = acked.filter((t) => store.get(t) === undefined);
      assert.deepEqual(missing, []);
      const { lastSeq, activeBans } = store.stats();
      assert.ok(lastSeq >= acked.length);
      assert.equal(activeBans, lastSeq);
      const feed = await store.changesSince(0, lastSeq + 1);
      assert.deepEqual(
        feed?.map((c) => c.seq),
        Array.from({ length: lastSeq }, (_, i) => i + 1),
      );
    } finally {
      await store.close();
    }
  });

  it('fails with STORE_OPEN_FAILED, naming the path, when another process holds the store', async () => {
    const path = join(dir, 'locked');
    const { child, lines } = startChild(['hold', path]);
    try {
      const first = await lines.next();
      assert.equal(first.value, 'ready');
      const store = new LevelBanStore(path);
      await assert.rejects(store.open(), (e: unknown) => {
        assert.ok(isFleetbanError(e, ErrorCode.STORE_OPEN_FAILED));
        assert.ok(e.message.includes(path), e.message);
        assert.match(e.message, /lock/i);
        return true;
      });
      await store.close();
    } finally {
      child.stdin.end();
      await exited(child);
    }
    assert.equal(child.exitCode, 0);
  });

  it('fails with STORE_OPEN_FAILED when the folder cannot be created', async () => {
    const file = join(dir, 'not-a-folder');
    await writeFile(file, 'x');
    const store = new LevelBanStore(join(file, 'db'));
    await assert.rejects(
      store.open(),
      (e: unknown) => isFleetbanError(e, ErrorCode.STORE_OPEN_FAILED) && e.message.includes(file),
    );
  });
});
