// Byte-by-byte expectations for parseSyslog: real sender output, every variant, garbage and time rules.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ParseError, SyslogEvent } from '../../src/core/types.js';
import {
  isParseError,
  parseSyslog,
  ParseReason,
  SyslogTimeZone,
  type ParseOptions,
} from '../../src/parse/syslog.js';

const PEER = '192.0.2.10';
const RECEIVED = Date.parse('2026-11-25T19:56:30Z');
const utc: ParseOptions = { maxSkewMs: 86_400_000, timeZone: new SyslogTimeZone('UTC') };
const SSHD_FAIL = 'Failed password for invalid user admin from 198.51.100.7 port 51234 ssh2';

interface EventCase {
  readonly name: string;
  readonly text: string;
  readonly receivedAt?: number;
  /** Every field but peer and receivedAt, which are the inputs. */
  readonly expect: Omit<SyslogEvent, 'peer' | 'receivedAt'>;
}

/** Expected fields of a message stamped 2026-11-25T19:56:21Z from web-03's sshd[1234]. */
function sshd(over: Partial<Omit<SyslogEvent, 'peer' | 'receivedAt'>>): EventCase['expect'] {
  return {
    format: 'rfc3164',
    facility: 4,
    severity: 6,
    time: Date.parse('2026-11-25T19:56:21Z'),
    hostname: 'web-03',
    program: 'sshd',
    pid: '1234',
    message: SSHD_FAIL,
    ...over,
  };
}

