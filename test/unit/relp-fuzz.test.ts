// Fuzzes the RELP session with random and mutated frames (fixed seed, bounded): it never throws, and what it delivers and writes stays well-formed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RelpFrameError } from '../../src/ingest/relp-frame.js';
import { RelpSession, RelpSessionError, type RelpFailure } from '../../src/ingest/relp-session.js';
import { random } from '../helpers/auth-log.js';

const SEED = 0x5eed_2e1b;
const ITERATIONS = 5000;
const MAX_DATA = 256;
const FAILURES = new Set<string>([
  ...Object.values(RelpFrameError),
  ...Object.values(RelpSessionError),
]);
/** Every answer the server writes: an rsp to a transaction (echoing even a wrong number), or its own serverclose. */
const ANSWER = /^(?:\d{1,9} rsp (?:0|[1-9]\d* [^]*?)|0 serverclose 0)$/;

const OPEN = 'relp_version=0\nrelp_software=librelp,1.11.0\ncommands=syslog';

/** A well-formed session; one in ten forgets to open. */
function validSession(rand: () => number): Buffer {
  const opens = rand() >= 0.1;
  const frames = opens ? [`1 open ${OPEN.length} ${OPEN}\n`] : [];
  let t = frames.length + 1;
  for (let n = 1 + Math.floor(rand() * 6); n > 0; n--, t++) {
    const msg = `<13>1 - h app - - - m${t} ${'x'.repeat(Math.floor(rand() * 40))}`;
    frames.push(`${t} syslog ${msg.length} ${msg}\n`);
  }
  if (rand() < 0.5) frames.push(`${t} close 0\n`);
  return Buffer.from(frames.join(''));
}

/** A valid session with a few bytes changed, inserted or removed; or plain noise. */
function input(rand: () => number): Buffer {
  const byte = (): number =>
    rand() < 0.5
      ? Math.floor(rand() * 256)
      : ' \n0123456789syslogpenrc'.charCodeAt(Math.floor(rand() * 23));
  if (rand() < 0.15) return Buffer.from(Array.from({ length: Math.floor(rand() * 200) }, byte));
  const bytes = [...validSession(rand)];
  const edits = 1 + Math.floor(rand() * 4);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(rand() * (bytes.length + 1));
    const kind = rand();
    if (kind < 0.4) bytes[at] = byte();
    else if (kind < 0.7) bytes.splice(at, 0, byte());
    else bytes.splice(at, 1);
  }
  return Buffer.from(bytes);
}

describe('RELP session under fuzzing', () => {
  it(`survives ${ITERATIONS} random and mutated streams (seed ${SEED.toString(16)})`, () => {
    const rand = random(SEED);
    const seen = new Set<string>();
    for (let i = 0; i < ITERATIONS; i++) {
      const bytes = input(rand);
      const messages: number[] = [];
      let written = '';
      let finished: RelpFailure | null | undefined;
      let finishedAfter = 0;
      const session = new RelpSession(
        { maxDataSize: MAX_DATA, software: 'fleetban,fuzz' },
        {
          message: (buf, start, end) => {
            assert.equal(finished, undefined, `iteration ${i}: a message after the end`);
            assert.ok(end > start && end - start <= MAX_DATA, `iteration ${i}: message size`);
            assert.ok(start >= 0 && end <= buf.length);
            messages.push(end - start);
          },
          send: (text) => (written += text),
          finish: (failure) => {
            assert.equal(finished, undefined, `iteration ${i}: finished twice`);
            finished = failure;
            finishedAfter = messages.length;
          },
        },
      );
      const step = 1 + Math.floor(rand() * 32);
      assert.doesNotThrow(
        () => {
          for (let k = 0; k < bytes.length; k += step) session.push(bytes.subarray(k, k + step));
          session.end();
        },
        `iteration ${i}: ${JSON.stringify(bytes.toString('latin1'))}`,
      );
      assert.notEqual(finished, undefined, `iteration ${i}: the session ended`);
      if (finished !== null && finished !== undefined) {
        assert.ok(FAILURES.has(finished), `iteration ${i}: unknown failure ${finished}`);
        seen.add(finished);
      }
      assert.equal(messages.length, finishedAfter);
      const answers = written.split('\n');
      assert.equal(answers.pop(), '', `iteration ${i}: answers end with LF`);
      const acks = answers.filter((a) => / rsp 6 200 OK$/.test(a)).length;
      // Open's answer holds LFs: check each answer's start only.
      for (const a of answers.filter((line) => /^\d/.test(line)))
        assert.match(a, ANSWER, `iteration ${i}`);
      assert.equal(acks, messages.length, `iteration ${i}: one acknowledgement per message`);
    }
    // The mutations reached every way a stream can break.
    for (const f of FAILURES) assert.ok(seen.has(f), `no input ended with "${f}"`);
  });
});
