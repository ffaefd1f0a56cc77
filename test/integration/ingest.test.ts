// Ingest over real sockets on port 0: UDP (IPv4, IPv6), TCP framing, TLS with and without client certificates.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { isFleetbanError } from '../../src/core/errors.js';
import { CidrSet, parseCidr, type Cidr } from '../../src/core/ip.js';
import {
  closed,
  connectTcp,
  octet,
  options,
  portOf,
  selfSigned,
  sendUdp,
  startIngest,
  tempDir,
  write,
} from './ingest-helpers.js';

const cidrs = (...texts: string[]): CidrSet => new CidrSet(texts.map((t) => parseCidr(t) as Cidr));

describe('UDP', () => {
  it('receives over IPv4, strips trailing LF/NUL, drops and counts oversized datagrams', async () => {
    const r = await startIngest(
      options({ udp: { enabled: true, address: '127.0.0.1', port: 0 }, maxMessageSize: 64 }),
    );
    try {
      const port = portOf(r.at.udp);
      await sendUdp('127.0.0.1', port, '<13>one\n');
      await sendUdp('127.0.0.1', port, `<13>${'x'.repeat(100)}`);
      await sendUdp('127.0.0.1', port, '<13>two\n\0');
      await r.sink.waitFor(2);
      assert.deepEqual(r.sink.texts(), ['<13>one', '<13>two']);
      assert.equal(r.sink.messages[0]?.sender, '127.0.0.1');
      const s = r.ingest.stats.udp;
      assert.equal(s.messages, 2);
      assert.equal(s.bytes, '<13>one'.length + '<13>two'.length);
      assert.equal(s.oversized, 1);
      const sender = r.senders.get('127.0.0.1');
      assert.ok(sender);
      assert.equal(sender.messages, 2);
      assert.equal(sender.oversized, 1);
      assert.equal(sender.transports.udp, 2);
    } finally {
      await r.ingest.close();
    }
  });

  it('receives over IPv6 and keeps the peer address intact', async () => {
    const r = await startIngest(options({ udp: { enabled: true, address: '::1', port: 0 } }));
    try {
      assert.equal(r.at.udp?.family, 'IPv6');
      await sendUdp('::1', portOf(r.at.udp), '<13>over v6');
      await r.sink.waitFor(1);
      assert.deepEqual(
        r.sink.messages.map((m) => [m.text, m.sender]),
        [['<13>over v6', '::1']],
      );
    } finally {
      await r.ingest.close();
    }
  });

  it('reports the receive buffer obtained and warns when the kernel caps it', async () => {
    const requested = 32 * 1024 * 1024;
    const r = await startIngest(
      options({ udp: { enabled: true, address: '127.0.0.1', port: 0, recvBufferSize: requested } }),
    );
    try {
      const sizes = Object.values(r.ingest.stats.snapshot().udpSockets).map(
        (s) => s.recvBufferSize,
      );
      assert.equal(sizes.length, 1);
      const obtained = sizes[0] ?? 0;
      assert.ok(obtained > 0);
      const warned = r.log.entries.some(
        (e) => e.level === 'warn' && e.msg.includes('net.core.rmem_max'),
      );
      assert.equal(warned, obtained < requested, `obtained ${obtained}, warned ${warned}`);
    } finally {
      await r.ingest.close();
    }
  });

  it('drops and counts datagrams from senders outside the allowlist, IPv4-mapped included', async () => {
    // Bound to :: so IPv4 arrives as ::ffff:127.0.0.1 and must be judged (and reported) as 127.0.0.1.
    const r = await startIngest(
      options({ udp: { enabled: true, address: '::', port: 0 }, allowedSenders: cidrs('::1/128') }),
    );
    try {
      const port = portOf(r.at.udp);
      await sendUdp('127.0.0.1', port, '<13>spoofed');
      await sendUdp('127.0.0.1', port, '<13>spoofed again');
      await sendUdp('::1', port, '<13>allowed');
      await r.sink.waitFor(1);
      assert.deepEqual(r.sink.texts(), ['<13>allowed']);
      assert.equal(r.ingest.stats.udp.droppedNotAllowed, 2);
      assert.equal(r.senders.get('127.0.0.1')?.dropped, 2);
      assert.equal(r.senders.get('127.0.0.1')?.messages, 0);
      assert.equal(r.senders.get('::1')?.messages, 1);
    } finally {
      await r.ingest.close();
    }
  });
});

