// Flood control: first ban at once, bursts as digests, the hourly cap and its summary, with a ManualClock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import type { DetailedBan } from '../../src/core/types.js';
import { FloodControl, type PlannedMail } from '../../src/notify/flood.js';
import type { Notice } from '../../src/core/types.js';

const MIN = 60_000;

function notice(id: number, at: number): Notice {
  const ban: DetailedBan = {
    target: `198.51.100.${id % 250}`,
    family: 4,
    jail: 'sshd',
    origin: 'jail',
    attacker: `198.51.100.${id % 250}`,
    start: at,
    end: at + 600_000,
    banCount: 1,
    failures: 5,
    reason: '5 failures',
    seq: id,
    hosts: {},
    lines: [],
  };
  return { id, kind: 'ban', at, ban };
}

/** Drives a FloodControl like the mailer does: plan, "send", drop what was sent. */
class Harness {
  readonly clock = new ManualClock();
  readonly flood: FloodControl;
  pending: Notice[] = [];
  readonly mails: { at: number; mail: PlannedMail }[] = [];
  #next = 1;

  constructor(options = { groupWaitMs: MIN, groupThreshold: 50, maxPerHour: 12 }) {
    this.flood = new FloodControl(options, this.clock);
  }

  ban(n = 1): void {
    for (let i = 0; i < n; i++) this.pending.push(notice(this.#next++, this.clock.now()));
  }

  /** One mailer pass; returns when to come back. */
  pass(): number | null {
    for (;;) {
      const plan = this.flood.plan(this.pending);
      if (plan.mail === null) return plan.wakeAt;
      this.mails.push({ at: this.clock.now(), mail: plan.mail });
      const sent = new Set(plan.mail.notices.map((n) => n.id));
      this.pending = this.pending.filter((n) => !sent.has(n.id));
      this.flood.recordSent(plan.mail);
    }
  }
}

describe('FloodControl', () => {
  it('mails the first ban at once, then gathers the next ones into one digest after groupWait', () => {
    const h = new Harness();
    h.ban();
    assert.equal(h.pass(), null);
    assert.deepEqual(
      h.mails.map((m) => m.mail.kind),
      ['single'],
    );
    h.clock.advance(1000);
    h.ban();
    h.clock.advance(1000);
    h.ban();
    const wake = h.pass();
    assert.equal(h.mails.length, 1, 'not quiet: the next bans wait');
    assert.equal(wake, h.clock.now() - 1000 + MIN);
    h.clock.set(wake);
    assert.equal(h.pass(), null);
    assert.deepEqual(
      h.mails.map((m) => [m.mail.kind, m.mail.notices.length]),
      [
        ['single', 1],
        ['digest', 2],
      ],
    );
  });

  it('a ban alone after a quiet spell goes out at once; one that is not alone waits', () => {
    const h = new Harness();
    h.ban();
    h.pass();
    h.clock.advance(MIN);
    h.ban();
    h.pass();
    assert.deepEqual(
      h.mails.map((m) => m.mail.kind),
      ['single', 'single'],
    );
  });

  it('sends a digest at once when groupThreshold notices wait', () => {
    const h = new Harness({ groupWaitMs: 10 * MIN, groupThreshold: 5, maxPerHour: 12 });
    h.ban();
    h.pass();
    h.ban(4);
    assert.notEqual(h.pass(), null);
    assert.equal(h.mails.length, 1);
    h.ban();
    h.pass();
    assert.deepEqual(
      h.mails.map((m) => m.mail.notices.length),
      [1, 5],
    );
  });

  it('1,000 bans in one minute: at most maxPerHour mails, every ban in a digest or the summary', () => {
    const h = new Harness({ groupWaitMs: 5000, groupThreshold: 50, maxPerHour: 12 });
    for (let s = 0; s < 60; s++) {
      h.ban(s < 40 ? 17 : 16); // 40*17 + 20*16 = 1000
      h.pass();
      h.clock.advance(1000);
    }
    let wake = h.pass();
    const inMinute = h.mails.length;
    assert.ok(inMinute <= 12, `${inMinute} mails in the first minute`);
    assert.equal(h.flood.sentLastHour(), inMinute);
    assert.ok(h.pending.length > 0, 'the cap holds bans back');
    // Nothing more until the first mail leaves the hour; then exactly one summary.
    assert.ok(wake !== null && wake >= (h.mails[0]?.at ?? 0) + 3600_000);
    h.clock.set(wake - 1);
    assert.equal(h.pass(), wake);
    assert.equal(h.mails.length, inMinute);
    h.clock.set(wake);
    wake = h.pass();
    assert.equal(h.mails.length, inMinute + 1);
    const summary = h.mails.at(-1)?.mail;
    assert.equal(summary?.kind, 'summary');
    assert.equal(h.pending.length, 0);
    const ids = h.mails.flatMap((m) => m.mail.notices.map((n) => n.id)).sort((a, b) => a - b);
    assert.deepEqual(
      ids,
      Array.from({ length: 1000 }, (_, i) => i + 1),
      'each ban exactly once',
    );
    // Any rolling hour holds at most maxPerHour mails.
    for (const m of h.mails) {
      const within = h.mails.filter((o) => o.at >= m.at && o.at < m.at + 3600_000).length;
      assert.ok(within <= 12, `${within} mails in the hour from ${m.at}`);
    }
  });

  it('after the summary, mail resumes normally', () => {
    const h = new Harness({ groupWaitMs: 1000, groupThreshold: 1, maxPerHour: 2 });
    h.ban();
    h.pass();
    h.ban();
    h.pass();
    h.ban(3);
    const wake = h.pass();
    assert.equal(h.mails.length, 2);
    h.clock.set(wake ?? 0);
    h.pass();
    assert.equal(h.mails.at(-1)?.mail.kind, 'summary');
    assert.equal(h.mails.at(-1)?.mail.notices.length, 3);
    h.clock.advance(3600_000);
    h.ban();
    h.pass();
    assert.equal(h.mails.at(-1)?.mail.kind, 'single');
  });

  it('old notices found at start (a restart) go out as one digest without waiting', () => {
    const h = new Harness();
    h.ban(3);
    h.clock.advance(10 * MIN);
    assert.equal(h.pass(), null);
    assert.deepEqual(
      h.mails.map((m) => [m.mail.kind, m.mail.notices.length]),
      [['digest', 3]],
    );
  });
});
