// The outbox against a real SMTP server (STARTTLS, AUTH): content, floods, an outage, bad credentials.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, afterEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { Mailer, type MailerOptions } from '../../src/notify/mailer.js';
import { NodemailerTransport, type SmtpSettings } from '../../src/notify/smtp-transport.js';
import { LevelBanStore } from '../../src/store/level-store.js';
import { newBan } from '../unit/store-contract.js';
import { SMTP_PASS, SMTP_USER, SmtpFixture } from './mail-smtp-fixture.js';

const TO = ['admin@example.net'];
const OPTIONS: MailerOptions = {
  to: TO,
  groupWaitMs: 5000,
  groupThreshold: 50,
  maxPerHour: 12,
  retryMinMs: 1000,
  retryMaxMs: 8000,
  lifecycle: false,
  timeZone: 'UTC',
  hostname: 'fleetban.test',
};

describe('mail through a real SMTP server', () => {
  let smtp: SmtpFixture;
  let dir: string;
  let store: LevelBanStore;
  let mailer: Mailer | null = null;
  const clock = new ManualClock();

  before(async () => {
    smtp = await SmtpFixture.start();
  });
  after(async () => {
    await smtp.close();
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetban-mail-'));
    store = new LevelBanStore(dir);
    await store.open();
    smtp.received.length = 0;
    await smtp.resume();
  });
  afterEach(async () => {
    await mailer?.close();
    mailer = null;
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  function settings(over: Partial<SmtpSettings> = {}): SmtpSettings {
    return {
      kind: 'smtp',
      host: '127.0.0.1',
      port: smtp.port,
      secure: false,
      requireTLS: true,
      user: SMTP_USER,
      pass: SMTP_PASS,
      rejectUnauthorized: true,
      ca: smtp.certFile,
      ...over,
    };
  }

  function startMailer(
    over: Partial<SmtpSettings> = {},
    options: Partial<MailerOptions> = {},
  ): Mailer {
    mailer = new Mailer({
      store,
      transport: new NodemailerTransport(settings(over), 'fleetban@example.net'),
      clock,
      logger: silentLogger,
      options: { ...OPTIONS, ...options },
      recipients: () => TO,
    });
    mailer.start();
    return mailer;
  }

  /** A store write wakes the mailer; wait for that pass (and any it chains) to finish. */
  async function settle(m: Mailer): Promise<void> {
    await new Promise((r) => setImmediate(r));
    await m.idle();
  }

  it('one ban: exactly one mail over STARTTLS with AUTH, naming jail, attacker, hosts, lines and the unban command', async () => {
    const m = startMailer();
    await store.ban([
      newBan('203.0.113.7', 60, {
        notify: true,
        start: clock.now(),
        end: clock.now() + 3600_000,
        hosts: { web1: 3, web2: 2 },
        lines: ['Failed password for root from 203.0.113.7 port 22 ssh2'],
      }),
    ]);
    await smtp.waitForCount(1);
    await settle(m);
    assert.equal(smtp.received.length, 1);
    const mail = smtp.received[0];
    assert.ok(mail !== undefined);
    assert.equal(mail.subject, '[fleetban] sshd: banned 203.0.113.7');
    assert.equal(mail.secure, true, 'upgraded with STARTTLS');
    assert.equal(mail.user, SMTP_USER);
    assert.deepEqual(mail.to, TO);
    assert.equal(mail.from, 'fleetban@example.net');
    assert.equal(mail.messageId, '<fleetban-notice-1@fleetban.test>');
    for (const s of [
      'Jail:',
      'sshd',
      'web1  3',
      'web2  2',
      'port 22 ssh2',
      'fleetban unban 203.0.113.7',
    ])
      assert.ok(mail.text.includes(s), `text has ${s}`);
    assert.match(mail.html, /<table/);
    assert.equal(store.outboxSize(), 0);
    assert.equal(m.status().sent, 1);
  });

  it('1,000 bans in one minute: at most maxPerHour mails, every ban in a digest or the summary count', async () => {
    const m = startMailer();
    let next = 0;
    for (let s = 0; s < 60; s++) {
      const bans = Array.from({ length: s < 40 ? 17 : 16 }, () => {
        next++;
        return newBan(`10.1.${next >> 8}.${next & 255}`, 60, { notify: true, start: clock.now() });
      });
      await store.ban(bans);
      await settle(m);
      clock.advance(1000);
    }
    await settle(m);
    const inMinute = smtp.received.length;
    assert.ok(inMinute <= 12 && inMinute > 1, `${inMinute} mails in the minute`);
    assert.ok(store.outboxSize() > 0, 'the cap holds the rest');
    clock.advance(3600_000);
    m.kick();
    await m.idle();
    assert.equal(smtp.received.length, inMinute + 1);
    const counted = smtp.received.map((mail) => {
      const digest = /\] (\d+) bans? in/.exec(mail.subject);
      const summary = /\] (\d+) more bans? suppressed/.exec(mail.subject);
      if (digest) return Number(digest[1]);
      if (summary) return Number(summary[1]);
      assert.match(mail.subject, /: banned /);
      return 1;
    });
    assert.equal(
      counted.reduce((a, b) => a + b, 0),
      1000,
    );
    assert.match(smtp.received.at(-1)?.subject ?? '', /suppressed, see `fleetban bans`/);
    assert.equal(store.outboxSize(), 0);
  });

  it('silent-sender alerts share maxPerHour with ban mail to mail.to: held at the cap across a restart, then one summary', async () => {
    const sender = (address: string, name: string) => ({
      address,
      name,
      lastSeen: clock.now() - 900_000,
      flaggedAt: clock.now(),
    });
    const event = (kind: 'silent' | 'back', ...senders: ReturnType<typeof sender>[]) => ({
      at: clock.now(),
      kind,
      senders,
      silentAfterMs: 900_000,
    });
    const start = clock.now();
    const options = { maxPerHour: 3 };
    let m = startMailer({}, options);
    m.silentSenders(event('silent', sender('10.0.0.3', 'web-3')));
    await smtp.waitForCount(1);
    assert.equal(smtp.received[0]?.subject, '[fleetban] sender web-3 (10.0.0.3) silent for 15m');

    // Ban mail to the same recipients right after is not "quiet": it waits groupWait.
    await store.ban([newBan('203.0.113.7', 60, { notify: true, start: clock.now() })]);
    await settle(m);
    assert.equal(smtp.received.length, 1);
    clock.advance(5000);
    m.kick();
    await smtp.waitForCount(2);
    assert.equal(smtp.received[1]?.subject, '[fleetban] sshd: banned 203.0.113.7');

    m.silentSenders(event('back', sender('10.0.0.3', 'web-3')));
    await settle(m);
    assert.equal(smtp.received.length, 2, 'an alert right after a mail waits groupWait too');
    clock.advance(5000);
    m.kick();
    await smtp.waitForCount(3);
    assert.equal(smtp.received[2]?.subject, '[fleetban] sender web-3 (10.0.0.3) sending again');

    // The three mails are in the store: a restarted mailer is still at the cap.
    await m.close();
    m = startMailer({}, options);
    m.silentSenders(event('silent', sender('10.0.0.4', 'db-1'), sender('10.0.0.5', '')));
    clock.advance(1000);
    m.silentSenders(event('back', sender('10.0.0.4', 'db-1')));
    await store.ban([newBan('203.0.113.8', 60, { notify: true, start: clock.now() })]);
    clock.advance(5000);
    m.kick();
    await settle(m);
    assert.equal(smtp.received.length, 3, 'nothing beyond mail.maxPerHour');

    clock.set(start + 3600_000 + 10_001);
    m.kick();
    await smtp.waitForCount(5);
    await settle(m);
    assert.equal(smtp.received.length, 5);
    const alerts = smtp.received[3];
    assert.equal(alerts?.subject, '[fleetban] senders: 2 gone silent, 1 sending again');
    assert.match(alerts.text, /limit of 3 mails per hour \(mail\.maxPerHour\)/);
    assert.match(alerts.text, /silent for 15m\s+db-1 \(10\.0\.0\.4\)/);
    assert.match(alerts.text, /silent for 15m\s+10\.0\.0\.5\n/);
    assert.match(alerts.text, /sending again\s+db-1 \(10\.0\.0\.4\)/);
    assert.match(smtp.received[4]?.subject ?? '', /1 more ban suppressed/);
    assert.equal(store.outboxSize(), 0);
  });

  it('SMTP refusing connections, then back: every pending mail delivered exactly once', async () => {
    await smtp.stop();
    const m = startMailer({}, { groupWaitMs: 500 });
    await store.ban([newBan('198.51.100.1', 60, { notify: true, start: clock.now() })]);
    await settle(m);
    assert.equal(m.status().failedAttempts, 1);
    assert.match(m.status().lastError ?? '', /cannot reach the mail server/);
    await store.ban(
      [2, 3].map((i) => newBan(`198.51.100.${i}`, 60, { notify: true, start: clock.now() })),
    );
    await settle(m);
    // Still down at the first retry: nothing lost, the wait doubles.
    clock.set(m.status().nextRetryAt ?? 0);
    m.kick();
    await m.idle();
    assert.equal(m.status().failedAttempts, 2);
    assert.equal((m.status().nextRetryAt ?? 0) - clock.now(), 2000);
    assert.equal(store.outboxSize(), 3);
    await smtp.resume();
    clock.set(m.status().nextRetryAt ?? 0);
    m.kick();
    await m.idle();
    m.kick();
    await m.idle();
    assert.equal(smtp.received.length, 1);
    const text = smtp.received[0]?.text ?? '';
    for (const ip of ['198.51.100.1', '198.51.100.2', '198.51.100.3'])
      assert.equal(text.split(ip).length - 1, 1, `${ip} once`);
    assert.equal(store.outboxSize(), 0);
    assert.equal(m.status().nextRetryAt, null);
  });

  it('bad credentials: a clear error in the status, the notice kept for later', async () => {
    const before = smtp.authFailures;
    const m = startMailer({ pass: 'wrong password' });
    await store.ban([newBan('192.0.2.44', 60, { notify: true, start: clock.now() })]);
    await settle(m);
    const s = m.status();
    assert.match(
      s.lastError ?? '',
      /authentication failed \(check mail\.smtp\.user and mail\.smtp\.pass\)/,
    );
    assert.match(s.lastError ?? '', /535/);
    assert.ok(!(s.lastError ?? '').includes('wrong password'), 'the password is never shown');
    assert.equal(s.pending, 1);
    assert.equal(smtp.authFailures, before + 1);
    assert.equal(smtp.received.length, 0);
  });

  it('a certificate the client cannot verify is refused unless rejectUnauthorized is off', async () => {
    const strict = startMailer({ ca: '' });
    await store.ban([newBan('192.0.2.45', 60, { notify: true, start: clock.now() })]);
    await settle(strict);
    assert.match(strict.status().lastError ?? '', /certificate/i);
    await strict.close();
    mailer = null;
    const lax = startMailer({ ca: '', rejectUnauthorized: false });
    await smtp.waitForCount(1);
    await settle(lax);
    assert.equal(smtp.received.length, 1);
  });
});
