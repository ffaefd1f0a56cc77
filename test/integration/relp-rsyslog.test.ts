// Real rsyslog omrelp (Debian rsyslog-relp) into the RELP listener and the parsing pipeline: every message once, across a restart of the listener.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { systemClock } from '../../src/core/clock.js';
import type { SyslogEvent } from '../../src/core/types.js';
import { Ingest } from '../../src/ingest/ingest.js';
import { SenderTable } from '../../src/ingest/senders.js';
import { SyslogTimeZone } from '../../src/parse/syslog.js';
import { Pipeline } from '../../src/server/pipeline.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCertificates, type TestCertificates } from '../helpers/certs.js';
import { Forwarding, startRsyslog, type RsyslogClient } from '../helpers/rsyslog.js';
import { waitFor } from '../helpers/wait.js';
import { closed, connectTcp, options, recordingLogger, write } from './ingest-helpers.js';

/** The pipeline the server runs (parse, then the jails), with the jails replaced by a tally of message numbers. */
class NumberedPipeline {
  readonly seen = new Map<number, number>();
  readonly pipeline = new Pipeline(
    { maxSkewMs: 15 * 60_000, timeZone: new SyslogTimeZone('UTC') },
    (event: SyslogEvent) => {
      const m = /^msg (\d+)$/.exec(event.message);
      if (m === null) throw new Error(`unexpected message ${JSON.stringify(event.message)}`);
      const n = Number(m[1]);
      this.seen.set(n, (this.seen.get(n) ?? 0) + 1);
    },
  );

  get total(): number {
    let sum = 0;
    for (const count of this.seen.values()) sum += count;
    return sum;
  }
}

function numbered(from: number, to: number): string[] {
  return Array.from({ length: to - from + 1 }, (_, i) => `msg ${from + i}`);
}

async function startRelp(
  port: number,
  sink: Pipeline,
  senders: SenderTable,
  pki?: TestCertificates,
): Promise<{ ingest: Ingest; port: number }> {
  const ingest = new Ingest(
    options({
      relp: { enabled: true, address: '127.0.0.1', port, tls: pki !== undefined },
      ...(pki === undefined
        ? {}
        : {
            tls: {
              enabled: false,
              address: '127.0.0.1',
              port: 0,
              cert: pki.cert,
              key: pki.key,
              ca: pki.ca,
              requestClientCert: true,
            },
          }),
      closeGraceMs: 5000,
    }),
    { sink, senders, clock: systemClock, log: recordingLogger() },
  );
  const at = await ingest.start();
  assert.ok(at.relp !== undefined, 'the RELP listener is bound');
  return { ingest, port: at.relp.port };
}

describe('RELP from real rsyslog (omrelp)', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const undo of cleanups.reverse()) await undo().catch(() => undefined);
  });

  it('delivers every message once, parsed, counted under relp for the sender', async () => {
    const tally = new NumberedPipeline();
    const senders = new SenderTable();
    const { ingest, port } = await startRelp(0, tally.pipeline, senders);
    cleanups.push(() => ingest.close());
    const at = ingest.stats;
    const rsyslog: RsyslogClient = await startRsyslog({
      hostname: 'relp-a',
      forwarding: Forwarding.RELP_RFC5424,
      target: { address: '127.0.0.1', port },
    });
    cleanups.push(() => rsyslog.stop());
    rsyslog.log(numbered(1, 500), { tag: 'app' });
    await waitFor(() => tally.seen.size === 500, {
      what: '500 distinct messages',
      timeoutMs: 20_000,
    });
    await rsyslog.stop();
    await ingest.whenNoConnections();
    assert.equal(tally.total, 500, 'no message twice');
    assert.equal(tally.pipeline.stats.parsed, 500);
    assert.equal(at.relp.messages, 500);
    assert.equal(at.relp.framingErrors, 0);
    assert.equal(senders.get('127.0.0.1')?.transports.relp, 500);
  });

  it('speaks RELP over TLS, client certificate required, and refuses a plain client', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleetban-relp-tls-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const pki = await makeCertificates(dir);
    const tally = new NumberedPipeline();
    const { ingest, port } = await startRelp(0, tally.pipeline, new SenderTable(), pki);
    cleanups.push(() => ingest.close());
    const rsyslog = await startRsyslog({
      hostname: 'relp-tls',
      forwarding: Forwarding.RELP_RFC5424,
      target: { address: '127.0.0.1', port },
      relpTls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey },
    });
    cleanups.push(() => rsyslog.stop());
    rsyslog.log(numbered(1, 200), { tag: 'app' });
    await waitFor(() => tally.seen.size === 200, {
      what: '200 messages over TLS',
      timeoutMs: 20_000,
    }).catch((e: unknown) => {
      throw new Error(`${String(e)}; rsyslogd said: ${rsyslog.output}`);
    });
    await rsyslog.stop();
    assert.equal(tally.total, 200);
    assert.equal(ingest.stats.relp.handshakeErrors, 0);

    // RELP in clear text to the TLS port: the handshake fails, the session never starts.
    const plain = await connectTcp('127.0.0.1', port);
    const gone = closed(plain);
    await write(plain, '1 open 14 relp_version=0\n');
    await gone;
    await ingest.whenNoConnections();
    assert.equal(ingest.stats.relp.handshakeErrors, 1);
    assert.equal(tally.total, 200);
  });

  it('loses nothing and counts nothing twice when the listener restarts while rsyslog sends', async () => {
    const TOTAL = 20_000;
    const tally = new NumberedPipeline();
    const senders = new SenderTable();
    const started = await startRelp(0, tally.pipeline, senders);
    const port = started.port;
    let ingest = started.ingest;
    cleanups.push(() => ingest.close());
    const rsyslog = await startRsyslog({
      hostname: 'relp-b',
      forwarding: Forwarding.RELP_RFC5424,
      target: { address: '127.0.0.1', port },
    });
    cleanups.push(() => rsyslog.stop());
    rsyslog.log(numbered(1, TOTAL), { tag: 'app' });
    await waitFor(() => tally.total >= 2000, {
      what: 'the first 2000 messages',
      timeoutMs: 20_000,
    });
    const first = ingest;
    await first.close();
    const beforeRestart = tally.total;
    assert.ok(beforeRestart < TOTAL, `rsyslog was still sending at the restart (${beforeRestart})`);
    assert.equal(first.stats.relp.framingErrors, 0);
    ingest = (await startRelp(port, tally.pipeline, senders)).ingest;
    await waitFor(() => tally.seen.size === TOTAL, {
      what: `all ${TOTAL} numbers after the restart`,
      timeoutMs: 60_000,
    });
    // rsyslog sends what it still holds before it exits: a duplicate would arrive by then.
    await rsyslog.stop();
    await ingest.whenNoConnections();
    const twice = [...tally.seen].filter(([, n]) => n > 1).map(([k]) => k);
    assert.deepEqual(twice.slice(0, 10), [], 'numbers delivered more than once');
    assert.equal(tally.total, TOTAL);
    assert.equal(first.stats.relp.messages + ingest.stats.relp.messages, TOTAL);
  });
});
