// Dashboard sessions: random ids, expiry by the injected clock, sign-out, a user's sessions ended at once, CSRF comparison, cookie parsing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { cookieValue, csrfMatches, Sessions } from '../../src/dashboard/sessions.js';

describe('Sessions', () => {
  it('a session lives until its expiry, then is gone', () => {
    const clock = new ManualClock();
    const sessions = new Sessions(clock, 60_000);
    const s = sessions.create('alice', 'admin');
    assert.match(s.id, /^[A-Za-z0-9_-]{43}$/);
    assert.match(s.csrf, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(s.id, s.csrf);
    assert.equal(s.expires, clock.now() + 60_000);
    clock.advance(59_999);
    assert.equal(sessions.get(s.id)?.user, 'alice');
    clock.advance(1);
    assert.equal(sessions.get(s.id), undefined, 'expired');
    assert.equal(sessions.size, 0, 'and dropped');
  });

  it('sign-out ends one session; removing a user ends all of its sessions', () => {
    const sessions = new Sessions(new ManualClock(), 60_000);
    const a1 = sessions.create('alice', 'admin');
    const a2 = sessions.create('alice', 'admin');
    const b = sessions.create('bob', 'viewer');
    sessions.end(a1.id);
    assert.equal(sessions.get(a1.id), undefined);
    assert.ok(sessions.get(a2.id) !== undefined);
    sessions.endUser('alice');
    assert.equal(sessions.get(a2.id), undefined);
    assert.equal(sessions.get(b.id)?.role, 'viewer');
    assert.equal(sessions.get(undefined), undefined);
    assert.equal(sessions.get('made-up'), undefined);
  });

  it('ids are never reused across many sessions', () => {
    const sessions = new Sessions(new ManualClock(), 60_000);
    const ids = new Set<string>();
    for (let i = 0; i < 1000; i++) ids.add(sessions.create('u', 'viewer').id);
    assert.equal(ids.size, 1000);
  });

  it('the CSRF token must match exactly', () => {
    const s = new Sessions(new ManualClock(), 60_000).create('alice', 'admin');
    assert.equal(csrfMatches(s, s.csrf), true);
    assert.equal(csrfMatches(s, undefined), false);
    assert.equal(csrfMatches(s, ''), false);
    assert.equal(csrfMatches(s, `${s.csrf}x`), false);
    assert.equal(csrfMatches(s, s.csrf.slice(0, -1) + (s.csrf.endsWith('A') ? 'B' : 'A')), false);
  });
});

describe('cookieValue', () => {
  it('finds one cookie among several, and nothing in a missing header', () => {
    assert.equal(cookieValue('a=1; fleetban_session=xyz; b=2', 'fleetban_session'), 'xyz');
    assert.equal(cookieValue('fleetban_session=xyz', 'fleetban_session'), 'xyz');
    assert.equal(cookieValue('xfleetban_session=no', 'fleetban_session'), undefined);
    assert.equal(cookieValue(undefined, 'fleetban_session'), undefined);
    assert.equal(cookieValue('garbage', 'fleetban_session'), undefined);
  });
});
