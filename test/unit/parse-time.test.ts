// Timestamp building blocks of the parser: RFC 3339 scanning, calendar arithmetic, zone conversion.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { daysFromCivil, daysInMonth } from '../../src/parse/civil.js';
import { parseRfc3339 } from '../../src/parse/rfc3339.js';
import { SyslogTimeZone } from '../../src/parse/time-zone.js';

describe('parseRfc3339', () => {
  const valid: readonly (readonly [string, string])[] = [
    ['2026-11-25T19:56:21Z', '2026-11-25T19:56:21.000Z'],
    ['2026-11-25t19:56:21z', '2026-11-25T19:56:21.000Z'],
    ['2026-11-25T19:56:21.1Z', '2026-11-25T19:56:21.100Z'],
    ['2026-11-25T19:56:21.123456789Z', '2026-11-25T19:56:21.123Z'],
    ['2026-11-25T19:56:21.999999+00:00', '2026-11-25T19:56:21.999Z'],
    ['2026-11-25T20:56:21+01:00', '2026-11-25T19:56:21.000Z'],
    ['2026-11-25T14:26:21-05:30', '2026-11-25T19:56:21.000Z'],
    ['2026-11-25T20:56:21+0100', '2026-11-25T19:56:21.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['2016-12-31T23:59:60Z', '2017-01-01T00:00:00.000Z'],
    ['1970-01-01T00:00:00Z', '1970-01-01T00:00:00.000Z'],
  ];
  for (const [text, iso] of valid) {
    it(`reads ${text}`, () => {
      assert.equal(parseRfc3339(text, 0, text.length), Date.parse(iso));
    });
  }

  const invalid = [
    '2026-11-25T19:56:21',
    '2026-11-25 19:56:21Z',
    '2026-11-25T19:56:21.Z',
    '2026-11-25T19:56:21+1:00',
    '2026-11-25T24:00:00Z',
    '2026-11-25T19:60:00Z',
    '2026-02-29T00:00:00Z',
    '2026-00-10T00:00:00Z',
    '2026-11-31T00:00:00Z',
    '2026-11-25T19:56:21Zjunk',
    '2026-11-25T19:56:21+24:00',
    'x026-11-25T19:56:21Z',
    '',
  ];
  for (const text of invalid) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      assert.ok(Number.isNaN(parseRfc3339(text, 0, text.length)));
    });
  }

  it('reads only the given range of a longer text', () => {
    const text = '<38>2026-11-25T19:56:21Z web-03';
    assert.equal(parseRfc3339(text, 4, 24), Date.parse('2026-11-25T19:56:21Z'));
  });
});

describe('calendar arithmetic', () => {
  it('agrees with Date.UTC on every first and last day of the month, 1999-2101', () => {
    for (let y = 1999; y <= 2101; y++) {
      for (let m = 1; m <= 12; m++) {
        const last = daysInMonth(y, m);
        assert.equal(daysFromCivil(y, m, 1) * 86_400_000, Date.UTC(y, m - 1, 1));
        assert.equal(daysFromCivil(y, m, last) * 86_400_000, Date.UTC(y, m - 1, last));
        assert.equal(new Date(Date.UTC(y, m - 1, last + 1)).getUTCDate(), 1);
      }
    }
  });
});

describe('SyslogTimeZone', () => {
  it('knows local, UTC and IANA names, and refuses others with a TypeError', () => {
    assert.ok(SyslogTimeZone.isValid('local'));
    assert.ok(SyslogTimeZone.isValid('UTC'));
    assert.ok(SyslogTimeZone.isValid('America/New_York'));
    assert.ok(!SyslogTimeZone.isValid('Mars/Olympus_Mons'));
    assert.throws(() => new SyslogTimeZone('Mars/Olympus_Mons'), TypeError);
  });

  it('returns NaN for dates that do not exist', () => {
    const zone = new SyslogTimeZone('UTC');
    assert.ok(Number.isNaN(zone.toEpoch(2026, 2, 29, 0, 0, 0)));
    assert.ok(Number.isNaN(zone.toEpoch(2026, 13, 1, 0, 0, 0)));
    assert.equal(zone.toEpoch(2028, 2, 29, 0, 0, 0), Date.UTC(2028, 1, 29));
  });

  it('converts across the New York DST change', () => {
    const zone = new SyslogTimeZone('America/New_York');
    // EDT (-4) until 1 November 2026 02:00, EST (-5) after.
    assert.equal(zone.toEpoch(2026, 10, 31, 12, 0, 0), Date.parse('2026-10-31T16:00:00Z'));
    assert.equal(zone.toEpoch(2026, 11, 2, 12, 0, 0), Date.parse('2026-11-02T17:00:00Z'));
    // 02:30 on 8 March 2026 does not exist; it moves forward to 03:30 EDT, as Date does.
    assert.equal(zone.toEpoch(2026, 3, 8, 2, 30, 0), Date.parse('2026-03-08T07:30:00Z'));
    // 01:30 on 1 November 2026 happens twice; the earlier (EDT) one is taken, as Date does.
    assert.equal(zone.toEpoch(2026, 11, 1, 1, 30, 0), Date.parse('2026-11-01T05:30:00Z'));
  });

  it('picks the year closest to the receive time, and keeps it while it stays closest', () => {
    const zone = new SyslogTimeZone('UTC');
    const stamp = (near: number): number => zone.nearest(12, 31, 23, 59, 59, near);
    assert.equal(stamp(Date.parse('2027-01-01T00:00:05Z')), Date.parse('2026-12-31T23:59:59Z'));
    assert.equal(stamp(Date.parse('2027-06-01T00:00:00Z')), Date.parse('2026-12-31T23:59:59Z'));
    // Past the half-year midpoint the next occurrence is closer.
    assert.equal(stamp(Date.parse('2027-07-15T00:00:00Z')), Date.parse('2027-12-31T23:59:59Z'));
    assert.equal(stamp(Date.parse('2026-01-10T00:00:00Z')), Date.parse('2025-12-31T23:59:59Z'));
  });

  it('infers the year in a non-UTC zone around its own New Year', () => {
    const zone = new SyslogTimeZone('Pacific/Auckland');
    // 1 January 00:00:30 in Auckland (+13) is still 31 December in UTC.
    const near = Date.parse('2026-12-31T11:00:30Z');
    assert.equal(zone.nearest(1, 1, 0, 0, 10, near), Date.parse('2026-12-31T11:00:10Z'));
    assert.equal(zone.nearest(12, 31, 23, 59, 50, near), Date.parse('2026-12-31T10:59:50Z'));
  });
});
