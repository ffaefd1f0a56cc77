// RFC 6587 splitter: framing rules, resynchronisation after lies, bounds, and chunk-boundary independence.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  FrameSplitter,
  FramingError,
  type FrameSplitterOptions,
} from '../../src/ingest/framing.js';

type Event =
  readonly ['frame', string] | readonly ['oversized', number] | readonly ['error', string];

function splitter(options: FrameSplitterOptions): { s: FrameSplitter; events: Event[] } {
  const events: Event[] = [];
  const s = new FrameSplitter(options, {
    frame: (buf, start, end) => events.push(['frame', buf.toString('latin1', start, end)]),
    oversized: (size) => events.push(['oversized', size]),
    framingError: (reason) => events.push(['error', reason]),
  });
  return { s, events };
}

/** Feeds `chunks` then ends the stream; returns what the splitter reported. */
function run(
  chunks: readonly Buffer[],
  options: FrameSplitterOptions = { maxFrameSize: 64 },
): Event[] {
  const { s, events } = splitter(options);
  for (const c of chunks) s.push(c);
  s.end();
  return events;
}

const one = (text: string, options?: FrameSplitterOptions): Event[] =>
  run([Buffer.from(text, 'latin1')], options);

/** Oversized LF frames report the bytes seen when the limit was crossed, which depends on chunking. */
const normalise = (events: Event[]): Event[] =>
  events.map((e) => (e[0] === 'oversized' ? (['oversized', -1] as const) : e));

describe('FrameSplitter rules', () => {
  it('splits LF frames, drops a trailing CR and ignores empty lines', () => {
    assert.deepEqual(one('<13>a\n<13>b\r\n\n\n<13>c\n'), [
      ['frame', '<13>a'],
      ['frame', '<13>b'],
      ['frame', '<13>c'],
    ]);
  });

  it('reads octet-counted frames and strips rsyslog’s trailing LF inside the count', () => {
    assert.deepEqual(one('5 hello7 <13>ab\n'), [
      ['frame', 'hello'],
      ['frame', '<13>ab'],
    ]);
  });

  it('keeps LFs inside an octet-counted frame', () => {
    assert.deepEqual(one('6 a\nb\nc\n3 xyz'), [
      ['frame', 'a\nb\nc'],
      ['frame', 'xyz'],
    ]);
  });

  it('detects the framing per frame on a mixed stream', () => {
    assert.deepEqual(one('5 first<13>second\n6 third\n<13>fourth\n'), [
      ['frame', 'first'],
      ['frame', '<13>second'],
      ['frame', 'third'],
      ['frame', '<13>fourth'],
    ]);
  });

  it('reads digits not followed by a space, a leading zero, or an endless number as LF text', () => {
    assert.deepEqual(one('12<13>x\n2024-05-01 boot\n05 zero\n12345678901 long\n'), [
      ['frame', '12<13>x'],
      ['frame', '2024-05-01 boot'],
      ['frame', '05 zero'],
      ['frame', '12345678901 long'],
    ]);
  });

  it('delivers a last LF frame without its LF at the end of the stream', () => {
    assert.deepEqual(one('<13>a\n<13>tail'), [
      ['frame', '<13>a'],
      ['frame', '<13>tail'],
    ]);
  });

  it('reports a stream cut inside an octet-counted frame', () => {
    assert.deepEqual(one('3 ok\n10 <13>cut'), [
      ['frame', 'ok'],
      ['error', FramingError.TRUNCATED],
    ]);
  });
});

