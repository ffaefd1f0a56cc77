// Stream listeners under attack, over real sockets: slot hogging, idle and trickling connections, TLS clients that never handshake.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CidrSet, parseCidr, type Cidr } from '../../src/core/ip.js';
import type { IngestOptions } from '../../src/ingest/options.js';
import { waitFor, withDeadline } from '../helpers/wait.js';
import {
  closed,
  octet,
  options,
  portOf,
  selfSigned,
  startIngest,
  tempDir,
  write,
  type LogEntry,
  type Running,
} from './ingest-helpers.js';

const cidrs = (...texts: string[]): CidrSet => new CidrSet(texts.map((t) => parseCidr(t) as Cidr));

const tcpOnly = (extra: Partial<IngestOptions> = {}): IngestOptions =>
  options({ tcp: { enabled: true, address: '127.0.0.1', port: 0 }, ...extra });

/** Long enough never to fire within a test: the timer under test is set short on its own. */
const NEVER_MS = 600_000;

/** Connects from `localAddress` (anywhere in 127/8 on Linux), so one test can act as many peers. */
function connectFrom(localAddress: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress }, () => {
      socket.off('error', reject);
      // A refused connection is reset: that is what some of these tests expect to see.
      socket.on('error', () => undefined);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Opens `count` connections from each peer, one after the other, and sends nothing on them. */
async function idleFrom(
  peers: readonly string[],
  count: number,
  port: number,
): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  for (const peer of peers) {
    for (let i = 0; i < count; i++) sockets.push(await connectFrom(peer, port));
  }
  return sockets;
}

/** The summary warnings of one listener: the only warn level entries these tests should see. */
function summaries(r: Running): LogEntry[] {
  return r.log.entries.filter((e) => e.level === 'warn');
}

function counts(e: LogEntry | undefined): Record<string, unknown> {
  assert.ok(e !== undefined, 'a summary warning was logged');
  return (e.obj as { counts: Record<string, unknown> }).counts;
}

const peers = (first: number, n: number): string[] =>
  Array.from({ length: n }, (_, k) => `127.0.0.${first + k}`);

