// Program routing: exact names and `*` patterns, any case, and the engine sending lines only to the jails that listen.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { CidrSet } from '../../src/core/ip.js';
import type { BanRequest, SyslogEvent } from '../../src/core/types.js';
import { parseJailFile } from '../../src/config/jail-options.js';
import { JailEngine } from '../../src/jails/engine.js';
import { ProgramSet } from '../../src/jails/programs.js';

test('ProgramSet matches exact names and * patterns without regard to case', () => {
  const set = new ProgramSet(['sshd', 'postfix*/smtpd', 'wordpress*']);
  const cases: [string, boolean][] = [
    ['sshd', true],
    ['SSHD', true],
    ['sshd-session', false],
    ['postfix/smtpd', true],
    ['postfix-out/smtpd', true],
    ['postfix/submission/smtpd', true],
    ['postfix/smtp', false],
    ['postfix/smtpd2', false],
    ['wordpress(blog.example.org)', true],
    ['xwordpress', false],
    ['', false],
  ];
  assert.deepEqual(
    cases.map(([program]) => [program, set.has(program)]),
    cases,
  );
  assert.equal(new ProgramSet([]).isEmpty, true);
  assert.equal(set.isEmpty, false);
});

test('ProgramSet treats regex characters in names literally', () => {
  const set = new ProgramSet(['a.b*', 'c+d']);
  assert.equal(set.has('a.bX'), true);
  assert.equal(set.has('aXb'), false);
  assert.equal(set.has('c+d'), true);
  assert.equal(set.has('ccd'), false);
});

test('mayAppearIn rules out raw lines that hold none of the literal parts', () => {
  const set = new ProgramSet(['postfix*/smtpd']);
  assert.equal(set.mayAppearIn('Oct 10 00:00:00 mx postfix-out/smtpd[1]: x'), true);
  assert.equal(set.mayAppearIn('Oct 10 00:00:00 mx dovecot[1]: x'), false);
});

test('the engine routes a second postfix instance to the postfix jail and nothing else', () => {
  const clock = new ManualClock();
  const requests: BanRequest[] = [];
  const jails = parseJailFile('t.json', {
    postfix: { filter: 'postfix', maxretry: 2 },
    sshd: { filter: 'sshd', maxretry: 2 },
  });
  const engine = new JailEngine({
    jails,
    ignore: new CidrSet(),
    maxTrackedAttackers: 100,
    clock,
    onBan: (r) => requests.push(r),
  });
  const event = (program: string, message: string): SyslogEvent => ({
    format: 'rfc3164',
    facility: 2,
    severity: 6,
    time: clock.now(),
    receivedAt: clock.now(),
    hostname: 'mx1',
    peer: '192.0.2.1',
    program,
    pid: '42',
    message,
  });
  const sasl = 'warning: unknown[203.0.113.9]: SASL LOGIN authentication failed: UGFzc3dvcmQ6';
  engine.process(event('postfix-out/smtpd', sasl));
  engine.process(event('postfix-out/smtpd', sasl));
  assert.deepEqual(
    requests.map((r) => [r.jail, r.attacker]),
    [['postfix', '203.0.113.9']],
  );
  const stats = Object.fromEntries(engine.stats().map((s) => [s.name, s.linesSeen]));
  assert.deepEqual(stats, { postfix: 2, sshd: 0 });
});
