// Mail rendering: golden text and HTML files compared byte for byte (FLEETBAN_UPDATE_GOLDEN=1 rewrites them).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { DetailedBan } from '../../src/core/types.js';
import type { Notice } from '../../src/core/types.js';
import type { RenderContext, RenderedMail } from '../../src/notify/notice.js';
import {
  MAX_DIGEST_ROWS,
  MAX_LINES,
  renderBan,
  renderDigest,
  renderNotice,
  renderSummary,
} from '../../src/notify/render.js';

const GOLDEN = fileURLToPath(new URL('../../../test/fixtures/mail/', import.meta.url));
const UPDATE = process.env['FLEETBAN_UPDATE_GOLDEN'] === '1';
const T0 = Date.UTC(2026, 2, 14, 9, 26, 53);
const CTX: RenderContext = { timeZone: 'UTC', hostname: 'fleetban.example.net' };

function ban(over: Partial<DetailedBan> = {}): DetailedBan {
  return {
    target: '203.0.113.7',
    family: 4,
    jail: 'sshd',
    origin: 'jail',
    attacker: '203.0.113.7',
    start: T0,
    end: T0 + 3600_000,
    banCount: 1,
    failures: 5,
    reason: '5 failures',
    seq: 41,
    hosts: { web1: 3, web2: 2 },
    lines: [
      'Failed password for root from 203.0.113.7 port 52144 ssh2',
      'Failed password for root from 203.0.113.7 port 52150 ssh2',
      'Failed password for invalid user admin from 203.0.113.7 port 52166 ssh2',
      'Failed password for invalid user oracle from 203.0.113.7 port 52170 ssh2',
      'Failed password for root from 203.0.113.7 port 52188 ssh2',
    ],
    ...over,
  };
}

function banNotice(b: DetailedBan): Notice {
  return { id: b.seq, kind: 'ban', at: b.start, ban: b };
}

/** Compares with test/fixtures/mail/NAME.txt and NAME.html, or writes them under FLEETBAN_UPDATE_GOLDEN=1. */
function golden(name: string, mail: RenderedMail): void {
  for (const [ext, body] of [
    ['txt', `Subject: ${mail.subject}\n\n${mail.text}`],
    ['html', mail.html],
  ] as const) {
    const file = `${GOLDEN}${name}.${ext}`;
    if (UPDATE || !existsSync(file)) {
      if (!UPDATE)
        assert.fail(`${file} is missing: run with FLEETBAN_UPDATE_GOLDEN=1 and review it`);
      writeFileSync(file, body);
    }
    assert.equal(body, readFileSync(file, 'utf8'), `${name}.${ext} differs from the golden file`);
  }
}

describe('mail rendering', () => {
  it('one ban: jail, attacker, failures per host, lines, start and end, unban command', () => {
    const mail = renderBan(ban(), CTX);
    assert.equal(mail.subject, '[fleetban] sshd: banned 203.0.113.7');
    assert.match(mail.text, /fleetban unban 203\.0\.113\.7/);
    assert.match(mail.text, /Ban end: +2026-03-14 10:26:53 UTC \(1h\)/);
    golden('ban', mail);
  });

  it('a widened, permanent ban of a repeat offender names the prefix and the ban count', () => {
    const mail = renderBan(
      ban({
        target: '2001:db8:5::/64',
        family: 6,
        attacker: '2001:db8:5::17',
        end: null,
        banCount: 3,
        jail: 'postfix',
        hosts: { mx1: 7 },
        failures: 7,
        lines: ['warning: unknown[2001:db8:5::17]: SASL LOGIN authentication failed'],
      }),
      CTX,
    );
    assert.equal(mail.subject, '[fleetban] postfix: banned 2001:db8:5::/64');
    assert.match(mail.text, /Banned prefix: +2001:db8:5::\/64 \(widened by banmask\)/);
    assert.match(mail.text, /permanent/);
    assert.match(mail.text, /yes, ban number 3/);
    golden('ban-prefix-repeat', mail);
  });

  it('a digest counts bans per jail in the subject and lists each ban', () => {
    const notices: Notice[] = [];
    for (let i = 0; i < 27; i++) {
      const jail = i % 4 === 3 ? 'postfix' : 'sshd';
      notices.push(
        banNotice(
          ban({
            target: `198.51.100.${i + 1}`,
            attacker: `198.51.100.${i + 1}`,
            jail,
            seq: 100 + i,
            start: T0 + i * 1000,
            end: T0 + i * 1000 + 600_000,
          }),
        ),
      );
    }
    notices.push({
      id: 200,
      kind: 'unban',
      at: T0 + 30_000,
      ban: ban({ seq: 7 }),
      reason: 'expired',
    });
    const mail = renderDigest(notices, CTX);
    assert.equal(mail.subject, '[fleetban] 27 bans in 2 jails (sshd 21, postfix 6), 1 unban');
    for (const n of notices) assert.ok(mail.text.includes(n.ban.target), n.ban.target);
    golden('digest', mail);
  });

  it('the summary says how many more were suppressed and points at fleetban bans', () => {
    const notices: Notice[] = Array.from({ length: 449 }, (_, i) =>
      banNotice(
        ban({
          target: `192.0.2.${i % 250}`,
          jail: i < 400 ? 'sshd' : 'nginx-http-auth',
          seq: i + 1,
        }),
      ),
    );
    const mail = renderSummary(notices, 12, CTX);
    assert.equal(mail.subject, '[fleetban] 449 more bans suppressed, see `fleetban bans`');
    golden('summary', mail);
  });

  it('an unban mail when mail.onUnban is on', () => {
    golden(
      'unban',
      renderNotice({ id: 9, kind: 'unban', at: T0 + 3600_000, ban: ban(), reason: 'expired' }, CTX),
    );
  });

  it('escapes attacker-controlled text in HTML and strips control characters from text', () => {
    const evil = '<script>alert("x")</script>\r\nBcc: victim@example.net';
    const mail = renderBan(ban({ lines: [evil], hosts: { '<b>web</b>': 1 } }), CTX);
    assert.ok(!mail.html.includes('<script>'));
    assert.ok(mail.html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'));
    assert.ok(mail.html.includes('&lt;b&gt;web&lt;/b&gt;'));
    assert.ok(!mail.text.includes('\r'));
    assert.ok(mail.text.includes('</script>??Bcc: victim@example.net'));
  });

  it('caps matched lines and truncates long ones; caps digest rows with "and N more"', () => {
    const lines = Array.from(
      { length: 25 },
      (_, i) => `line ${i} ${'x'.repeat(i === 24 ? 5000 : 10)}`,
    );
    const mail = renderBan(ban({ lines, failures: 25 }), CTX);
    assert.equal((mail.text.match(/^ {2}line /gm) ?? []).length, MAX_LINES);
    assert.ok(!mail.text.includes('line 14 '), 'the oldest lines are dropped first');
    assert.ok(mail.text.split('\n').every((l) => l.length < 400));
    const many = Array.from({ length: MAX_DIGEST_ROWS + 5 }, (_, i) =>
      banNotice(ban({ target: `10.0.${i >> 8}.${i & 255}`, seq: i + 1 })),
    );
    assert.match(renderDigest(many, CTX).text, /and 5 more: see `fleetban bans`/);
  });
});