const rfc3164Cases: readonly EventCase[] = [
  {
    name: 'syslog-ng 3.38 default network() output',
    text: `<38>Nov 25 19:56:21 web-03 sshd[1234]: ${SSHD_FAIL}`,
    expect: sshd({}),
  },
  {
    name: 'rsyslog 8.2302 RSYSLOG_ForwardFormat (microseconds, +00:00)',
    text: `<38>2026-11-25T19:56:21.123456+00:00 web-03 sshd[1234]: ${SSHD_FAIL}`,
    expect: sshd({ time: Date.parse('2026-11-25T19:56:21.123Z') }),
  },
  {
    name: 'RSYSLOG_ForwardFormat from a host in +01:00',
    text: `<38>2026-11-25T20:56:21.5+01:00 web-03 sshd[1234]: ${SSHD_FAIL}`,
    expect: sshd({ time: Date.parse('2026-11-25T19:56:21.500Z') }),
  },
  {
    name: 'day padded with a space (Nov  5), postfix program with a slash',
    text: '<86>Nov  5 03:04:05 mail-1 postfix/smtpd[991]: warning: unknown[203.0.113.9]: SASL LOGIN authentication failed',
    receivedAt: Date.parse('2026-11-05T03:04:07Z'),
    expect: {
      format: 'rfc3164',
      facility: 10,
      severity: 6,
      time: Date.parse('2026-11-05T03:04:05Z'),
      hostname: 'mail-1',
      program: 'postfix/smtpd',
      pid: '991',
      message: 'warning: unknown[203.0.113.9]: SASL LOGIN authentication failed',
    },
  },
  {
    name: 'day without padding (Nov 5)',
    text: '<38>Nov 5 03:04:05 web-03 sshd[1234]: x',
    receivedAt: Date.parse('2026-11-05T03:04:07Z'),
    expect: sshd({ time: Date.parse('2026-11-05T03:04:05Z'), message: 'x' }),
  },
  {
    name: 'syslog-ng frac-digits(3) stamp',
    text: `<38>Nov 25 19:56:21.250 web-03 sshd[1234]: ${SSHD_FAIL}`,
    expect: sshd({ time: Date.parse('2026-11-25T19:56:21.250Z') }),
  },
  {
    name: 'no HOSTNAME (logger -d, local socket): TAG with pid',
    text: '<13>Nov 25 19:56:21 sshd[12]: msg',
    expect: sshd({ facility: 1, severity: 5, hostname: PEER, pid: '12', message: 'msg' }),
  },
  {
    name: 'no HOSTNAME: TAG with colon only',
    text: '<4>Nov 25 19:56:21 kernel: [12345.678] IN=eth0 SRC=198.51.100.7',
    expect: sshd({
      facility: 0,
      severity: 4,
      hostname: PEER,
      program: 'kernel',
      pid: '',
      message: '[12345.678] IN=eth0 SRC=198.51.100.7',
    }),
  },
  {
    name: 'logger --rfc3164 to the network',
    text: '<13>Nov 25 19:56:21 web-03 root: hello world',
    expect: sshd({ facility: 1, severity: 5, program: 'root', pid: '', message: 'hello world' }),
  },
  {
    name: 'logger --rfc3164 --id=4242',
    text: '<13>Nov 25 19:56:21 web-03 root[4242]: hello world',
    expect: sshd({
      facility: 1,
      severity: 5,
      program: 'root',
      pid: '4242',
      message: 'hello world',
    }),
  },
  {
    name: 'TAG without colon',
    text: `<38>Nov 25 19:56:21 web-03 sshd ${SSHD_FAIL}`,
    expect: sshd({ pid: '' }),
  },
  {
    name: 'TAG with pid, without colon',
    text: `<38>Nov 25 19:56:21 web-03 sshd[1234] ${SSHD_FAIL}`,
    expect: sshd({}),
  },
  {
    name: 'TAG with an unclosed bracket stays one word',
    text: '<38>Nov 25 19:56:21 web-03 sshd[12 x',
    expect: sshd({ program: 'sshd[12', pid: '', message: 'x' }),
  },
  {
    name: 'only one space after the TAG is a separator',
    text: '<38>Nov 25 19:56:21 web-03 sshd[1234]:   indented',
    expect: sshd({ message: '  indented' }),
  },
  {
    name: 'empty MSG after the TAG',
    text: '<38>Nov 25 19:56:21 web-03 sshd[1234]:',
    expect: sshd({ message: '' }),
  },
  {
    name: 'timestamp and HOSTNAME only',
    text: '<38>Nov 25 19:56:21 web-03',
    expect: sshd({ program: '', pid: '', message: '' }),
  },
  {
    name: 'IPv4 HOSTNAME',
    text: `<38>Nov 25 19:56:21 198.51.100.20 sshd[1234]: ${SSHD_FAIL}`,
    expect: sshd({ hostname: '198.51.100.20' }),
  },
  {
    name: 'IPv6 HOSTNAME',
    text: `<38>Nov 25 19:56:21 2001:db8::20 sshd[1234]: ${SSHD_FAIL}`,
    expect: sshd({ hostname: '2001:db8::20' }),
  },
  {
    name: 'IPv6 HOSTNAME ending in a colon is not a TAG',
    text: `<38>Nov 25 19:56:21 2001:db8:: sshd[1234]: ${SSHD_FAIL}`,
    expect: sshd({ hostname: '2001:db8::' }),
  },
  {
    name: 'bracketed IPv6 HOSTNAME',
    text: `<38>Nov 25 19:56:21 [2001:db8::20] sshd[1234]: ${SSHD_FAIL}`,
    expect: sshd({ hostname: '2001:db8::20' }),
  },
  {
    name: 'trailing LF stripped',
    text: `<38>Nov 25 19:56:21 web-03 sshd[1234]: ${SSHD_FAIL}\n`,
    expect: sshd({}),
  },
  {
    name: 'trailing CR LF stripped',
    text: `<38>Nov 25 19:56:21 web-03 sshd[1234]: ${SSHD_FAIL}\r\n`,
    expect: sshd({}),
  },
  {
    name: 'trailing NUL stripped',
    text: `<38>Nov 25 19:56:21 web-03 sshd[1234]: ${SSHD_FAIL}\0`,
    expect: sshd({}),
  },
  {
    name: 'lowest PRI <0>',
    text: '<0>Nov 25 19:56:21 web-03 sshd[1234]: x',
    expect: sshd({ facility: 0, severity: 0, message: 'x' }),
  },
  {
    name: 'highest PRI <191>',
    text: '<191>Nov 25 19:56:21 web-03 sshd[1234]: x',
    expect: sshd({ facility: 23, severity: 7, message: 'x' }),
  },
  {
    name: 'missing PRI: parsed as RFC 3164 with facility and severity -1',
    text: `Nov 25 19:56:21 web-03 sshd[1234]: ${SSHD_FAIL}\n`,
    expect: sshd({ facility: -1, severity: -1 }),
  },
  {
    name: 'missing PRI, ForwardFormat stamp',
    text: `2026-11-25T19:56:21Z web-03 sshd[1234]: ${SSHD_FAIL}`,
    expect: sshd({ facility: -1, severity: -1 }),
  },
  {
    name: 'missing PRI and timestamp: bare text',
    text: 'Failed password for root from 198.51.100.7\tport 22\r\n',
    expect: {
      format: 'bare',
      facility: -1,
      severity: -1,
      time: RECEIVED,
      hostname: PEER,
      program: '',
      pid: '',
      message: 'Failed password for root from 198.51.100.7\tport 22',
    },
  },
  {
    name: 'PRI without timestamp, first word not a TAG: all message',
    text: '<13>hello world',
    expect: sshd({
      facility: 1,
      severity: 5,
      time: RECEIVED,
      hostname: PEER,
      program: '',
      pid: '',
      message: 'hello world',
    }),
  },
  {
    name: 'PRI without timestamp, TAG first',
    text: '<13>sshd[12]: msg',
    expect: sshd({
      facility: 1,
      severity: 5,
      time: RECEIVED,
      hostname: PEER,
      pid: '12',
      message: 'msg',
    }),
  },
  {
    name: 'a date that exists in no nearby year keeps the receive time',
    text: '<38>Nov 31 19:56:21 web-03 sshd[1234]: x',
    expect: sshd({ time: RECEIVED, message: 'x' }),
  },
];

