// Acceptance: Debian's real systemd-journal-upload sends a host's journal to fleetban over HTTP and HTTPS; the sshd jail bans the attacker.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AdminClient } from '../../src/control/admin-client.js';
import { makeCertificates, type TestCertificates } from '../helpers/certs.js';
import {
  journalUpload,
  makeJournalFile,
  requireJournalTools,
  type ExportEntry,
} from '../helpers/journal-upload.js';
import { exactMsg, ServerDir, startServer, type ServerProcess } from '../helpers/server-process.js';

/** sshd failures of one attacker as the journal holds them, one second apart, ending now. */
function sshdEntries(attacker: string, host: string, count: number): ExportEntry[] {
  const now = Date.now() * 1000;
  return Array.from({ length: count }, (_, i) => ({
    __REALTIME_TIMESTAMP: String(now - (count - i) * 1_000_000),
    __MONOTONIC_TIMESTAMP: String(1_000_000 + i),
    _BOOT_ID: '0123456789abcdef0123456789abcdef',
    _HOSTNAME: host,
    _TRANSPORT: 'syslog',
    SYSLOG_FACILITY: '4',
    PRIORITY: '6',
    SYSLOG_IDENTIFIER: 'sshd',
    _PID: String(4000 + i),
    MESSAGE: `Failed password for root from ${attacker} port ${50000 + i} ssh2`,
  }));
}

/** A journal entry with no MESSAGE: read and skipped. */
const NO_MESSAGE: ExportEntry = {
  __REALTIME_TIMESTAMP: String(Date.now() * 1000),
  __MONOTONIC_TIMESTAMP: '999',
  _BOOT_ID: '0123456789abcdef0123456789abcdef',
  _HOSTNAME: 'web-j',
  COREDUMP_UNIT: 'x.service',
};

async function journalMessages(dir: ServerDir): Promise<number> {
  const text = await new AdminClient({ kind: 'unix', socket: dir.socket }).metrics();
  const m = /^fleetban_ingest_messages_total\{transport="journal"\} (\d+)$/m.exec(text);
  assert.ok(m !== null, 'the journal transport is counted in /metrics');
  return Number(m[1]);
}

describe('fleetban fed by the real systemd-journal-upload', () => {
  let dir: ServerDir;
  let server: ServerProcess;

  before(async () => {
    await requireJournalTools();
    dir = await ServerDir.create();
    await dir.writeConfig({
      ingest: {
        udp: { enabled: false },
        tcp: { enabled: false },
        journal: { enabled: true, address: '127.0.0.1', port: 0 },
        // A _HOSTNAME is the sending host's word: this name belongs to another address.
        senders: { 'web-bound': ['192.0.2.10'] },
      },
    });
    server = await startServer(dir);
  });

  after(async () => {
    await server.stop();
    await dir.remove();
  });

  it('takes in every entry over HTTP and bans the attacker they name', async () => {
    const port = server.ready.journal?.port ?? 0;
    assert.ok(port > 0, 'the ready file names the journal listener');
    const file = await makeJournalFile(dir.dir, 'web-j', [
      ...sshdEntries('198.51.100.71', 'web-j', 6),
      NO_MESSAGE,
    ]);
    const r = await journalUpload(file, `http://127.0.0.1:${port}`);
    assert.equal(r.code, 0, `systemd-journal-upload failed: ${r.stderr}`);
    await server.waitForLog(exactMsg('NOTICE [sshd] Ban 198.51.100.71'));
    assert.equal(await journalMessages(dir), 6, 'each entry with a MESSAGE counted once');
    const bans = await new AdminClient({ kind: 'unix', socket: dir.socket }).bans();
    const ban = bans.find((b) => b.target === '198.51.100.71');
    assert.ok(ban !== undefined, JSON.stringify(bans));
    assert.deepEqual(ban.hosts, { 'web-j': 5 }, 'the _HOSTNAME names the host of the failures');
  });

  it('takes a _HOSTNAME bound to another address as the peer, like a syslog HOSTNAME', async () => {
    const port = server.ready.journal?.port ?? 0;
    const file = await makeJournalFile(
      dir.dir,
      'web-spoof',
      sshdEntries('198.51.100.74', 'web-bound', 5),
    );
    const r = await journalUpload(file, `http://127.0.0.1:${port}`);
    assert.equal(r.code, 0, `systemd-journal-upload failed: ${r.stderr}`);
    await server.waitForLog(exactMsg('NOTICE [sshd] Ban 198.51.100.74'));
    const admin = new AdminClient({ kind: 'unix', socket: dir.socket });
    const ban = (await admin.bans()).find((b) => b.target === '198.51.100.74');
    assert.deepEqual(ban?.hosts, { '127.0.0.1': 5 }, 'scoped under the peer address');
    const sender = (await admin.senders()).find((x) => x.address === '127.0.0.1');
    assert.equal(sender?.spoofedHostname, 5);
  });
});

describe('fleetban fed by the real systemd-journal-upload over HTTPS with client certificates', () => {
  let dir: ServerDir;
  let server: ServerProcess;
  let certs: TestCertificates;
  let url = '';

  before(async () => {
    await requireJournalTools();
    dir = await ServerDir.create();
    certs = await makeCertificates(dir.dir);
    await dir.writeConfig({
      ingest: {
        udp: { enabled: false },
        tcp: { enabled: false },
        tls: { cert: certs.cert, key: certs.key, ca: certs.ca, requireClientCert: true },
        journal: { enabled: true, address: '127.0.0.1', port: 0, tls: true },
      },
    });
    server = await startServer(dir);
    const port = server.ready.journal?.port ?? 0;
    assert.ok(port > 0, 'the ready file names the journal listener');
    url = `https://127.0.0.1:${port}`;
  });

  after(async () => {
    await server.stop();
    await dir.remove();
  });

  it('takes in the entries of a client with a certificate and bans the attacker', async () => {
    const file = await makeJournalFile(dir.dir, 'web-s', sshdEntries('198.51.100.72', 'web-s', 5));
    const r = await journalUpload(file, url, [
      `--key=${certs.clientKey}`,
      `--cert=${certs.clientCert}`,
      `--trust=${certs.ca}`,
    ]);
    assert.equal(r.code, 0, `systemd-journal-upload failed: ${r.stderr}`);
    await server.waitForLog(exactMsg('NOTICE [sshd] Ban 198.51.100.72'));
    assert.equal(await journalMessages(dir), 5);
  });

  it('refuses a client whose certificate the CA did not sign', async () => {
    const otherDir = join(dir.dir, 'other-ca');
    await mkdir(otherDir);
    const other = await makeCertificates(otherDir);
    const file = await makeJournalFile(dir.dir, 'web-x', sshdEntries('198.51.100.73', 'web-x', 5));
    const r = await journalUpload(file, url, [
      `--key=${other.clientKey}`,
      `--cert=${other.clientCert}`,
      `--trust=${certs.ca}`,
    ]);
    assert.notEqual(r.code, 0, 'the uploader reports the refusal');
    assert.equal(await journalMessages(dir), 5, 'nothing more was taken in');
    const bans = await new AdminClient({ kind: 'unix', socket: dir.socket }).bans();
    assert.equal(
      bans.find((b) => b.target === '198.51.100.73'),
      undefined,
    );
  });
});
