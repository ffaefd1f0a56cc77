// Ingest under bad input: garbage, huge and lying frames, invalid UTF-8, connection floods. Nothing crashes.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import {
  closed,
  connectTcp,
  octet,
  options,
  portOf,
  pseudoRandomBytes,
  sendUdp,
  startIngest,
  write,
} from './ingest-helpers.js';

const tcpOnly = (extra: object = {}) =>
  options({ tcp: { enabled: true, address: '127.0.0.1', port: 0 }, ...extra });

const socketHandles = (): number =>
  process.getActiveResourcesInfo().filter((name) => name === 'TCPSocketWrap').length;

describe('TCP bad input', () => {
  it('survives random bytes and resynchronises at the next LF', async () => {
    const r = await startIngest(tcpOnly());
    try {
      const c = await connectTcp('127.0.0.1', portOf(r.at.tcp));
      await write(c, pseudoRandomBytes(256 * 1024, 0x5eed));
      await write(c, '\n<13>after the noise\n');
      await r.sink.waitForText('<13>after the noise');
      assert.equal(r.sink.messages.at(-1)?.text, '<13>after the noise');
      assert.ok(r.ingest.stats.tcp.invalidUtf8 > 0);
      assert.equal(r.ingest.connections.tcp, 1);
      c.destroy();
    } finally {
      await r.ingest.close();
    }
  });

  it('skips a 1 MB frame, LF-terminated or octet-counted, and keeps the connection', async () => {
    const r = await startIngest(tcpOnly());
    try {
      const c = await connectTcp('127.0.0.1', portOf(r.at.tcp));
      const huge = `<13>${'A'.repeat(1024 * 1024)}`;
      await write(c, `${huge}\n<13>after LF giant\n`);
      await write(c, `${octet(huge)}${octet('<13>after octet giant')}`);
      await r.sink.waitFor(2);
      assert.deepEqual(r.sink.texts(), ['<13>after LF giant', '<13>after octet giant']);
      assert.equal(r.ingest.stats.tcp.oversized, 2);
      assert.equal(r.senders.get('127.0.0.1')?.oversized, 2);
      c.destroy();
    } finally {
      await r.ingest.close();
    }
  });

  it('resynchronises after octet counts that lie', async () => {
    const r = await startIngest(tcpOnly());
    try {
      const c = await connectTcp('127.0.0.1', portOf(r.at.tcp));
      // Far beyond any frame: a framing error, discarded up to the LF.
      await write(c, '9999999999 <13>lie\n');
      await write(c, octet('<13>good one'));
      // Too large by 6: swallows "8 <13>" of the next frame; the rest of it reads up to its LF.
      await write(c, '16 <13>short\n' + octet('<13>cut') + octet('<13>good two'));
      await r.sink.waitForText('<13>good two');
      assert.deepEqual(r.sink.texts(), [
        '<13>good one',
        '<13>short\n8 <13>',
        'cut',
        '<13>good two',
      ]);
      assert.equal(r.ingest.stats.tcp.framingErrors, 1);
      c.destroy();
    } finally {
      await r.ingest.close();
    }
  });

  it('delivers invalid UTF-8 with replacement characters and counts it', async () => {
    const r = await startIngest(
      options({
        tcp: { enabled: true, address: '127.0.0.1', port: 0 },
        udp: { enabled: true, address: '127.0.0.1', port: 0 },
      }),
    );
    try {
      const bad = Buffer.concat([
        Buffer.from('<13>user '),
        Buffer.from([0xff, 0xc3]),
        Buffer.from(' from 203.0.113.9'),
      ]);
      const c = await connectTcp('127.0.0.1', portOf(r.at.tcp));
      await write(c, Buffer.concat([bad, Buffer.from('\n<13>valid ütf-8 ✓\n')]));
      await sendUdp('127.0.0.1', portOf(r.at.udp), bad);
      await r.sink.waitFor(3);
      const expected = '<13>user \uFFFD\uFFFD from 203.0.113.9';
      assert.deepEqual(r.sink.texts().sort(), [expected, expected, '<13>valid ütf-8 ✓'].sort());
      assert.equal(r.ingest.stats.tcp.invalidUtf8, 1);
      assert.equal(r.ingest.stats.udp.invalidUtf8, 1);
      assert.equal(r.senders.get('127.0.0.1')?.invalidUtf8, 2);
      assert.equal(r.senders.get('127.0.0.1')?.messages, 3);
      c.destroy();
    } finally {
      await r.ingest.close();
    }
  });

  it('handles a thousand connections opened and dropped, with no socket leaked', async () => {
    // Up to 100 at a time from one address: more than a sender is allowed by default.
    const r = await startIngest(tcpOnly({ maxConnections: 2000, maxConnectionsPerSender: 2000 }));
    try {
      const port = portOf(r.at.tcp);
      const handlesBefore = socketHandles();
      const total = 1000;
      for (let batch = 0; batch < total; batch += 100) {
        await Promise.all(
          Array.from({ length: 100 }, async (_, k) => {
            const n = batch + k;
            const c = await connectTcp('127.0.0.1', port);
            // Every other client hangs up in the middle of a frame.
            await write(c, `<13>hello ${n}\n` + (n % 2 === 0 ? '40 <13>cut short' : ''));
            c.destroy();
            await closed(c);
          }),
        );
      }
      await r.sink.waitFor(total);
      await r.ingest.whenNoConnections();
      const s = r.ingest.stats.tcp;
      assert.equal(s.connectionsTotal, total);
      assert.equal(s.connectionsOpen, 0);
      assert.equal(s.framingErrors, total / 2);
      assert.equal(new Set(r.sink.texts()).size, total);
      assert.equal(socketHandles(), handlesBefore);

      const c = await connectTcp('127.0.0.1', port);
      await write(c, '<13>still serving\n');
      await r.sink.waitForText('<13>still serving');
      c.destroy();
    } finally {
      await r.ingest.close();
    }
  });

  it('refuses connections over maxConnections and serves again once below', async () => {
    const r = await startIngest(tcpOnly({ maxConnections: 3 }));
    try {
      const port = portOf(r.at.tcp);
      const open: net.Socket[] = [];
      for (let i = 0; i < 3; i++) {
        const c = await connectTcp('127.0.0.1', port);
        await write(c, `<13>kept ${i}\n`);
        open.push(c);
      }
      await r.sink.waitFor(3);
      for (let i = 0; i < 2; i++) {
        const extra = await connectTcp('127.0.0.1', port);
        extra.write('<13>over the limit\n');
        await closed(extra);
      }
      assert.equal(r.ingest.stats.tcp.connectionsRefused, 2);
      assert.equal(r.ingest.stats.tcp.connectionsOpen, 3);
      for (const c of open) c.destroy();
      await r.ingest.whenNoConnections();
      const again = await connectTcp('127.0.0.1', port);
      await write(again, '<13>served again\n');
      await r.sink.waitForText('<13>served again');
      assert.ok(!r.sink.texts().includes('<13>over the limit'));
      again.destroy();
    } finally {
      await r.ingest.close();
    }
  });
});

describe('UDP bad input', () => {
  it('survives random datagrams and keeps receiving', async () => {
    const r = await startIngest(options({ udp: { enabled: true, address: '127.0.0.1', port: 0 } }));
    try {
      const port = portOf(r.at.udp);
      for (let i = 0; i < 50; i++)
        await sendUdp('127.0.0.1', port, pseudoRandomBytes(1 + i * 37, i + 1));
      await sendUdp('127.0.0.1', port, '');
      await sendUdp('127.0.0.1', port, '<13>after random datagrams');
      await r.sink.waitForText('<13>after random datagrams');
      assert.ok(r.ingest.stats.udp.messages >= 2);
      assert.ok(r.ingest.stats.udp.invalidUtf8 > 0);
    } finally {
      await r.ingest.close();
    }
  });
});