const rfc5424Cases: readonly EventCase[] = [
  {
    name: 'rsyslog 8.2302 RSYSLOG_SyslogProtocol23Format (two spaces before MSG, LF)',
    text: `<38>1 2026-11-25T19:56:21.123456+00:00 web-03 sshd 1234 - -  ${SSHD_FAIL}\n`,
    expect: sshd({ format: 'rfc5424', time: Date.parse('2026-11-25T19:56:21.123Z') }),
  },
  {
    name: 'logger --rfc5424 (timeQuality structured data)',
    text: '<13>1 2026-11-25T19:56:21.654321+00:00 web-03 root - - [timeQuality tzKnown="1" isSynced="1" syncAccuracy="466500"] hello from logger',
    expect: sshd({
      format: 'rfc5424',
      facility: 1,
      severity: 5,
      time: Date.parse('2026-11-25T19:56:21.654Z'),
      program: 'root',
      pid: '',
      message: 'hello from logger',
    }),
  },
  {
    name: 'syslog-ng 3.38 syslog() driver (sequenceId)',
    text: `<38>1 2026-11-25T19:56:21+00:00 web-03 sshd 1234 - [meta sequenceId="17"] ${SSHD_FAIL}`,
    expect: sshd({ format: 'rfc5424' }),
  },
  {
    name: 'RFC 5424 example 3: multiple SD elements, BOM at MSG start',
    text: '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"] \uFEFFAn application event log entry',
    receivedAt: Date.parse('2003-10-11T22:14:16Z'),
    expect: {
      format: 'rfc5424',
      facility: 20,
      severity: 5,
      time: Date.parse('2003-10-11T22:14:15.003Z'),
      hostname: 'mymachine.example.com',
      program: 'evntslog',
      pid: '',
      message: 'An application event log entry',
    },
  },
  {
    name: 'escaped ] " and \\ inside PARAM-VALUE',
    text: '<38>1 2026-11-25T19:56:21Z web-03 sshd 1234 - [a@1 x="q\\]r" y="\\"quoted\\"" z="back\\\\"][b@2 k="v"] msg',
    expect: sshd({ format: 'rfc5424', message: 'msg' }),
  },
  {
    name: 'offset -05:00',
    text: '<38>1 2026-11-25T14:56:21-05:00 web-03 sshd 1234 - - x',
    expect: sshd({ format: 'rfc5424', message: 'x' }),
  },
  {
    name: 'NILVALUE everywhere, no MSG',
    text: '<165>1 - - - - - -',
    expect: {
      format: 'rfc5424',
      facility: 20,
      severity: 5,
      time: RECEIVED,
      hostname: PEER,
      program: '',
      pid: '',
      message: '',
    },
  },
  {
    name: 'NILVALUE everywhere, BOM then MSG, CR LF',
    text: '<165>1 - - - - - - \uFEFFjust text\r\n',
    expect: {
      format: 'rfc5424',
      facility: 20,
      severity: 5,
      time: RECEIVED,
      hostname: PEER,
      program: '',
      pid: '',
      message: 'just text',
    },
  },
  {
    name: 'IPv6 HOSTNAME',
    text: '<38>1 2026-11-25T19:56:21Z 2001:db8::20 sshd 1234 - - x',
    expect: sshd({ format: 'rfc5424', hostname: '2001:db8::20', message: 'x' }),
  },
];

