// Byte-by-byte expectations for what relaying senders put on the wire: busybox syslogd, socklog/svlogd, metalog, FreeBSD syslogd.
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
const RECEIVED = Date.parse('2026-12-02T10:00:05Z');
const STAMPED = Date.parse('2026-12-02T10:00:00Z');
const utc: ParseOptions = { maxSkewMs: 86_400_000, timeZone: new SyslogTimeZone('UTC') };
const FAIL = 'Failed password for root from 203.0.113.5 port 51234 ssh2';

type Fields = Omit<SyslogEvent, 'peer' | 'receivedAt'>;

interface Case {
  readonly name: string;
  readonly text: string;
  readonly expect: Fields;
}

/** sshd[811] on the sending host, no HOSTNAME in the line, stamped 10:00:00 UTC. */
function sshd(over: Partial<Fields>): Fields {
  return {
    format: 'rfc3164',
    facility: 4,
    severity: 6,
    time: STAMPED,
    hostname: PEER,
    program: 'sshd',
    pid: '811',
    message: FAIL,
    ...over,
  };
}

// busybox sysklogd/syslogd.c, do_syslogd(): with -R the datagram read from /dev/log is sent
// unchanged plus "\n" ("We are not modifying log messages in any way before send"), so the wire
// carries what the C library wrote: no HOSTNAME.
const busybox: readonly Case[] = [
  {
    // glibc misc/syslog.c, __vsyslog_internal(): "<%d>", strftime "%h %e %T ", LogTag, "[%d]", ": ".
    name: 'busybox -R, glibc program with LOG_PID',
    text: `<38>Dec  2 10:00:00 sshd[811]: ${FAIL}\n`,
    expect: sshd({}),
  },
  {
    // musl src/misc/syslog.c, _vsyslog(): "<%d>%s %n%s%s%.0d%s: " with "%b %e %T" from gmtime_r.
    name: 'busybox -R, musl program (dropbear) with LOG_PID',
    text: "<38>Dec  2 10:00:00 dropbear[812]: Bad password attempt for 'root' from 203.0.113.5:51234\n",
    expect: sshd({
      program: 'dropbear',
      pid: '812',
      message: "Bad password attempt for 'root' from 203.0.113.5:51234",
    }),
  },
  {
    // musl: without openlog() the ident is empty, so the TAG is just ": ".
    name: 'busybox -R, musl program that never called openlog (empty ident)',
    text: '<13>Dec  2 10:00:00 : started\n',
    expect: sshd({ facility: 1, severity: 5, program: '', pid: '', message: 'started' }),
  },
  {
    // busybox sysklogd/klogd.c: openlog("kernel", 0, LOG_KERN), then syslog() per line.
    name: 'busybox klogd line forwarded by busybox syslogd',
    text: '<4>Dec  2 10:00:00 kernel: [ 1234.567890] IN=eth0 SRC=203.0.113.5 DST=192.0.2.10\n',
    expect: sshd({
      facility: 0,
      severity: 4,
      program: 'kernel',
      pid: '',
      message: '[ 1234.567890] IN=eth0 SRC=203.0.113.5 DST=192.0.2.10',
    }),
  },
];

