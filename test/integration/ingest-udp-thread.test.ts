// The UDP receiving thread over real sockets on port 0: lines reach the pipeline, allowlist, counters, crash recovery, close.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import { CidrSet, parseCidr, type Cidr } from '../../src/core/ip.js';
import type { SyslogEvent } from '../../src/core/types.js';
import { Delivery } from '../../src/ingest/deliver.js';
import { resolveLimits, type IngestOptions } from '../../src/ingest/options.js';
import { SenderTable } from '../../src/ingest/senders.js';
import type { MessageSink } from '../../src/ingest/sink.js';
import { IngestStats } from '../../src/ingest/stats.js';
import type { UdpReader } from '../../src/ingest/udp-protocol.js';
import { UdpListener } from '../../src/ingest/udp.js';
import { Pipeline } from '../../src/server/pipeline.js';
import { waitFor } from '../helpers/wait.js';
import { options, recordingLogger, RecordingSink, sendUdp } from './ingest-helpers.js';

const cidrs = (...texts: string[]): CidrSet => new CidrSet(texts.map((t) => parseCidr(t) as Cidr));

function makeRig(
  reader: UdpReader,
  overrides: Partial<IngestOptions>,
  sink: MessageSink,
  maxBacklog: number | undefined,
) {
  const o = options({ udp: { enabled: true, address: '127.0.0.1', port: 0 }, ...overrides });
  const senders = new SenderTable();
  const stats = new IngestStats();
  const log = recordingLogger();
  const udp = new UdpListener(
    o.udp,
    {
      delivery: new Delivery(sink, log),
      senders,
      stats,
      clock: systemClock,
      log,
      limits: resolveLimits(o),
    },
    { reader, ...(maxBacklog !== undefined ? { maxBacklog } : {}) },
  );
  return { udp, senders, stats, log };
}

/** Blocks this thread (no event loop turn) until `done()` or the deadline; false on timeout. */
function blockUntil(done: () => boolean, timeoutMs: number): boolean {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    Atomics.wait(pause, 0, 0, 2);
  }
  return true;
}

/**
 * Sends the payloads from another process while this thread waits for it: the main thread is
 * stalled from the first datagram on, so only the receiving thread can read them.
 */
function sendWhileStalled(port: number, payloads: readonly string[]): void {
  const script = `
    const socket = require('node:dgram').createSocket('udp4');
    const payloads = ${JSON.stringify(payloads)};
    let i = 0;
    const next = () => i === payloads.length
      ? socket.close()
      : socket.send(payloads[i++], ${port}, '127.0.0.1', (e) => { if (e) throw e; next(); });
    next();`;
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(result.status, 0, `sender failed: ${result.stderr}`);
}

/** Sends each payload from one socket bound to `from`, in order; resolves once all are sent. */
async function sendFrom(from: string, port: number, payloads: readonly string[]): Promise<void> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, from, resolve));
  try {
    for (const p of payloads) {
      await new Promise<void>((resolve, reject) => {
        socket.send(p, port, '127.0.0.1', (e) => {
          if (e === null) resolve();
          else reject(e);
        });
      });
    }
  } finally {
    socket.close();
  }
}

const line = (i: number): string =>
  `<38>Dec  2 05:00:00 web1 sshd[${1000 + i}]: Failed password for root from 198.51.100.${i % 250} port 22 ssh2`;

describe('UDP reader', () => {
  it('is recvmmsg by default: the addon is built and loads', async () => {
    const log = recordingLogger();
    const udp = new UdpListener(
      options({ udp: { enabled: true, address: '127.0.0.1', port: 0 } }).udp,
      {
        delivery: new Delivery(new RecordingSink(), log),
        senders: new SenderTable(),
        stats: new IngestStats(),
        clock: systemClock,
        log,
        limits: resolveLimits(options({})),
      },
    );
    await udp.listen();
    try {
      const warning = log.entries.find((e) => e.msg.includes('addon'))?.msg ?? '';
      assert.equal(
        udp.reader,
        'recvmmsg',
        `the recvmmsg addon (dist/native/udp_recv.node) did not load: ${warning} ` +
          '(run npm run build; it needs g++, make and python3)',
      );
    } finally {
      await udp.close();
    }
  });
});

for (const reader of ['recvmmsg', 'dgram'] as const) describeReader(reader);