describe('stream listener slots', () => {
  it('serves a legitimate sender while idle connections from many peers hold every slot', async () => {
    const r = await startIngest(
      tcpOnly({ maxConnections: 24, maxConnectionsPerSender: 4, firstFrameTimeoutMs: NEVER_MS }),
    );
    const sockets: net.Socket[] = [];
    try {
      const port = portOf(r.at.tcp);
      sockets.push(...(await idleFrom(peers(2, 6), 4, port)));
      await waitFor(() => r.ingest.connections.tcp === 24, { what: '24 idle connections held' });

      const legit = await connectFrom('127.0.0.1', port);
      sockets.push(legit);
      await write(legit, '<13>sshd[1]: legit line one\n');
      await withDeadline(r.sink.waitFor(1), 5000, 'the legitimate line');

      // The flood goes on from fresh peers: it churns its own waiting connections, never the sender's.
      sockets.push(...(await idleFrom(peers(8, 3), 4, port)));
      await waitFor(() => r.ingest.stats.tcp.connectionsEvicted === 13, {
        what: 'every new idle connection to evict an older idle one',
      });
      await write(legit, '<13>sshd[1]: legit line two\n');
      await withDeadline(r.sink.waitFor(2), 5000, 'the second legitimate line');
      assert.deepEqual(r.sink.texts(), [
        '<13>sshd[1]: legit line one',
        '<13>sshd[1]: legit line two',
      ]);
      assert.ok(r.sink.messages.every((m) => m.sender === '127.0.0.1'));
      const s = r.ingest.stats.tcp;
      assert.equal(s.connectionsOpen, 24);
      assert.equal(s.connectionsRefused, 0);
      assert.equal(s.connectionsTotal, 24 + 1 + 12);
    } finally {
      for (const c of sockets) c.destroy();
      await r.ingest.close();
    }
  });

  it('caps the connections of one allowed peer and refuses peers outside the allowlist at connect', async () => {
    const r = await startIngest(
      tcpOnly({
        maxConnections: 8,
        maxConnectionsPerSender: 3,
        firstFrameTimeoutMs: NEVER_MS,
        allowedSenders: cidrs('127.0.0.1', '127.0.0.2'),
        refusalLogIntervalMs: NEVER_MS,
      }),
    );
    const sockets: net.Socket[] = [];
    try {
      const port = portOf(r.at.tcp);
      // 127.0.0.2 is allowed but hostile: it tries to take all eight slots.
      sockets.push(...(await idleFrom(['127.0.0.2'], 8, port)));
      sockets.push(...(await idleFrom(['127.0.0.3'], 2, port)));
      await waitFor(() => r.ingest.stats.tcp.connectionsRefusedPerSender === 5, {
        what: 'five connections of 127.0.0.2 refused',
      });
      await waitFor(() => r.ingest.stats.tcp.droppedNotAllowed === 2, {
        what: 'both connections of 127.0.0.3 refused',
      });
      const refused = sockets.slice(3);
      await withDeadline(Promise.all(refused.map(closed)), 5000, 'refused sockets closed');
      assert.equal(r.ingest.connections.tcp, 3);

      const legit = await connectFrom('127.0.0.1', port);
      sockets.push(legit);
      await write(legit, octet('<13>legit over octet counting'));
      await withDeadline(r.sink.waitFor(1), 5000, 'the legitimate line');
      assert.deepEqual(r.sink.texts(), ['<13>legit over octet counting']);
      assert.equal(r.ingest.stats.tcp.connectionsEvicted, 0);
      assert.equal(r.senders.get('127.0.0.3')?.dropped, 2);

      await r.ingest.close();
      const warns = summaries(r);
      assert.equal(warns.length, 1, JSON.stringify(warns));
      assert.deepEqual(counts(warns[0]), { notAllowed: 2, perSender: 5 });
      assert.match(warns[0]?.msg ?? '', /7 connections/);
      assert.deepEqual((warns[0]?.obj as { peers: unknown }).peers, {
        '127.0.0.2': 5,
        '127.0.0.3': 2,
      });
    } finally {
      for (const c of sockets) c.destroy();
      await r.ingest.close();
    }
  });

  it('closes a connection that trickles bytes but never completes a frame, and keeps a quiet sender', async () => {
    const r = await startIngest(tcpOnly({ firstFrameTimeoutMs: 500 }));
    const port = portOf(r.at.tcp);
    const quiet = await connectFrom('127.0.0.1', port);
    try {
      await write(quiet, '<13>one line, then silence\n');
      await r.sink.waitFor(1);

      const slow = await connectFrom('127.0.0.2', port);
      void closed(slow);
      // A byte every 20 ms would keep any idle timer from firing; only a deadline can end it.
      for (let i = 0; i < 250 && !slow.closed; i++) {
        slow.write('<');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.ok(slow.closed, 'the trickling connection was closed by the server');
      await waitFor(() => r.ingest.connections.tcp === 1, { what: 'only the quiet sender open' });
      assert.equal(r.ingest.stats.tcp.firstFrameTimeouts, 1);
      assert.equal(r.ingest.stats.tcp.idleTimeouts, 0);
      assert.equal(quiet.closed, false);
      await write(quiet, '<13>still here\n');
      await withDeadline(r.sink.waitFor(2), 5000, 'the quiet sender line');
    } finally {
      quiet.destroy();
      await r.ingest.close();
    }
  });
});

describe('stream listener log', () => {
  it('sums refusals into one warning per interval, with counts and the busiest peers', async () => {
    const r = await startIngest(
      tcpOnly({
        maxConnectionsPerSender: 1,
        refusalLogIntervalMs: 2500,
        firstFrameTimeoutMs: NEVER_MS,
      }),
    );
    const sockets: net.Socket[] = [];
    try {
      const port = portOf(r.at.tcp);
      sockets.push(...(await idleFrom(['127.0.0.2'], 21, port)));
      await waitFor(() => summaries(r).length === 1, { what: 'the first summary' });
      assert.equal(counts(summaries(r)[0]).perSender, 20);

      sockets.push(...(await idleFrom(['127.0.0.2'], 3, port)));
      await waitFor(() => summaries(r).length === 2, { what: 'the second summary' });
      assert.deepEqual(counts(summaries(r)[1]), { perSender: 3 });
      assert.equal(r.ingest.stats.tcp.connectionsRefusedPerSender, 23);
    } finally {
      for (const c of sockets) c.destroy();
      await r.ingest.close();
    }
  });
});

describe('TLS clients that never handshake', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let server: { cert: string; key: string };

  before(async () => {
    dir = await tempDir();
    server = selfSigned(dir.path, 'localhost');
  });
  after(async () => {
    await dir.remove();
  });

  const tlsOnly = (extra: Partial<IngestOptions>): IngestOptions =>
    options({
      tls: { enabled: true, address: '127.0.0.1', port: 0, cert: server.cert, key: server.key },
      refusalLogIntervalMs: NEVER_MS,
      ...extra,
    });

  it('closes them at the handshake timeout, counts them and logs one summary', async () => {
    const r = await startIngest(tlsOnly({ handshakeTimeoutMs: 150, firstFrameTimeoutMs: 0 }));
    try {
      const silent = await idleFrom(peers(2, 5), 1, portOf(r.at.tls));
      await withDeadline(Promise.all(silent.map(closed)), 10_000, 'silent TLS sockets closed');
      await r.ingest.whenNoConnections();
      const s = r.ingest.stats.tls;
      assert.equal(s.handshakeTimeouts, 5);
      assert.equal(s.connectionsOpen, 0);
      await r.ingest.close();
      const warns = summaries(r);
      assert.equal(warns.length, 1, JSON.stringify(warns));
      assert.deepEqual(counts(warns[0]), { handshakeTimeout: 5 });
    } finally {
      await r.ingest.close();
    }
  });

  it('closes them at the first-frame deadline when it comes before the handshake timeout', async () => {
    const r = await startIngest(
      tlsOnly({ handshakeTimeoutMs: NEVER_MS, firstFrameTimeoutMs: 150 }),
    );
    try {
      const silent = await idleFrom(['127.0.0.2'], 3, portOf(r.at.tls));
      await withDeadline(Promise.all(silent.map(closed)), 10_000, 'silent TLS sockets closed');
      await r.ingest.whenNoConnections();
      assert.equal(r.ingest.stats.tls.firstFrameTimeouts, 3);
      assert.equal(r.ingest.stats.tls.handshakeTimeouts, 0);
      assert.equal(r.ingest.stats.tls.handshakeErrors, 0);
    } finally {
      await r.ingest.close();
    }
  });
});