describe('FrameSplitter bounds and recovery', () => {
  const opts = { maxFrameSize: 16, maxOctetSkip: 1000 };

  it('counts an oversized LF frame and resumes after its LF', () => {
    assert.deepEqual(one(`${'x'.repeat(40)}\n<13>ok\n`, opts), [
      ['oversized', 40],
      ['frame', '<13>ok'],
    ]);
  });

  it('skips exactly LEN bytes of an oversized octet-counted frame, LFs inside included', () => {
    const body = 'line\n'.repeat(8);
    assert.deepEqual(one(`${body.length} ${body}6 <13>ok`, opts), [
      ['oversized', 40],
      ['frame', '<13>ok'],
    ]);
  });

  it('takes a count above maxOctetSkip as a lie and resynchronises at the next LF', () => {
    assert.deepEqual(one('99999 <13>garbage\n<13>ok\n4 next', opts), [
      ['error', FramingError.COUNT_TOO_LARGE],
      ['frame', '<13>ok'],
      ['frame', 'next'],
    ]);
  });

  it('recovers from a count that is too small: the rest reads as one LF frame', () => {
    assert.deepEqual(one('3 hello\n6 <13>ok\n', opts), [
      ['frame', 'hel'],
      ['frame', 'lo'],
      ['frame', '<13>ok'],
    ]);
  });

  it('recovers from a count that swallows the start of the next frame', () => {
    assert.deepEqual(one('12 <13>a\n6 <13>b\n6 <13>c\n', opts), [
      ['frame', '<13>a\n6 <13>'],
      ['frame', 'b'],
      ['frame', '<13>c'],
    ]);
  });

  it('never holds more than maxFrameSize bytes, whatever it is fed', () => {
    const { s, events } = splitter(opts);
    let most = 0;
    for (let i = 0; i < 1000; i++) {
      s.push(Buffer.from('y'.repeat(7)));
      most = Math.max(most, s.buffered);
    }
    s.push(Buffer.from('\n<13>after\n'));
    assert.ok(most <= 16, `held ${most} bytes`);
    assert.deepEqual(normalise(events), [
      ['oversized', -1],
      ['frame', '<13>after'],
    ]);
  });

  it('delivers frames complete in one chunk without copying them', () => {
    const chunk = Buffer.from('5 hello<13>x\n');
    const seen: Buffer[] = [];
    const s = new FrameSplitter(
      { maxFrameSize: 64 },
      { frame: (buf) => seen.push(buf), oversized: () => undefined, framingError: () => undefined },
    );
    s.push(chunk);
    assert.equal(seen.length, 2);
    assert.ok(seen.every((b) => b === chunk));
  });

  it('rejects a maxFrameSize too small to hold a header', () => {
    assert.throws(() => run([], { maxFrameSize: 4 }), TypeError);
  });
});

describe('FrameSplitter chunk boundaries', () => {
  const opts = { maxFrameSize: 24, maxOctetSkip: 500 };
  const stream = Buffer.from(
    [
      '<13>lf one\n',
      '9 <13>oct 1\n',
      '<13>crlf\r\n',
      '\n',
      '13 <13>a\nb\nc d\n',
      `${'z'.repeat(50)}\n`,
      `30 ${'q\n'.repeat(15)}`,
      '999999 lie\n',
      '3 abcdef\n',
      '2024-01-01 digits first\n',
      '10 <13>ütf8\n',
      '<13>last',
    ].join(''),
  );
  const whole = normalise(run([stream], opts));

  it('covers every kind of event', () => {
    const kinds = new Set(whole.map((e) => e[0]));
    assert.deepEqual([...kinds].sort(), ['error', 'frame', 'oversized']);
    assert.equal(whole.filter((e) => e[0] === 'frame').length, 9);
  });

  it('gives the same result for a split at every possible boundary', () => {
    for (let cut = 1; cut < stream.length; cut++) {
      const got = normalise(run([stream.subarray(0, cut), stream.subarray(cut)], opts));
      assert.deepEqual(got, whole, `split at byte ${cut}`);
    }
  });

  it('gives the same result fed one byte at a time', () => {
    const bytes = [...stream].map((b) => Buffer.from([b]));
    assert.deepEqual(normalise(run(bytes, opts)), whole);
  });

  it('gives the same result with every pair of cuts (three chunks)', () => {
    for (let a = 1; a < stream.length; a += 3) {
      for (let b = a + 1; b < stream.length; b += 5) {
        const chunks = [stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)];
        assert.deepEqual(normalise(run(chunks, opts)), whole, `cuts at ${a}, ${b}`);
      }
    }
  });
});