interface ErrorCase {
  readonly name: string;
  readonly text: string;
  readonly reason: ParseReason;
}

const errorCases: readonly ErrorCase[] = [
  { name: 'empty string', text: '', reason: ParseReason.EMPTY },
  { name: 'only line ends and NUL', text: '\r\n\0\n', reason: ParseReason.EMPTY },
  { name: 'PRI and nothing else', text: '<13>', reason: ParseReason.EMPTY },
  { name: 'PRI above 191', text: '<999>', reason: ParseReason.BAD_PRI },
  {
    name: 'PRI above 191 with text',
    text: '<192>Nov 25 19:56:21 h p: m',
    reason: ParseReason.BAD_PRI,
  },
  { name: 'PRI not a number', text: '<abc>', reason: ParseReason.BAD_PRI },
  { name: 'empty PRI', text: '<>x', reason: ParseReason.BAD_PRI },
  { name: 'PRI with four digits', text: '<1234>x', reason: ParseReason.BAD_PRI },
  { name: 'unclosed PRI', text: '<13', reason: ParseReason.BAD_PRI },
  { name: 'lone <', text: '<', reason: ParseReason.BAD_PRI },
  { name: 'bare text with control bytes', text: 'abc\x01\x02def', reason: ParseReason.NOT_SYSLOG },
  { name: 'bare text from bad UTF-8', text: 'ab\uFFFD\uFFFDcd', reason: ParseReason.NOT_SYSLOG },
  {
    name: 'impossible clock time',
    text: '<13>Nov 25 25:61:00 web-03 sshd: x',
    reason: ParseReason.BAD_TIMESTAMP,
  },
  {
    name: 'control byte in HOSTNAME',
    text: '<13>Nov 25 19:56:21 we\x01b sshd: x',
    reason: ParseReason.BAD_HEADER,
  },
  {
    name: 'control byte in TAG',
    text: '<13>Nov 25 19:56:21 web-03 ss\x07hd: x',
    reason: ParseReason.BAD_HEADER,
  },
  {
    name: '5424 bad month',
    text: '<13>1 2026-13-01T00:00:00Z web-03 app - - - x',
    reason: ParseReason.BAD_TIMESTAMP,
  },
  {
    name: '5424 timestamp without zone',
    text: '<13>1 2026-11-25T19:56:21 web-03 app - - - x',
    reason: ParseReason.BAD_TIMESTAMP,
  },
  { name: '5424 truncated after HOSTNAME', text: '<13>1 - web-03', reason: ParseReason.TRUNCATED },
  { name: '5424 without STRUCTURED-DATA', text: '<13>1 - - - - -', reason: ParseReason.TRUNCATED },
  { name: '5424 empty field', text: '<13>1 - web-03  - - - x', reason: ParseReason.BAD_HEADER },
  {
    name: '5424 unterminated SD element',
    text: '<13>1 - - - - - [a@1 x="y"',
    reason: ParseReason.BAD_STRUCTURED_DATA,
  },
  {
    name: '5424 unterminated quote (escaped ])',
    text: '<13>1 - - - - - [a@1 x="y\\] msg',
    reason: ParseReason.BAD_STRUCTURED_DATA,
  },
  {
    name: '5424 SD not followed by a space',
    text: '<13>1 - - - - - [a@1]msg',
    reason: ParseReason.BAD_STRUCTURED_DATA,
  },
  {
    name: '5424 SD neither - nor [',
    text: '<13>1 - - - - - x msg',
    reason: ParseReason.BAD_STRUCTURED_DATA,
  },
];

