// The outbox worker over a real store: retries with backoff, exactly once, notify off, and after a reopen.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { ErrorCode, FleetbanError } from '../../src/core/errors.js';
import { Mailer, type MailerOptions } from '../../src/notify/mailer.js';
import type { MailTransport, OutgoingMail, SendReceipt } from '../../src/notify/transport.js';
import { LevelBanStore } from '../../src/store/level-store.js';
import { MemoryBanStore } from '../../src/store/memory-store.js';
import type { BanStore } from '../../src/store/store.js';
import { newBan } from './store-contract.js';

/** Records what it is asked to send; fails while `down` is set, like a refusing server. */
class FakeTransport implements MailTransport {
  readonly sent: OutgoingMail[] = [];
  down = false;
  attempts = 0;
  #waiters: (() => void)[] = [];
  describe(): string {
    return 'fake';
  }
  send(mail: OutgoingMail): Promise<SendReceipt> {
    this.attempts++;
    for (const w of this.#waiters.splice(0)) w();
    if (this.down)
      return Promise.reject(new FleetbanError(ErrorCode.MAIL_FAILED, 'fake: connection refused'));
    this.sent.push(mail);
    return Promise.resolve({
      messageId: mail.messageId,
      accepted: [...mail.to],
      rejected: [],
      response: '250 OK',
    });
  }
  close(): void {}
}

const OPTIONS: MailerOptions = {
  to: ['admin@example.net'],
  groupWaitMs: 60_000,
  groupThreshold: 50,
  maxPerHour: 12,
  retryMinMs: 5000,
  retryMaxMs: 40_000,
  lifecycle: false,
  timeZone: 'UTC',
  hostname: 'fleetban.test',
};

function mailer(
  store: BanStore,
  transport: MailTransport,
  clock: ManualClock,
  recipients: (jail: string) => readonly string[] = () => OPTIONS.to,
  options: Partial<MailerOptions> = {},
): Mailer {
  return new Mailer({
    store,
    transport,
    clock,
    logger: silent,
    options: { ...OPTIONS, ...options },
    recipients,
  });
}

const silent = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
  child: () => silent,
};

async function settle(m: Mailer): Promise<void> {
  // A store write wakes the mailer through its subscription; let that pass run to the end.
  await new Promise((r) => setImmediate(r));
  await m.idle();
}

