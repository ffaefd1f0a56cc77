// The running server against a connection flood: the config's per-sender cap and first-frame deadline apply, /metrics and the log show them.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { AdminClient } from '../../src/control/admin-client.js';
import { ServerDir, startServer, type ServerProcess } from '../helpers/server-process.js';
import { waitFor, withDeadline } from '../helpers/wait.js';

function connectFrom(localAddress: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress }, () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

function closed(socket: net.Socket): Promise<void> {
  return socket.closed
    ? Promise.resolve()
    : new Promise((resolve) => socket.once('close', resolve));
}

/** The value of one sample line of the Prometheus text, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('the running server under a connection flood', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const undo of cleanups.reverse()) await undo().catch(() => undefined);
  });

  it('caps one peer, closes its silent sockets at the deadline, still bans, and reports it all', async () => {
    const dir = await ServerDir.create({
      config: { ingest: { maxConnectionsPerSender: 2, firstFrameTimeout: 1 } },
    });
    cleanups.push(() => dir.remove());
    const server: ServerProcess = await startServer(dir);
    cleanups.push(() => server.kill());
    const admin = new AdminClient({ kind: 'unix', socket: dir.socket });
    const port = server.ready.tcp?.port;
    assert.ok(port !== undefined);

    const silent: net.Socket[] = [];
    for (let i = 0; i < 4; i++) silent.push(await connectFrom('127.0.0.2', port));
    cleanups.push(() => {
      for (const s of silent) s.destroy();
      return Promise.resolve();
    });
    await withDeadline(Promise.all(silent.map(closed)), 10_000, 'every silent socket closed');

    const legit = await connectFrom('127.0.0.1', port);
    const line = `<38>1 ${new Date().toISOString()} web-1 sshd 42 - - Failed password for root from 198.51.100.40 port 22 ssh2\n`;
    legit.write(line);
    await waitFor(async () => (await admin.jail('sshd')).failures === 1, {
      what: 'the failure sent after the flood counted',
    });
    legit.destroy();

    const metrics = await admin.metrics();
    const tcp = '{transport="tcp"}';
    assert.equal(sample(metrics, `fleetban_ingest_connections_refused_per_sender_total${tcp}`), 2);
    assert.equal(sample(metrics, `fleetban_ingest_first_frame_timeouts_total${tcp}`), 2);
    assert.equal(sample(metrics, `fleetban_ingest_connections_evicted_total${tcp}`), 0);
    assert.equal(sample(metrics, `fleetban_ingest_tls_handshake_timeouts_total${tcp}`), 0);

    await server.stop();
    const summaries = server.logsMatching('connections within');
    assert.equal(summaries.length, 1, JSON.stringify(summaries));
    assert.deepEqual(summaries[0]?.counts, { perSender: 2, firstFrameTimeout: 2 });
    assert.deepEqual(summaries[0].peers, { '127.0.0.2': 4 });
  });
});