function parse(text: string, receivedAt = RECEIVED, options = utc): SyslogEvent | ParseError {
  return parseSyslog(text, PEER, receivedAt, options);
}

function expectEvent(result: SyslogEvent | ParseError): SyslogEvent {
  if (isParseError(result)) assert.fail(`unexpected parse error: ${result.reason}`);
  return result;
}

for (const [suite, cases] of [
  ['RFC 3164 and its variants', rfc3164Cases],
  ['RFC 5424', rfc5424Cases],
] as const) {
  describe(`parseSyslog: ${suite}`, () => {
    for (const c of cases) {
      it(c.name, () => {
        const receivedAt = c.receivedAt ?? RECEIVED;
        const result = expectEvent(parse(c.text, receivedAt));
        assert.deepEqual(result, { ...c.expect, receivedAt, peer: PEER });
        // One property order for every event keeps the pipeline monomorphic.
        assert.deepEqual(Object.keys(result), [
          'format',
          'facility',
          'severity',
          'time',
          'receivedAt',
          'hostname',
          'peer',
          'program',
          'pid',
          'message',
        ]);
      });
    }
  });
}

describe('parseSyslog: refused input', () => {
  for (const c of errorCases) {
    it(c.name, () => {
      const result = parse(c.text);
      assert.ok(isParseError(result), `expected an error, got ${JSON.stringify(result)}`);
      assert.equal(result.reason, c.reason);
    });
  }

  it('random bytes decoded as UTF-8 are refused, never thrown', () => {
    let seed = 0x2545f491;
    const random = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 24;
    };
    for (let n = 0; n < 2000; n++) {
      const bytes = Buffer.alloc(16 + (n % 200), 0);
      for (let i = 0; i < bytes.length; i++) bytes[i] = random();
      const result = parse(bytes.toString('utf8'));
      assert.ok(isParseError(result), `accepted ${JSON.stringify(bytes.toString('utf8'))}`);
    }
  });

  it('every prefix and every byte flip of real lines parses or is refused, never throws', () => {
    const lines = [...rfc3164Cases, ...rfc5424Cases].map((c) => c.text);
    for (const line of lines) {
      for (let cut = 0; cut <= line.length; cut++) {
        check(parse(line.slice(0, cut)));
        const flipped =
          line.slice(0, cut) + '\x00 [":]<>\uFFFD'.charAt(cut % 10) + line.slice(cut + 1);
        check(parse(flipped));
      }
    }
    function check(result: SyslogEvent | ParseError): void {
      if (isParseError(result)) {
        assert.ok(Object.values(ParseReason).includes(result.reason as ParseReason));
      } else {
        assert.equal(typeof result.message, 'string');
        assert.ok(Number.isFinite(result.time));
        assert.ok(result.facility >= -1 && result.facility <= 23);
      }
    }
  });
});

