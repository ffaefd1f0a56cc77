// Peers as the recvmmsg reader reports them: address words to canonical text, allowlist verdicts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CidrSet, parseCidr, type Cidr } from '../../src/core/ip.js';
import { PeerBook } from '../../src/ingest/udp-peers.js';

/** The five words the addon writes for one peer: family, then the address bytes as they lie. */
function words(family: 4 | 6, bytes: readonly number[]): Uint32Array {
  const buffer = new Uint8Array(20);
  new DataView(buffer.buffer).setUint32(0, family, true);
  buffer.set(bytes, 4);
  return new Uint32Array(buffer.buffer);
}

test('address words become canonical text, and the allowlist is applied to it', () => {
  const book = new PeerBook(new CidrSet([parseCidr('2001:db8::/32') as Cidr]));
  const v6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0xcd];
  assert.deepEqual(book.byWords(words(6, v6), 0), { name: '2001:db8::abcd', allowed: true });
  assert.deepEqual(book.byWords(words(4, [198, 51, 100, 7]), 0), {
    name: '198.51.100.7',
    allowed: false,
  });
  assert.deepEqual(book.byText('::ffff:198.51.100.7'), { name: '198.51.100.7', allowed: false });
  const open = new PeerBook(new CidrSet());
  assert.equal(open.byWords(words(4, [10, 0, 0, 1]), 0).allowed, true, 'no list: everyone');
});