// socklog forwards through svlogd: socklog.c read_socket() writes each message to svlogd, raw
// with -R or with the PRI turned into "facility.priority: " (print_syslog_names()); socklog inet
// first writes "a.b.c.d: " (remote_info()). svlogd.c main() sends each line by UDP (config "u"
// or "U"), after its -t / -tt / -ttt stamp and a space (fmt_ptime.c: TAI64N, or UTC
// YYYY-MM-DD_HH:MM:SS.fffff, or the same with T).
const socklog: readonly Case[] = [
  {
    name: 'socklog -R unix, svlogd U without stamp',
    text: `<38>Dec  2 10:00:00 sshd[811]: ${FAIL}\n`,
    expect: sshd({}),
  },
  {
    name: 'socklog -R unix, svlogd -tt: the UTC stamp is the event time',
    text: `2026-12-02_10:00:01.12345 <38>Dec  2 10:00:00 sshd[811]: ${FAIL}\n`,
    expect: sshd({ time: Date.parse('2026-12-02T10:00:01.123Z') }),
  },
  {
    name: 'socklog -R unix, svlogd -ttt (ISO 8601 stamp)',
    text: `2026-12-02T10:00:01.12345 <38>Dec  2 10:00:00 sshd[811]: ${FAIL}\n`,
    expect: sshd({ time: Date.parse('2026-12-02T10:00:01.123Z') }),
  },
  {
    name: 'socklog -R unix, svlogd -t (TAI64N stamp)',
    text: `@400000006b0fec2b075bcd15 <38>Dec  2 10:00:00 sshd[811]: ${FAIL}\n`,
    expect: sshd({ time: Date.parse('2026-12-02T10:00:01.123Z') }),
  },
  {
    name: 'socklog unix without -R: facility and priority names instead of the PRI',
    text: `auth.info: Dec  2 10:00:00 sshd[811]: ${FAIL}\n`,
    expect: sshd({ facility: 4, severity: 6 }),
  },
  {
    name: 'socklog names for authpriv and warn, svlogd -tt',
    text: `2026-12-02_10:00:01.12345 authpriv.warn: Dec  2 10:00:00 sshd[811]: ${FAIL}\n`,
    expect: sshd({ facility: 10, severity: 4, time: Date.parse('2026-12-02T10:00:01.123Z') }),
  },
  {
    name: 'socklog inet relay: the sender address stands for the HOSTNAME',
    text: `198.51.100.20: auth.info: Dec  2 10:00:00 sshd[811]: ${FAIL}\n`,
    expect: sshd({ hostname: '198.51.100.20' }),
  },
  {
    name: 'socklog -R inet relay with svlogd -tt',
    text: `2026-12-02_10:00:01.12345 198.51.100.20: <38>Dec  2 10:00:00 sshd[811]: ${FAIL}\n`,
    expect: sshd({ hostname: '198.51.100.20', time: Date.parse('2026-12-02T10:00:01.123Z') }),
  },
  {
    name: 'socklog inet relay of a line that names its HOSTNAME: the line wins',
    text: `198.51.100.20: <38>Dec  2 10:00:00 web-03 sshd[811]: ${FAIL}\n`,
    expect: sshd({ hostname: 'web-03' }),
  },
];

// metalog src/metalog.c, sendRemote(): sprintf(line, "[%s] %s\n", prg, info): no PRI, time or
// host, and parseLogLine() has already dropped the pid.
const metalog: readonly Case[] = [
  {
    name: 'metalog remote_log line',
    text: `[sshd] ${FAIL}\n`,
    expect: sshd({
      facility: -1,
      severity: -1,
      time: RECEIVED,
      pid: '',
    }),
  },
  {
    name: 'metalog kernel line (program "kernel")',
    text: '[kernel] IN=eth0 SRC=203.0.113.5\n',
    expect: sshd({
      facility: -1,
      severity: -1,
      time: RECEIVED,
      program: 'kernel',
      pid: '',
      message: 'IN=eth0 SRC=203.0.113.5',
    }),
  },
];