describe('parseSyslog: event time', () => {
  const line = (stamp: string): string => `<38>${stamp} web-03 sshd[1234]: x`;

  it('believes a message time within maxSkewMs, inclusive', () => {
    const options = { ...utc, maxSkewMs: 60_000 };
    const at = Date.parse('2026-11-25T19:57:21Z');
    assert.equal(expectEvent(parse(line('Nov 25 19:56:21'), at, options)).time, at - 60_000);
  });

  it('uses the receive time when the sender clock is too far behind', () => {
    const options = { ...utc, maxSkewMs: 60_000 };
    const at = Date.parse('2026-11-25T19:57:21.001Z');
    assert.equal(expectEvent(parse(line('Nov 25 19:56:21'), at, options)).time, at);
  });

  it('uses the receive time when the sender clock is too far ahead (RFC 5424)', () => {
    const options = { ...utc, maxSkewMs: 3_600_000 };
    const text = '<38>1 2026-11-25T21:56:21Z web-03 sshd 1234 - - x';
    assert.equal(expectEvent(parse(text, RECEIVED, options)).time, RECEIVED);
  });

  it('uses the receive time when the stamp is years old (RSYSLOG_ForwardFormat)', () => {
    const text = line('2019-01-01T00:00:00Z');
    assert.equal(expectEvent(parse(text)).time, RECEIVED);
  });

  it('puts Dec 31 23:59:59 received on 1 January in the previous year', () => {
    const at = Date.parse('2027-01-01T00:00:05Z');
    const event = expectEvent(parse(line('Dec 31 23:59:59'), at));
    assert.equal(event.time, Date.parse('2026-12-31T23:59:59Z'));
  });

  it('puts Jan  1 00:00:01 received on 31 December in the next year', () => {
    const at = Date.parse('2026-12-31T23:59:58Z');
    const event = expectEvent(parse(line('Jan  1 00:00:01'), at));
    assert.equal(event.time, Date.parse('2027-01-01T00:00:01Z'));
  });

  it('does not reuse a memoised year once the receive time has moved on', () => {
    const options: ParseOptions = { maxSkewMs: 86_400_000, timeZone: new SyslogTimeZone('UTC') };
    const first = Date.parse('2026-06-15T12:00:01Z');
    const second = Date.parse('2027-06-15T12:00:01Z');
    assert.equal(
      expectEvent(parse(line('Jun 15 12:00:00'), first, options)).time,
      Date.parse('2026-06-15T12:00:00Z'),
    );
    assert.equal(
      expectEvent(parse(line('Jun 15 12:00:00'), second, options)).time,
      Date.parse('2027-06-15T12:00:00Z'),
    );
  });

  it('reads 29 February in the nearest leap year, or not at all', () => {
    const leap = Date.parse('2028-02-29T10:00:05Z');
    assert.equal(
      expectEvent(parse(line('Feb 29 10:00:00'), leap)).time,
      Date.parse('2028-02-29T10:00:00Z'),
    );
    const plain = Date.parse('2026-03-01T00:00:00Z');
    assert.equal(expectEvent(parse(line('Feb 29 10:00:00'), plain)).time, plain);
  });

  it('reads RFC 3164 stamps in the configured IANA zone, summer and winter', () => {
    const options: ParseOptions = {
      maxSkewMs: 86_400_000,
      timeZone: new SyslogTimeZone('Europe/Berlin'),
    };
    assert.equal(
      expectEvent(parse(line('Nov 25 20:56:21'), RECEIVED, options)).time,
      Date.parse('2026-11-25T19:56:21Z'),
    );
    const summer = Date.parse('2026-07-15T12:00:30Z');
    assert.equal(
      expectEvent(parse(line('Jul 15 14:00:00'), summer, options)).time,
      Date.parse('2026-07-15T12:00:00Z'),
    );
  });

  it("reads RFC 3164 stamps in the server's local zone when no zone is given", () => {
    const options: ParseOptions = { maxSkewMs: 86_400_000 };
    const expected = new Date(2026, 10, 25, 19, 56, 21).getTime();
    assert.equal(
      expectEvent(parse(line('Nov 25 19:56:21'), expected + 9000, options)).time,
      expected,
    );
    const shared: ParseOptions = { maxSkewMs: 86_400_000, timeZone: new SyslogTimeZone() };
    assert.equal(
      expectEvent(parse(line('Nov 25 19:56:21'), expected + 9000, shared)).time,
      expected,
    );
  });

  it('ignores the zone for stamps that carry an offset', () => {
    const options: ParseOptions = {
      maxSkewMs: 86_400_000,
      timeZone: new SyslogTimeZone('Asia/Tokyo'),
    };
    const event = expectEvent(parse(line('2026-11-25T19:56:21Z'), RECEIVED, options));
    assert.equal(event.time, Date.parse('2026-11-25T19:56:21Z'));
  });
});