function describeReader(reader: UdpReader): void {
  const rig = (
    overrides: Partial<IngestOptions> = {},
    sink: MessageSink = new RecordingSink(),
    maxBacklog?: number,
  ) => makeRig(reader, overrides, sink, maxBacklog);

  describe(`UDP receiving thread (${reader})`, () => {
    it('receives off the main thread and hands every line to the pipeline, counted per sender', async () => {
      const events: SyslogEvent[] = [];
      const pipeline = new Pipeline({ maxSkewMs: 400 * 86_400_000 }, (e) => {
        events.push(e);
      });
      const r = rig({}, pipeline);
      const { port } = await r.udp.listen();
      try {
        assert.ok((r.udp.threadId ?? 0) > 0, 'a receiving thread runs');
        assert.equal(r.udp.reader, reader);
        const n = 300;
        const payloads = Array.from({ length: n }, (_, i) => line(i));
        sendWhileStalled(port, payloads);
        // With this thread blocked, only another thread can read the socket.
        assert.ok(
          blockUntil(() => r.udp.pending === n, 20_000),
          `the receiving thread read ${r.udp.pending} of ${n} while the main thread was blocked`,
        );
        assert.equal(events.length, 0, 'nothing is delivered while the main thread is blocked');
        await waitFor(() => events.length === n, { what: `${n} parsed events` });
        assert.equal(r.udp.pending, 0);
        assert.deepEqual(
          events.map((e) => e.pid),
          payloads.map((_, i) => String(1000 + i)),
        );
        assert.equal(events[7]?.program, 'sshd');
        assert.equal(pipeline.stats.parsed, n);
        const bytes = payloads.reduce((b, p) => b + Buffer.byteLength(p), 0);
        assert.equal(r.stats.udp.messages, n);
        assert.equal(r.stats.udp.bytes, bytes);
        const sender = r.senders.get('127.0.0.1');
        assert.equal(sender?.messages, n);
        assert.equal(sender.bytes, bytes);
        assert.equal(sender.transports.udp, n);
        assert.equal(sender.parseErrors, 0);
      } finally {
        await r.udp.close();
      }
    });

    it('applies the allowlist in the thread, to IPv4-mapped peers too, and counts the refused', async () => {
      const sink = new RecordingSink();
      const r = rig(
        { udp: { enabled: true, address: '::', port: 0 }, allowedSenders: cidrs('127.0.0.2/32') },
        sink,
      );
      const { port } = await r.udp.listen();
      try {
        await sendFrom('127.0.0.1', port, ['<13>refused one', '<13>refused two']);
        await sendFrom('127.0.0.2', port, ['<13>allowed']);
        await waitFor(() => sink.messages.length === 1 && r.stats.udp.droppedNotAllowed === 2, {
          what: 'one delivery and two refusals',
        });
        const [delivered] = sink.messages;
        assert.equal(delivered?.text, '<13>allowed');
        // The socket is dual-stack: peers arrive as ::ffff:127.0.0.x and are reported as IPv4.
        assert.equal(delivered.sender, '127.0.0.2');
        assert.equal(r.senders.get('127.0.0.1')?.dropped, 2);
        assert.equal(r.senders.get('127.0.0.1')?.messages, 0);
        assert.equal(r.senders.get('127.0.0.2')?.messages, 1);
      } finally {
        await r.udp.close();
      }
    });

    it('names an IPv6 peer canonically and applies the allowlist to it', async () => {
      const sink = new RecordingSink();
      const r = rig(
        { udp: { enabled: true, address: '::1', port: 0 }, allowedSenders: cidrs('::1/128') },
        sink,
      );
      const { port } = await r.udp.listen();
      const socket = dgram.createSocket('udp6');
      try {
        await new Promise<void>((resolve, reject) => {
          socket.send('<13>from ipv6', port, '::1', (e) => {
            if (e === null) resolve();
            else reject(e);
          });
        });
        await sink.waitFor(1);
        assert.equal(sink.messages[0]?.sender, '::1');
        assert.equal(r.senders.get('::1')?.messages, 1);
      } finally {
        socket.close();
        await r.udp.close();
      }
    });

    it('counts oversized datagrams per sender and skips them', async () => {
      const sink = new RecordingSink();
      const r = rig({ maxMessageSize: 32 }, sink);
      const { port } = await r.udp.listen();
      try {
        await sendFrom('127.0.0.1', port, ['<13>x'.padEnd(33, 'x'), '<13>short\n']);
        await sink.waitFor(1);
        assert.deepEqual(sink.texts(), ['<13>short']);
        assert.equal(r.stats.udp.oversized, 1);
        assert.equal(r.senders.get('127.0.0.1')?.oversized, 1);
      } finally {
        await r.udp.close();
      }
    });

    it('drops and counts what exceeds the backlog while the main thread is stalled', async () => {
      const sink = new RecordingSink();
      const r = rig({}, sink, 10);
      const { port } = await r.udp.listen();
      try {
        const n = 50;
        sendWhileStalled(
          port,
          Array.from({ length: n }, (_, i) => `<13>msg ${i}`),
        );
        // Stalled: the thread holds 10 and must drop the other 40 rather than queue them.
        assert.ok(
          blockUntil(() => r.udp.pending === 10, 20_000),
          `pending ${r.udp.pending}`,
        );
        await waitFor(() => sink.messages.length + r.stats.udpReceiver.backlogDropped === n, {
          what: 'every datagram delivered or counted as dropped',
        });
        assert.equal(sink.messages.length, 10);
        assert.equal(r.stats.udpReceiver.backlogDropped, 40);
        assert.deepEqual(
          sink.texts(),
          Array.from({ length: 10 }, (_, i) => `<13>msg ${i}`),
        );
        assert.ok(r.log.entries.some((e) => e.level === 'warn' && e.msg.includes('dropped')));
        // Once the backlog is delivered, datagrams flow again.
        await sendUdp('127.0.0.1', port, '<13>flowing');
        await sink.waitForText('<13>flowing');
      } finally {
        await r.udp.close();
      }
    });

    it('reports a dead thread and starts another on the same port', async () => {
      const sink = new RecordingSink();
      const r = rig({}, sink);
      const { port } = await r.udp.listen();
      try {
        const first = r.udp.threadId;
        await sendUdp('127.0.0.1', port, '<13>before');
        await sink.waitFor(1);
        await r.udp.killThread();
        await waitFor(
          () =>
            r.log.entries.some((e) => e.msg === 'udp receiving thread restarted') &&
            r.udp.threadId !== null,
          { what: 'a new receiving thread' },
        );
        assert.notEqual(r.udp.threadId, first);
        assert.equal(r.stats.udpReceiver.restarts, 1);
        assert.ok(
          r.log.entries.some((e) => e.level === 'error' && e.msg.includes('exited unexpectedly')),
          'the death is logged as an error',
        );
        await sendUdp('127.0.0.1', port, '<13>after');
        await sink.waitForText('<13>after');
        assert.deepEqual(sink.texts(), ['<13>before', '<13>after']);
      } finally {
        await r.udp.close();
      }
    });

    it('keeps trying when the new thread cannot bind, and serves once the port is free', async () => {
      const sink = new RecordingSink();
      const r = rig({}, sink);
      const { port } = await r.udp.listen();
      const squatter = dgram.createSocket('udp4');
      try {
        await r.udp.killThread();
        // The port is free once the thread has exited; take it before the replacement binds.
        await new Promise<void>((resolve, reject) => {
          squatter.once('error', reject);
          squatter.bind({ address: '127.0.0.1', port, exclusive: true }, resolve);
        });
        await waitFor(
          () =>
            r.log.entries.some((e) => e.msg.startsWith('udp receiving thread could not restart')),
          { what: 'a failed restart' },
        );
        await new Promise<void>((resolve) => squatter.close(resolve));
        await waitFor(() => r.log.entries.some((e) => e.msg === 'udp receiving thread restarted'), {
          what: 'a restart once the port is free',
          timeoutMs: 20_000,
        });
        await sendUdp('127.0.0.1', port, '<13>back');
        await sink.waitForText('<13>back');
        assert.equal(r.stats.udpReceiver.restarts, 1);
      } finally {
        await r.udp.close();
      }
    });

    it('close() delivers what the thread read, ends it, frees the port and restarts nothing', async () => {
      const sink = new RecordingSink();
      const r = rig({}, sink);
      const { port } = await r.udp.listen();
      const n = 50;
      sendWhileStalled(
        port,
        Array.from({ length: n }, (_, i) => `<13>msg ${i}`),
      );
      assert.ok(
        blockUntil(() => r.udp.pending === n, 20_000),
        'the thread read every datagram',
      );
      // No event loop turn between: the batches still wait in the thread's port.
      const closing = r.udp.close();
      assert.equal(sink.messages.length, 0);
      await closing;
      assert.equal(sink.messages.length, n);
      assert.equal(r.udp.threadId, null);
      assert.equal(r.stats.udpReceiver.restarts, 0);
      assert.deepEqual(
        r.log.entries.filter((e) => e.level === 'error'),
        [],
      );
      await r.udp.close();
      // The port is free again: an exclusive bind on it succeeds.
      const again = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        again.once('error', reject);
        again.bind({ address: '127.0.0.1', port, exclusive: true }, resolve);
      });
      again.close();
    });
  });
}