// FreeBSD usr.sbin/syslogd/syslogd.c. fprintlog_rfc3164(), F_FORW: "<PRI>" RFC3164_DATEFMT
// (" Forwarded from HOST:" when the line came from elsewhere) " " "APP[PID]: " MSG. The -v/-vv
// "<facility.priority>" goes only to files (the default: branch), never to the network.
// fprintlog_rfc5424() (-O rfc5424): "%FT%T.______%z" with microseconds and a colon put in the offset.
const freebsd: readonly Case[] = [
  {
    name: 'FreeBSD syslogd forwarding its own message (no HOSTNAME)',
    text: `<38>Dec  2 10:00:00 sshd[811]: ${FAIL}`,
    expect: sshd({}),
  },
  {
    name: 'FreeBSD syslogd relaying a message from another host',
    text: `<38>Dec  2 10:00:00 Forwarded from web-03: sshd[811]: ${FAIL}`,
    expect: sshd({ hostname: 'web-03' }),
  },
  {
    name: 'FreeBSD syslogd relaying from an IPv6 sender it did not resolve',
    text: `<38>Dec  2 10:00:00 Forwarded from 2001:db8::3: sshd[811]: ${FAIL}`,
    expect: sshd({ hostname: '2001:db8::3' }),
  },
  {
    name: 'FreeBSD 14 syslogd -O rfc5424 (microseconds, +01:00)',
    text: `<38>1 2026-12-02T11:00:00.123456+01:00 bsd1.example.org sshd 811 - - ${FAIL}`,
    expect: sshd({
      format: 'rfc5424',
      time: Date.parse('2026-12-02T10:00:00.123Z'),
      hostname: 'bsd1.example.org',
    }),
  },
  {
    name: 'FreeBSD 14 syslogd -O rfc5424, fprintlog_successive()',
    text: '<46>1 2026-12-02T10:00:00.000000+00:00 bsd1.example.org syslogd - - - last message repeated 3 times',
    expect: sshd({
      format: 'rfc5424',
      facility: 5,
      severity: 6,
      hostname: 'bsd1.example.org',
      program: 'syslogd',
      pid: '',
      message: 'last message repeated 3 times',
    }),
  },
];

// RFC 3339 stamps as appliances and libraries write them: offsets without a colon, Z, fractions.
const stamps: readonly Case[] = [
  {
    name: 'RFC 5424 with +0000 (no colon)',
    text: `<38>1 2026-12-02T10:00:00+0000 web-03 sshd 811 - - ${FAIL}`,
    expect: sshd({ format: 'rfc5424', hostname: 'web-03' }),
  },
  {
    name: 'RFC 5424 with +0100 and milliseconds',
    text: `<38>1 2026-12-02T11:00:00.250+0100 web-03 sshd 811 - - ${FAIL}`,
    expect: sshd({
      format: 'rfc5424',
      hostname: 'web-03',
      time: Date.parse('2026-12-02T10:00:00.250Z'),
    }),
  },
  {
    name: 'RFC 5424 with -0530 and nanoseconds',
    text: `<38>1 2026-12-02T04:30:00.123456789-0530 web-03 sshd 811 - - ${FAIL}`,
    expect: sshd({
      format: 'rfc5424',
      hostname: 'web-03',
      time: Date.parse('2026-12-02T10:00:00.123Z'),
    }),
  },
  {
    name: 'RFC 5424 with Z and a one-digit fraction',
    text: `<38>1 2026-12-02T10:00:00.5Z web-03 sshd 811 - - ${FAIL}`,
    expect: sshd({
      format: 'rfc5424',
      hostname: 'web-03',
      time: Date.parse('2026-12-02T10:00:00.500Z'),
    }),
  },
  {
    name: 'RFC 3339 stamp in the RFC 3164 layout with +0100',
    text: `<38>2026-12-02T11:00:00+0100 web-03 sshd[811]: ${FAIL}`,
    expect: sshd({ hostname: 'web-03' }),
  },
  {
    name: 'RFC 3339 stamp in the RFC 3164 layout with -0000 and microseconds',
    text: `<38>2026-12-02T10:00:00.000001-0000 web-03 sshd[811]: ${FAIL}`,
    expect: sshd({ hostname: 'web-03' }),
  },
];

