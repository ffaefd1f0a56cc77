// Webhooks against a real local HTTP receiver: each format, HMAC, retries while it is down or failing, restarts.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ManualClock, systemClock, type Clock } from '../../src/core/clock.js';
import { ErrorCode, isFleetbanError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { WebhookDeliverer, type WebhookOptions } from '../../src/notify/webhook.js';
import { eventOf, renderWebhookBody, type WebhookFormat } from '../../src/notify/webhook-body.js';
import { LevelBanStore } from '../../src/store/level-store.js';
import { MemoryBanStore } from '../../src/store/memory-store.js';
import type { BanStore } from '../../src/store/store.js';
import { makeCertificates } from '../helpers/certs.js';
import { WebhookReceiver as Receiver } from '../helpers/webhook-receiver.js';
import { waitFor } from '../helpers/wait.js';
import { newBan } from './store-contract.js';

let dir: string;
let files = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetban-webhook-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function options(url: string, extra: Partial<WebhookOptions> = {}): WebhookOptions {
  return {
    url,
    name: 'webhook 1 (127.0.0.1)',
    format: 'json',
    secret: '',
    hmac: '',
    ca: '',
    events: ['ban', 'unban'],
    positionFile: join(dir, `position-${++files}.json`),
    server: 'fleetban.test',
    retryMinMs: 20,
    retryMaxMs: 100,
    timeoutMs: 5000,
    groupWaitMs: 0,
    groupThreshold: 50,
    maxPerHour: 1000,
    ...extra,
  };
}

function deliverer(
  store: BanStore,
  o: WebhookOptions,
  clock: Clock = systemClock,
): WebhookDeliverer {
  return new WebhookDeliverer(o, {
    store,
    clock,
    logger: silentLogger,
    wants: () => true,
  });
}

async function withMemoryStore<T>(fn: (store: MemoryBanStore) => Promise<T>): Promise<T> {
  const store = new MemoryBanStore();
  await store.open();
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

describe('webhooks', () => {
  for (const format of ['json', 'slack', 'mattermost'] as const satisfies WebhookFormat[]) {
    it(`delivers a ban exactly once as ${format}`, async () => {
      const r = new Receiver();
      await r.listen();
      await withMemoryStore(async (store) => {
        const w = deliverer(store, options(r.url, { format }));
        await w.start();
        const [ban] = await store.ban([newBan('198.51.100.7')]);
        await waitFor(() => r.got.length === 1, { what: 'one POST' });
        await w.idle();
        await w.close();
        assert.equal(r.got.length, 1);
        const got = r.got[0];
        assert.ok(got !== undefined && ban !== undefined);
        assert.equal(got.headers['content-type'], 'application/json');
        assert.equal(got.headers['x-fleetban-delivery'], `${ban.seq}-${ban.seq}`);
        const body = JSON.parse(got.body) as Record<string, unknown>;
        if (format === 'json') {
          assert.equal(body.server, 'fleetban.test');
          const events = body.events as Record<string, unknown>[];
          assert.equal(events.length, 1);
          assert.deepEqual(
            {
              seq: events[0]?.seq,
              event: events[0]?.event,
              target: events[0]?.target,
              jail: events[0]?.jail,
              end: events[0]?.end,
              failures: events[0]?.failures,
              hosts: events[0]?.hosts,
            },
            {
              seq: ban.seq,
              event: 'ban',
              target: '198.51.100.7',
              jail: 'sshd',
              end: ban.end,
              failures: 5,
              hosts: { web1: 3, web2: 2 },
            },
          );
        } else {
          assert.equal(typeof body.text, 'string');
          assert.match(
            body.text as string,
            /\[sshd\] Ban 198\.51\.100\.7 until .* after 5 failures on web1, web2/,
          );
        }
      });
      await r.close();
    });
  }

  it('sends the secret header and an HMAC signature the receiver can verify', async () => {
    const r = new Receiver();
    await r.listen();
    await withMemoryStore(async (store) => {
      const w = deliverer(store, options(r.url, { secret: 's3cret', hmac: 'k3y' }));
      await w.start();
      await store.ban([newBan('198.51.100.8')]);
      await waitFor(() => r.got.length === 1, { what: 'one POST' });
      await w.close();
    });
    await r.close();
    const got = r.got[0];
    assert.ok(got !== undefined);
    assert.equal(got.headers['x-fleetban-secret'], 's3cret');
    const expected = `sha256=${createHmac('sha256', 'k3y').update(got.body).digest('hex')}`;
    assert.equal(got.headers['x-fleetban-signature'], expected);
    const forged = `sha256=${createHmac('sha256', 'other').update(got.body).digest('hex')}`;
    assert.notEqual(got.headers['x-fleetban-signature'], forged);
  });

  it('reaches an HTTPS receiver signed by a private CA only with ca set; status tells position, delivery and error', async () => {
    const pki = join(dir, 'pki');
    await mkdir(pki, { recursive: true });
    const certs = await makeCertificates(pki);
    const r = new Receiver({ cert: await readFile(certs.cert), key: await readFile(certs.key) });
    await r.listen();
    assert.match(r.url, /^https:/);
    await withMemoryStore(async (store) => {
      const positionFile = join(dir, `position-${++files}.json`);
      const without = deliverer(store, options(r.url, { positionFile }));
      await without.start();
      await store.ban([newBan('198.51.100.20')]);
      await waitFor(() => without.status().failed >= 1, { what: 'a refused TLS handshake' });
      await without.close();
      const refused = without.status();
      assert.match(refused.lastError ?? '', /certificate/i);
      assert.equal(typeof refused.lastErrorAt, 'number');
      assert.deepEqual([refused.position, refused.pending, refused.lastDeliveryAt], [0, 1, null]);
      assert.equal(r.got.length, 0);

      const before = Date.now();
      const w = deliverer(store, options(r.url, { positionFile, ca: certs.ca }));
      await w.start();
      await waitFor(() => r.got.length === 1, { what: 'the POST over HTTPS' });
      await waitFor(() => w.status().pending === 0, { what: 'the position past the ban' });
      await w.close();
      const s = w.status();
      assert.deepEqual([s.position, s.sent, s.failed, s.lastError], [1, 1, 0, null]);
      assert.ok(s.lastDeliveryAt !== null && s.lastDeliveryAt >= before);
      assert.match(r.got[0]?.body ?? '', /198\.51\.100\.20/);

      const missing = deliverer(
        store,
        options(r.url, { ca: join(pki, 'nope.pem'), caKey: 'notify.webhooks[0].ca' }),
      );
      await assert.rejects(missing.start(), (e: unknown) => {
        assert.ok(isFleetbanError(e));
        assert.equal(e.code, ErrorCode.TLS_CONFIG_INVALID);
        assert.match(e.message, /notify\.webhooks\[0\]\.ca .*nope\.pem/);
        return true;
      });
    });
    await r.close();
  });

  it('keeps a notice while the receiver is down and delivers it once when it is back', async () => {
    const r = new Receiver();
    await r.listen();
    const port = r.port;
    await r.close();
    await withMemoryStore(async (store) => {
      const w = deliverer(store, options(`http://127.0.0.1:${port}/hook`));
      await w.start();
      await store.ban([newBan('198.51.100.9')]);
      await waitFor(() => w.status().failed >= 2, { what: 'two failed attempts while down' });
      assert.equal(w.status().pending, 1);
      await r.listen(port);
      await waitFor(() => r.got.length === 1, { what: 'the POST once the receiver is back' });
      await waitFor(() => w.status().pending === 0, { what: 'nothing pending' });
      // Several more retry periods: nothing else arrives.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await w.close();
      assert.equal(r.got.length, 1);
      assert.equal(w.status().sent, 1);
    });
    await r.close();
  });

  it('retries 500 and 429, drops a 400 or a redirect with its reason and goes on', async () => {
    const r = new Receiver();
    await r.listen();
    r.statuses.push(500, 503, 429);
    await withMemoryStore(async (store) => {
      const w = deliverer(store, options(r.url));
      await w.start();
      await store.ban([newBan('198.51.100.10')]);
      await waitFor(() => r.got.length === 1, { what: 'the POST after three refusals' });
      assert.equal(w.status().failed, 3);
      r.statuses.push(400);
      await store.ban([newBan('198.51.100.11')]);
      await waitFor(() => w.status().dropped === 1, { what: 'the 400 drop' });
      r.statuses.push(308);
      await store.ban([newBan('198.51.100.13')]);
      await waitFor(() => w.status().dropped === 2, { what: 'the redirect dropped, not followed' });
      assert.match(w.status().lastError ?? '', /HTTP 308/);
      r.statuses.push(400);
      await store.ban([newBan('198.51.100.14')]);
      await waitFor(() => w.status().dropped === 3, { what: 'another 400 drop' });
      await store.ban([newBan('198.51.100.12')]);
      await waitFor(() => r.got.length === 2, { what: 'the next ban after the drop' });
      await w.close();
      assert.equal(w.status().failed, 3);
      assert.match(w.status().lastError ?? '', /HTTP 400/);
      const targets = r.got.map(
        (g) => (JSON.parse(g.body) as { events: { target: string }[] }).events[0]?.target,
      );
      assert.deepEqual(targets, ['198.51.100.10', '198.51.100.12']);
    });
    await r.close();
  });

  it('sends only the events asked for', async () => {
    const r = new Receiver();
    await r.listen();
    await withMemoryStore(async (store) => {
      const w = deliverer(store, options(r.url, { events: ['unban'] }));
      await w.start();
      await store.ban([newBan('198.51.100.13')]);
      await store.unban([{ target: '198.51.100.13', at: Date.now(), reason: 'manual' }]);
      await waitFor(() => r.got.length === 1, { what: 'the unban POST' });
      await w.idle();
      await w.close();
      const body = JSON.parse(r.got[0]?.body ?? '') as { events: Record<string, unknown>[] };
      assert.deepEqual(
        body.events.map((e) => [e.event, e.target, e.reason]),
        [['unban', '198.51.100.13', 'manual']],
      );
    });
    await r.close();
  });

  it('a restarted deliverer on the same LevelDB store and position re-sends nothing acknowledged', async () => {
    const r = new Receiver();
    await r.listen();
    const path = join(dir, 'level');
    const o = options(r.url);
    const store = new LevelBanStore(path);
    await store.open();
    const first = deliverer(store, o);
    await first.start();
    await store.ban([newBan('198.51.100.20')]);
    await store.ban([newBan('198.51.100.21')]);
    await waitFor(() => first.status().pending === 0 && r.got.length >= 1, {
      what: 'both bans delivered',
    });
    await first.close();
    const seqs = r.got.flatMap((g) =>
      (JSON.parse(g.body) as { events: { seq: number }[] }).events.map((e) => e.seq),
    );
    assert.equal(seqs.length, 2);
    const saved = JSON.parse(await readFile(o.positionFile, 'utf8')) as { seq: number };
    assert.equal(saved.seq, store.stats().lastSeq);
    await store.close();

    // Down while a ban is written: the next start delivers it, and only it.
    const reopened = new LevelBanStore(path);
    await reopened.open();
    await reopened.ban([newBan('198.51.100.22')]);
    const before = r.got.length;
    const second = deliverer(reopened, o);
    await second.start();
    await waitFor(() => r.got.length === before + 1, { what: 'the ban written while stopped' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await second.close();
    await reopened.close();
    await r.close();
    assert.equal(r.got.length, before + 1);
    const last = JSON.parse(r.got[before]?.body ?? '') as { events: { target: string }[] };
    assert.deepEqual(
      last.events.map((e) => e.target),
      ['198.51.100.22'],
    );
  });

  it('a first start does not replay bans from before it', async () => {
    const r = new Receiver();
    await r.listen();
    await withMemoryStore(async (store) => {
      await store.ban([newBan('198.51.100.30')]);
      const w = deliverer(store, options(r.url));
      await w.start();
      await store.ban([newBan('198.51.100.31')]);
      await waitFor(() => r.got.length === 1, { what: 'the new ban' });
      await w.idle();
      await w.close();
      const body = JSON.parse(r.got[0]?.body ?? '') as { events: { target: string }[] };
      assert.deepEqual(
        body.events.map((e) => e.target),
        ['198.51.100.31'],
      );
    });
    await r.close();
  });

  it('gathers events into digests and holds them past maxPerHour, across a restart', async () => {
    const r = new Receiver();
    await r.listen();
    const clock = new ManualClock(Date.now());
    const o = options(r.url, { groupWaitMs: 60_000, groupThreshold: 3, maxPerHour: 3 });
    const bodies = (): { kind: string; targets: string[] }[] =>
      r.got.map((g) => {
        const b = JSON.parse(g.body) as { kind: string; events: { target: string }[] };
        return { kind: b.kind, targets: b.events.map((e) => e.target) };
      });
    /** Bans start now on the test's clock: flood control groups by when they happened. */
    const banNow = (target: string): ReturnType<typeof newBan> =>
      newBan(target, 10, { start: clock.now(), end: clock.now() + 600_000 });
    await withMemoryStore(async (store) => {
      const w = deliverer(store, o, clock);
      await w.start();
      await store.ban([banNow('198.51.100.40')]);
      await waitFor(() => r.got.length === 1, { what: 'the first ban at once' });
      await store.ban([banNow('198.51.100.41')]);
      await store.ban([banNow('198.51.100.42')]);
      await w.idle();
      assert.equal(r.got.length, 1, 'two bans within groupWait wait');
      await store.ban([banNow('198.51.100.43')]);
      await waitFor(() => r.got.length === 2, { what: 'the digest at groupThreshold' });
      clock.advance(60_000);
      await store.ban([banNow('198.51.100.44')]);
      await waitFor(() => r.got.length === 3, { what: 'a single ban after a quiet minute' });
      clock.advance(60_000);
      await store.ban([banNow('198.51.100.45')]);
      await w.idle();
      await w.close();
      assert.equal(r.got.length, 3, 'the hourly cap holds the fourth POST');

      const again = deliverer(store, o, clock);
      await again.start();
      await store.ban([banNow('198.51.100.46')]);
      await again.idle();
      assert.equal(r.got.length, 3, 'the cap holds across a restart');
      clock.advance(3600_000);
      again.kick();
      await waitFor(() => r.got.length === 4, { what: 'the summary once the hour allows' });
      await again.idle();
      await again.close();
    });
    await r.close();
    assert.deepEqual(bodies(), [
      { kind: 'single', targets: ['198.51.100.40'] },
      { kind: 'digest', targets: ['198.51.100.41', '198.51.100.42', '198.51.100.43'] },
      { kind: 'single', targets: ['198.51.100.44'] },
      { kind: 'summary', targets: ['198.51.100.45', '198.51.100.46'] },
    ]);
  });

  it('a crash before the position is written re-sends only the last POST, with the same delivery id', async () => {
    const r = new Receiver();
    await r.listen();
    const o = options(r.url);
    await withMemoryStore(async (store) => {
      const w = deliverer(store, o);
      await w.start();
      const [a] = await store.ban([newBan('198.51.100.50')]);
      await waitFor(() => r.got.length === 1, { what: 'the first POST' });
      await store.ban([newBan('198.51.100.51')]);
      await waitFor(() => w.status().pending === 0 && r.got.length === 2, {
        what: 'the second POST',
      });
      await w.close();
      // What a crash between the receiver's 200 and the position write leaves behind.
      assert.ok(a !== undefined);
      await writeFile(o.positionFile, JSON.stringify({ seq: a.seq, sent: [] }));
      const again = deliverer(store, o);
      await again.start();
      await waitFor(() => r.got.length === 3, { what: 'the repeated POST' });
      await again.idle();
      await again.close();
    });
    await r.close();
    const ids = r.got.map((g) => g.headers['x-fleetban-delivery']);
    assert.equal(ids[2], ids[1]);
    assert.notEqual(ids[1], ids[0]);
    assert.equal(r.got[2]?.body, r.got[1]?.body);
  });

  it('a chat message lists 20 events and counts the rest', () => {
    const events = Array.from({ length: 25 }, (_, i) =>
      eventOf(
        {
          seq: i + 1,
          kind: 'unban',
          target: `192.0.2.${i}`,
          jail: 'sshd',
          at: 0,
          reason: 'expired',
        },
        {},
      ),
    );
    const { text } = JSON.parse(renderWebhookBody('slack', 'summary', events, 'fb1')) as {
      text: string;
    };
    const lines = text.split('\n');
    assert.equal(lines[0], 'fleetban on fb1: 25 events held back by notify.maxPerHour');
    assert.equal(lines.length, 22);
    assert.equal(lines[1], '[sshd] Unban 192.0.2.0 (expired)');
    assert.equal(lines[21], '… and 5 more');
    const json = JSON.parse(renderWebhookBody('json', 'summary', events, 'fb1')) as {
      events: unknown[];
    };
    assert.equal(json.events.length, 25);
  });
});