describe('TCP', () => {
  it('reads octet-counted and LF frames mixed on one connection', async () => {
    const r = await startIngest(options({ tcp: { enabled: true, address: '127.0.0.1', port: 0 } }));
    try {
      const c = await connectTcp('127.0.0.1', portOf(r.at.tcp));
      await write(c, octet('<13>first octet') + '<13>then LF\n' + octet('<13>multi\nline'));
      await write(c, '<13>LF again\r\n2');
      await write(c, '3 <13>count across writes\n');
      await r.sink.waitFor(5);
      assert.deepEqual(r.sink.texts(), [
        '<13>first octet',
        '<13>then LF',
        '<13>multi\nline',
        '<13>LF again',
        '<13>count across writes',
      ]);
      assert.equal(r.senders.get('127.0.0.1')?.transports.tcp, 5);
      assert.equal(r.ingest.stats.tcp.connectionsOpen, 1);
      c.end();
      await closed(c);
      await r.ingest.whenNoConnections();
      assert.equal(r.ingest.stats.tcp.connectionsOpen, 0);
      assert.equal(r.ingest.stats.tcp.connectionsTotal, 1);
    } finally {
      await r.ingest.close();
    }
  });

  it('serves IPv6 clients and refuses connections from outside the allowlist at connect', async () => {
    const r = await startIngest(
      options({ tcp: { enabled: true, address: '::', port: 0 }, allowedSenders: cidrs('::1') }),
    );
    try {
      const port = portOf(r.at.tcp);
      const refused = await connectTcp('127.0.0.1', port);
      await closed(refused);
      const c = await connectTcp('::1', port);
      await write(c, '<13>from v6\n');
      await r.sink.waitFor(1);
      assert.deepEqual(
        r.sink.messages.map((m) => [m.text, m.sender]),
        [['<13>from v6', '::1']],
      );
      assert.equal(r.ingest.stats.tcp.droppedNotAllowed, 1);
      assert.equal(r.ingest.stats.tcp.connectionsTotal, 1);
      assert.equal(r.senders.get('127.0.0.1')?.dropped, 1);
      c.destroy();
    } finally {
      await r.ingest.close();
    }
  });

  it('closes idle connections and counts them', async () => {
    const r = await startIngest(
      options({ tcp: { enabled: true, address: '127.0.0.1', port: 0 }, idleTimeoutMs: 50 }),
    );
    try {
      const c = await connectTcp('127.0.0.1', portOf(r.at.tcp));
      await closed(c);
      assert.equal(r.ingest.stats.tcp.idleTimeouts, 1);
    } finally {
      await r.ingest.close();
    }
  });

  it('on close(), lets senders flush and delivers a last frame without its LF', async () => {
    const r = await startIngest(options({ tcp: { enabled: true, address: '127.0.0.1', port: 0 } }));
    const c = await connectTcp('127.0.0.1', portOf(r.at.tcp));
    await write(c, '<13>complete\n<13>no trailing LF');
    await r.sink.waitFor(1);
    await Promise.all([r.ingest.close(), closed(c)]);
    assert.deepEqual(r.sink.texts(), ['<13>complete', '<13>no trailing LF']);
    assert.equal(r.ingest.connections.tcp, 0);
  });

  it('rejects start() with LISTEN_FAILED naming the address when the port is taken', async () => {
    const first = await startIngest(
      options({
        tcp: { enabled: true, address: '127.0.0.1', port: 0 },
        udp: { enabled: true, address: '127.0.0.1', port: 0 },
      }),
    );
    try {
      for (const transport of ['tcp', 'udp'] as const) {
        const port = portOf(first.at[transport]);
        await assert.rejects(
          startIngest(options({ [transport]: { enabled: true, address: '127.0.0.1', port } })),
          (e: unknown) =>
            isFleetbanError(e, 'FLEETBAN_LISTEN_FAILED') && e.message.includes(`127.0.0.1:${port}`),
        );
      }
    } finally {
      await first.ingest.close();
    }
  });
});