// The attacker writes only the message part; a victim address or a whole fake header there
// never becomes the HOSTNAME or the program.
const VICTIM = 'Failed password for root from 8.8.8.8 port 1 ssh2';
const attacker: readonly Case[] = [
  {
    name: 'busybox: a fake HOSTNAME and TAG at the start of the message',
    text: `<38>Dec  2 10:00:00 sshd[811]: web-07 sshd[1]: ${VICTIM}\n`,
    expect: sshd({ message: `web-07 sshd[1]: ${VICTIM}` }),
  },
  {
    name: 'musl empty ident: a whole fake line as the message',
    text: `<13>Dec  2 10:00:00 : <38>Dec  2 10:00:00 web-07 sshd[1]: ${VICTIM}\n`,
    expect: sshd({
      facility: 1,
      severity: 5,
      program: '',
      pid: '',
      message: `<38>Dec  2 10:00:00 web-07 sshd[1]: ${VICTIM}`,
    }),
  },
  {
    name: 'svlogd -tt: a fake socklog sender prefix in the message',
    text: `2026-12-02_10:00:01.12345 <38>Dec  2 10:00:00 sshd[811]: 8.8.8.8: auth.info: ${VICTIM}\n`,
    expect: sshd({
      time: Date.parse('2026-12-02T10:00:01.123Z'),
      message: `8.8.8.8: auth.info: ${VICTIM}`,
    }),
  },
  {
    name: 'socklog names: a fake FreeBSD relay header in the message',
    text: `auth.info: Dec  2 10:00:00 sshd[811]: Forwarded from web-07: sshd[1]: ${VICTIM}\n`,
    expect: sshd({ message: `Forwarded from web-07: sshd[1]: ${VICTIM}` }),
  },
  {
    name: 'socklog inet: the relay-written sender stays the HOSTNAME',
    text: `198.51.100.20: auth.info: Dec  2 10:00:00 sshd[811]: 8.8.8.8: <38>Dec  2 10:00:00 web-07 sshd[1]: ${VICTIM}\n`,
    expect: sshd({
      hostname: '198.51.100.20',
      message: `8.8.8.8: <38>Dec  2 10:00:00 web-07 sshd[1]: ${VICTIM}`,
    }),
  },
  {
    name: 'metalog: a fake second [program] and HOSTNAME in the message',
    text: `[sshd] [web-07] Dec  2 10:00:00 web-07 sshd[1]: ${VICTIM}\n`,
    expect: sshd({
      facility: -1,
      severity: -1,
      time: RECEIVED,
      pid: '',
      message: `[web-07] Dec  2 10:00:00 web-07 sshd[1]: ${VICTIM}`,
    }),
  },
  {
    name: 'FreeBSD own message: a fake "Forwarded from" in the message',
    text: `<38>Dec  2 10:00:00 sshd[811]: Forwarded from web-07: sshd[1]: ${VICTIM}`,
    expect: sshd({ message: `Forwarded from web-07: sshd[1]: ${VICTIM}` }),
  },
  {
    name: 'FreeBSD relay: a second "Forwarded from" in the message',
    text: `<38>Dec  2 10:00:00 Forwarded from web-03: sshd[811]: Forwarded from web-07: ${VICTIM}`,
    expect: sshd({ hostname: 'web-03', message: `Forwarded from web-07: ${VICTIM}` }),
  },
  {
    name: 'FreeBSD RFC 5424: a fake RFC 3164 line in MSG',
    text: `<38>1 2026-12-02T10:00:00.000000+00:00 bsd1.example.org sshd 811 - - <38>Dec  2 10:00:00 web-07 sshd[1]: ${VICTIM}`,
    expect: sshd({
      format: 'rfc5424',
      hostname: 'bsd1.example.org',
      message: `<38>Dec  2 10:00:00 web-07 sshd[1]: ${VICTIM}`,
    }),
  },
];

