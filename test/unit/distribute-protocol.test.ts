// The agent stream's NDJSON codec: every message round-trips, any chunking decodes the same, bad lines are values.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeStreamMessage,
  encodeStreamMessage,
  isDecodeError,
  NdjsonDecoder,
  type StreamMessage,
} from '../../src/distribute/protocol.js';

const messages: StreamMessage[] = [
  {
    type: 'snapshot',
    seq: 7,
    bans: [
      { target: '198.51.100.7', family: 4, end: 1_767_225_600_000, jail: 'sshd' },
      { target: '2001:db8::/64', family: 6, end: null, jail: 'wordpress-ünïcode' },
    ],
  },
  { type: 'resume', seq: 3 },
  { type: 'ban', seq: 8, ban: { target: '198.51.100.0/24', family: 4, end: null, jail: 'x' } },
  { type: 'unban', seq: 9, target: '198.51.100.0/24' },
  { type: 'ping', seq: 9 },
];

describe('agent stream protocol', () => {
  it('encodes one line per message and decodes it back', () => {
    for (const m of messages) {
      const line = encodeStreamMessage(m);
      assert.equal(line.indexOf('\n'), line.length - 1);
      assert.deepEqual(decodeStreamMessage(line.slice(0, -1)), m);
    }
  });

  it('decodes the same whatever the chunk boundaries, even inside a UTF-8 character', () => {
    const bytes = Buffer.from(messages.map(encodeStreamMessage).join(''), 'utf8');
    for (const size of [1, 2, 3, 7, 64, bytes.length]) {
      const decoder = new NdjsonDecoder();
      const out = [];
      for (let i = 0; i < bytes.length; i += size)
        out.push(...decoder.push(bytes.subarray(i, i + size)));
      assert.deepEqual(out, messages, `chunks of ${size}`);
      assert.equal(decoder.pending, 0);
    }
  });

  it('reports bad lines as values and keeps decoding', () => {
    const decoder = new NdjsonDecoder();
    const input = [
      'not json',
      '[1]',
      '{"type":"ban","seq":1}',
      '{"type":"ban","seq":1,"ban":{"target":"x","family":5,"end":null,"jail":"j"}}',
      '{"type":"unban","seq":-1,"target":"x"}',
      '{"type":"teleport","seq":1}',
      '',
      '{"type":"ping","seq":4}\r',
    ].join('\n');
    const out = decoder.push(`${input}\n`);
    assert.equal(out.length, 7);
    assert.deepEqual(
      out.filter(isDecodeError).map((e) => e.error),
      [
        'not JSON',
        'not an object',
        'ban with an invalid ban entry',
        'ban with an invalid ban entry',
        'missing or invalid seq',
        'unknown type',
      ],
    );
    assert.deepEqual(out[6], { type: 'ping', seq: 4 });
  });

  it('bounds a line that never ends, then resumes at the next line', () => {
    const decoder = new NdjsonDecoder({ maxLineLength: 100 });
    const first = decoder.push('x'.repeat(80));
    assert.deepEqual(first, []);
    const over = decoder.push('x'.repeat(80));
    assert.equal(over.length, 1);
    assert.ok(over[0] !== undefined && isDecodeError(over[0]) && over[0].error === 'line too long');
    assert.equal(decoder.pending, 0);
    const rest = decoder.push(`${'x'.repeat(500)}\n{"type":"ping","seq":1}\n`);
    assert.deepEqual(rest, [{ type: 'ping', seq: 1 }]);
  });
});