describe('TLS', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let server: { cert: string; key: string };
  let client: { cert: string; key: string };

  before(async () => {
    dir = await tempDir();
    server = selfSigned(dir.path, 'localhost');
    client = selfSigned(dir.path, 'fleet-host');
  });
  after(async () => {
    await dir.remove();
  });

  function connectTls(port: number, extra: tls.ConnectionOptions): Promise<tls.TLSSocket> {
    return readFile(server.cert).then(
      (ca) =>
        new Promise((resolve, reject) => {
          const socket = tls.connect(
            { host: '127.0.0.1', port, servername: 'localhost', ca, ...extra },
            () => {
              socket.off('error', reject);
              resolve(socket);
            },
          );
          socket.once('error', reject);
        }),
    );
  }

  it('receives octet-counted frames over TLS', async () => {
    const r = await startIngest(
      options({
        tls: { enabled: true, address: '127.0.0.1', port: 0, cert: server.cert, key: server.key },
      }),
    );
    try {
      const c = await connectTls(portOf(r.at.tls), {});
      await write(c, octet('<13>secret one') + octet('<13>secret two'));
      await r.sink.waitFor(2);
      assert.deepEqual(r.sink.texts(), ['<13>secret one', '<13>secret two']);
      assert.equal(r.senders.get('127.0.0.1')?.transports.tls, 2);
      assert.equal(r.ingest.stats.tls.messages, 2);
      c.end();
      await closed(c);
    } finally {
      await r.ingest.close();
    }
  });

  it('counts a failed handshake and keeps serving', async () => {
    const r = await startIngest(
      options({
        tls: { enabled: true, address: '127.0.0.1', port: 0, cert: server.cert, key: server.key },
      }),
    );
    try {
      const port = portOf(r.at.tls);
      const plain = await connectTcp('127.0.0.1', port);
      plain.write('<13>this is not TLS\n');
      await closed(plain);
      assert.equal(r.ingest.stats.tls.handshakeErrors, 1);
      const c = await connectTls(port, {});
      await write(c, octet('<13>after the bad one'));
      await r.sink.waitFor(1);
      c.destroy();
      // Failures are summed into one warning per interval; close() writes the pending one.
      await r.ingest.close();
      const warns = r.log.entries.filter((e) => e.level === 'warn');
      assert.equal(warns.length, 1);
      const summary = warns[0]?.obj as { counts: object; lastTlsError: string };
      assert.deepEqual(summary.counts, { handshakeFailed: 1 });
      assert.match(summary.lastTlsError, /wrong version number|unknown protocol|http request/i);
    } finally {
      await r.ingest.close();
    }
  });

  it('with requestClientCert, refuses a client without a certificate and serves one with it', async () => {
    const r = await startIngest(
      options({
        tls: {
          enabled: true,
          address: '127.0.0.1',
          port: 0,
          cert: server.cert,
          key: server.key,
          ca: client.cert,
          requestClientCert: true,
        },
      }),
    );
    try {
      const port = portOf(r.at.tls);
      const anonymous = await new Promise<net.Socket>((resolve) => {
        void readFile(server.cert).then((ca) => {
          const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca });
          s.on('error', () => undefined);
          s.on('secureConnect', () => s.write(octet('<13>should not pass')));
          resolve(s);
        });
      });
      await closed(anonymous);
      assert.equal(r.ingest.stats.tls.handshakeErrors, 1);
      assert.equal(r.sink.messages.length, 0);

      const [cert, key] = await Promise.all([readFile(client.cert), readFile(client.key)]);
      const c = await connectTls(port, { cert, key });
      await write(c, octet('<13>with a certificate'));
      await r.sink.waitFor(1);
      assert.deepEqual(r.sink.texts(), ['<13>with a certificate']);
      c.destroy();
    } finally {
      await r.ingest.close();
    }
  });

  it('rejects start() with TLS_CONFIG_INVALID when a file is missing', async () => {
    await assert.rejects(
      startIngest(
        options({
          tls: {
            enabled: true,
            address: '127.0.0.1',
            port: 0,
            cert: server.cert,
            key: `${dir.path}/none.key`,
          },
        }),
      ),
      (e: unknown) =>
        isFleetbanError(e, 'FLEETBAN_TLS_CONFIG_INVALID') &&
        e.message.startsWith('cannot read ingest.tls.key ') &&
        e.message.includes('none.key'),
    );
  });
});