/** Look-alikes that are not relay output: read as bare text, whole line as the message. */
const bare: readonly string[] = [
  '2026-13-02_10:00:01.12345 <38>Dec  2 10:00:00 sshd[811]: x',
  '2026-12-02_10:00:01.1234x <38>Dec  2 10:00:00 sshd[811]: x',
  '@400000016b0fec2b075bcd15 <38>Dec  2 10:00:00 sshd[811]: x',
  '2026-12-02_10:00:01.12345 plain service output',
  '300.1.1.1: <38>Dec  2 10:00:00 sshd[811]: x',
  '01.2.3.4: <38>Dec  2 10:00:00 sshd[811]: x',
  'auth.loud: Dec  2 10:00:00 sshd[811]: x',
  'made.up: Dec  2 10:00:00 sshd[811]: x',
  '[ 1234.567890] IN=eth0',
  '[12.5] kernel line',
  '[sshd]missing space',
  '[ssh d] x',
  '[sshd',
];

function parse(text: string): SyslogEvent | ParseError {
  return parseSyslog(text, PEER, RECEIVED, utc);
}

for (const [suite, cases] of [
  ['busybox syslogd -R', busybox],
  ['socklog through svlogd', socklog],
  ['metalog remote_log', metalog],
  ['FreeBSD syslogd', freebsd],
  ['RFC 3339 offsets and fractions', stamps],
  ['attacker text in the message part', attacker],
] as const) {
  describe(`parseSyslog: ${suite}`, () => {
    for (const c of cases) {
      it(c.name, () => {
        const result = parse(c.text);
        if (isParseError(result)) assert.fail(`unexpected parse error: ${result.reason}`);
        assert.deepEqual(result, { ...c.expect, receivedAt: RECEIVED, peer: PEER });
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

describe('parseSyslog: relay look-alikes', () => {
  for (const text of bare) {
    it(`reads ${JSON.stringify(text)} as bare text`, () => {
      const result = parse(text);
      if (isParseError(result)) assert.fail(`unexpected parse error: ${result.reason}`);
      assert.equal(result.format, 'bare');
      assert.equal(result.hostname, PEER);
      assert.equal(result.program, '');
      assert.equal(result.message, text);
      assert.equal(result.time, RECEIVED);
    });
  }

  it('refuses a bad PRI behind a relay prefix with the PRI reason', () => {
    const result = parse('2026-12-02_10:00:01.12345 <999>Dec  2 10:00:00 sshd[811]: x');
    assert.ok(isParseError(result));
    assert.equal(result.reason, ParseReason.BAD_PRI);
  });

  it('keeps the receive time when the svlogd stamp is too far off', () => {
    const result = parseSyslog(
      `2026-11-02_10:00:01.12345 <38>Dec  2 10:00:00 sshd[811]: ${FAIL}`,
      PEER,
      RECEIVED,
      { ...utc, maxSkewMs: 60_000 },
    );
    if (isParseError(result)) assert.fail(result.reason);
    assert.equal(result.time, RECEIVED);
  });

  it('every prefix and every byte flip of relay lines parses or is refused, never throws', () => {
    const lines = [...busybox, ...socklog, ...metalog, ...freebsd, ...attacker].map((c) => c.text);
    for (const line of lines) {
      for (let cut = 0; cut <= line.length; cut++) {
        check(parse(line.slice(0, cut)));
        check(
          parse(line.slice(0, cut) + '\x00 [":]<>.@\uFFFD'.charAt(cut % 11) + line.slice(cut + 1)),
        );
      }
    }
    function check(result: SyslogEvent | ParseError): void {
      if (isParseError(result)) {
        assert.ok(Object.values(ParseReason).includes(result.reason as ParseReason));
      } else {
        assert.ok(Number.isFinite(result.time));
        assert.ok(result.facility >= -1 && result.facility <= 23);
        assert.ok(result.severity >= -1 && result.severity <= 7);
        assert.equal(typeof result.hostname, 'string');
        assert.ok(result.hostname.length > 0);
      }
    }
  });
});
