// bantime.increment table: fail2ban's formula, multipliers, factor, maxtime, rndtime, overalljails.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BantimeIncrement } from '../../src/jails/jail-config.js';
import type { AttackerHistory } from '../../src/core/types.js';
import { computeBantime, previousBans } from '../../src/jails/policy.js';

const inc = (over: Partial<BantimeIncrement> = {}): BantimeIncrement => ({
  enabled: true,
  factor: 1,
  multipliers: [],
  maxtime: null,
  rndtime: 0,
  overalljails: false,
  ...over,
});

const history = (perJail: Record<string, number>): AttackerHistory => ({
  attacker: '192.0.2.1',
  bans: Object.values(perJail).reduce((a, b) => a + b, 0),
  perJail,
  lastBanAt: 0,
  lastBantime: 600,
});

const none = (): number => 0;

test('computeBantime table', () => {
  const table: [string, number | null, BantimeIncrement, AttackerHistory | null, number | null][] =
    [
      ['increment off: plain bantime', 600, inc({ enabled: false }), history({ sshd: 5 }), 600],
      ['permanent stays permanent', null, inc(), history({ sshd: 5 }), null],
      ['first offence: bantime', 600, inc(), null, 600],
      ['first offence in this jail: bantime', 600, inc(), history({ other: 3 }), 600],
      ['1 earlier ban: x2', 600, inc(), history({ sshd: 1 }), 1200],
      ['2 earlier bans: x4', 600, inc(), history({ sshd: 2 }), 2400],
      ['5 earlier bans: x32', 600, inc(), history({ sshd: 5 }), 19200],
      ['doubling stops at 2^20', 1, inc(), history({ sshd: 40 }), 2 ** 20],
      ['factor multiplies', 600, inc({ factor: 3 }), history({ sshd: 1 }), 3600],
      [
        'factor below 1 never shortens the formula below bantime',
        600,
        inc({ factor: 0.1 }),
        history({ sshd: 1 }),
        600,
      ],
      ['maxtime caps', 600, inc({ maxtime: 3600 }), history({ sshd: 4 }), 3600],
      [
        'multipliers indexed by earlier bans',
        60,
        inc({ multipliers: [1, 5, 30, 60] }),
        history({ sshd: 2 }),
        1800,
      ],
      [
        'multipliers: last one repeats',
        60,
        inc({ multipliers: [1, 5, 30, 60] }),
        history({ sshd: 9 }),
        3600,
      ],
      [
        'multipliers times factor',
        60,
        inc({ multipliers: [1, 5], factor: 2 }),
        history({ sshd: 1 }),
        600,
      ],
      [
        'overalljails counts every jail',
        600,
        inc({ overalljails: true }),
        history({ other: 2, sshd: 1 }),
        4800,
      ],
    ];
  for (const [what, bantime, increment, hist, expected] of table) {
    assert.equal(computeBantime({ name: 'sshd', bantime, increment }, hist, none), expected, what);
  }
});

test('rndtime adds 0..rndtime after the maxtime cap', () => {
  const jail = { name: 'sshd', bantime: 600, increment: inc({ maxtime: 1000, rndtime: 100 }) };
  assert.equal(
    computeBantime(jail, history({ sshd: 3 }), () => 0),
    1000,
  );
  assert.equal(
    computeBantime(jail, history({ sshd: 3 }), () => 0.5),
    1050,
  );
  assert.equal(
    computeBantime(jail, history({ sshd: 3 }), () => 0.999),
    1100,
  );
  // First offence: fail2ban adds nothing.
  assert.equal(
    computeBantime(jail, null, () => 0.5),
    600,
  );
});

test('previousBans reads the jail count or the total', () => {
  assert.equal(previousBans({ name: 'sshd', increment: inc() }, history({ sshd: 2, web: 5 })), 2);
  assert.equal(
    previousBans(
      { name: 'sshd', increment: inc({ overalljails: true }) },
      history({ sshd: 2, web: 5 }),
    ),
    7,
  );
  assert.equal(previousBans({ name: 'toString', increment: inc() }, history({ sshd: 2 })), 0);
});