describe('Mailer', () => {
  it('sends one mail per ban and deletes the notice once accepted', async () => {
    const clock = new ManualClock();
    const store = new MemoryBanStore();
    await store.open();
    const t = new FakeTransport();
    const m = mailer(store, t, clock);
    m.start();
    await store.ban([newBan('192.0.2.1', 10, { notify: true, start: clock.now() })]);
    await settle(m);
    assert.equal(t.sent.length, 1);
    assert.equal(t.sent[0]?.subject, '[fleetban] sshd: banned 192.0.2.1');
    assert.equal(t.sent[0].messageId, '<fleetban-notice-1@fleetban.test>');
    assert.deepEqual(t.sent[0].to, ['admin@example.net']);
    assert.equal(store.outboxSize(), 0);
    assert.equal(m.status().sent, 1);
    await m.close();
    await store.close();
  });

  it('a refusing server: retries with doubling backoff, loses nothing, sends each notice once', async () => {
    const clock = new ManualClock();
    const store = new MemoryBanStore();
    await store.open();
    const t = new FakeTransport();
    t.down = true;
    // A digest is due one second after its first ban, before the first retry.
    const m = mailer(store, t, clock, undefined, { groupWaitMs: 1000 });
    m.start();
    await store.ban([newBan('192.0.2.1', 10, { notify: true, start: clock.now() })]);
    await settle(m);
    const s1 = m.status();
    assert.equal(s1.failedAttempts, 1);
    assert.match(s1.lastError ?? '', /connection refused/);
    assert.equal(s1.nextRetryAt, clock.now() + 5000);
    assert.equal(s1.pending, 1);
    // More bans while down: they wait, nothing is tried before the retry time.
    await store.ban(
      [2, 3].map((i) => newBan(`192.0.2.${i}`, 10, { notify: true, start: clock.now() })),
    );
    await settle(m);
    assert.equal(t.attempts, 1);
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const at = m.status().nextRetryAt ?? 0;
      delays.push(at - clock.now());
      clock.set(at);
      m.kick();
      await m.idle();
    }
    assert.deepEqual(delays, [5000, 10_000, 20_000, 40_000]);
    assert.equal((m.status().nextRetryAt ?? 0) - clock.now(), 40_000, 'capped at retryMax');
    t.down = false;
    clock.set(m.status().nextRetryAt ?? 0);
    m.kick();
    await m.idle();
    assert.equal(t.sent.length, 1, 'one digest for the three waiting bans');
    assert.match(t.sent[0]?.subject ?? '', /3 bans in 1 jail/);
    assert.equal(store.outboxSize(), 0);
    assert.equal(m.status().nextRetryAt, null);
    assert.equal(m.status().lastSuccessAt, clock.now());
    m.kick();
    await m.idle();
    assert.equal(t.sent.length, 1, 'nothing is sent twice');
    await m.close();
    await store.close();
  });

  it('jail recipients route mail apart; notify "off" drops notices unsent', async () => {
    const clock = new ManualClock();
    const store = new MemoryBanStore();
    await store.open();
    const t = new FakeTransport();
    const m = mailer(store, t, clock, (jail) =>
      jail === 'quiet' ? [] : jail === 'postfix' ? ['mail-team@example.net'] : OPTIONS.to,
    );
    m.start();
    await store.ban([
      newBan('192.0.2.1', 10, { notify: true, jail: 'quiet', start: clock.now() }),
      newBan('192.0.2.2', 10, { notify: true, jail: 'postfix', start: clock.now() }),
      newBan('192.0.2.3', 10, { notify: true, jail: 'sshd', start: clock.now() }),
    ]);
    await settle(m);
    assert.deepEqual(t.sent.map((x) => [x.to.join(), x.subject]).sort(), [
      ['admin@example.net', '[fleetban] sshd: banned 192.0.2.3'],
      ['mail-team@example.net', '[fleetban] postfix: banned 192.0.2.2'],
    ]);
    assert.equal(store.outboxSize(), 0);
    await m.close();
    await store.close();
  });

  describe('with LevelDB', () => {
    let dir = '';
    after(async () => {
      if (dir !== '') await rm(dir, { recursive: true, force: true });
    });

    it('pending notices survive a reopen and go out once; restored bans are not re-mailed', async () => {
      dir = await mkdtemp(join(tmpdir(), 'fleetban-mailer-'));
      const clock = new ManualClock();
      const first = new LevelBanStore(dir);
      await first.open();
      await first.ban([
        newBan('192.0.2.1', 10, { notify: true, start: clock.now() }),
        newBan('192.0.2.2', 10, { start: clock.now() }),
      ]);
      await first.close();

      const t = new FakeTransport();
      const store = new LevelBanStore(dir);
      await store.open();
      assert.equal(store.outboxSize(), 1);
      const m = mailer(store, t, clock);
      m.start();
      await m.idle();
      assert.deepEqual(
        t.sent.map((x) => x.subject),
        ['[fleetban] sshd: banned 192.0.2.1'],
      );
      await m.close();
      await store.close();

      const again = new LevelBanStore(dir);
      await again.open();
      assert.equal(again.outboxSize(), 0, 'the delete was written');
      assert.equal(again.stats().activeBans, 2);
      const m2 = mailer(again, t, clock);
      m2.start();
      await m2.idle();
      assert.equal(t.sent.length, 1, 'nothing more after the second start');
      await m2.close();
      await again.close();
    });
  });
});
