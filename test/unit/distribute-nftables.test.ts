// The /v1/nftables renderer: overlap normalisation, remaining-time timeouts, chains per mode, verdicts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderNftablesDocument } from '../../src/distribute/nftables-document.js';
import { normaliseBans } from '../../src/distribute/overlap.js';
import type { BanEntry } from '../../src/distribute/protocol.js';

const NOW = Date.UTC(2026, 0, 1);
const e = (target: string, end: number | null = null, jail = 'sshd'): BanEntry => ({
  target,
  family: target.includes(':') ? 6 : 4,
  end,
  jail,
});

type Cmd = Record<string, Record<string, Record<string, unknown>>>;

function elements(doc: { nftables: readonly Record<string, unknown>[] }, set: string): unknown[] {
  for (const c of doc.nftables as Cmd[]) {
    const el = c['add']?.['element'];
    if (el !== undefined && el['name'] === set) return el['elem'] as unknown[];
  }
  return [];
}

describe('nftables document', () => {
  it('drops bans covered by a wider banned prefix, per family', () => {
    const { kept, covered } = normaliseBans([
      e('198.51.100.7'),
      e('198.51.100.0/24'),
      e('198.51.0.0/16'),
      e('198.52.0.1'),
      e('10.0.0.0/8'),
      e('10.255.255.255'),
      e('11.0.0.0'),
      e('2001:db8::1'),
      e('2001:db8::/64'),
      e('2001:db8:0:1::1'),
      e('::'),
    ]);
    assert.deepEqual(
      kept.map((k) => k.target),
      [
        '10.0.0.0/8',
        '11.0.0.0',
        '198.51.0.0/16',
        '198.52.0.1',
        '::',
        '2001:db8::/64',
        '2001:db8:0:1::1',
      ],
    );
    assert.deepEqual(covered.map((c) => c.target).sort(), [
      '10.255.255.255',
      '198.51.100.0/24',
      '198.51.100.7',
      '2001:db8::1',
    ]);
  });

  it('renders remaining seconds as timeouts, none for permanent bans, skips ended ones', () => {
    const r = renderNftablesDocument(
      [
        e('192.0.2.1', NOW + 3600_000),
        e('192.0.2.2', NOW + 1500),
        e('192.0.2.3', NOW + 400),
        e('192.0.2.4', NOW - 1),
        e('192.0.2.128/25'),
        e('2001:db8::/64', NOW + 60_000),
      ],
      { mode: 'host', now: NOW },
    );
    assert.equal(r.ended, 1);
    assert.deepEqual(elements(r.document, 'banned_v4'), [
      { elem: { val: '192.0.2.1', timeout: 3600 } },
      { elem: { val: '192.0.2.2', timeout: 2 } },
      { elem: { val: '192.0.2.3', timeout: 1 } },
      { prefix: { addr: '192.0.2.128', len: 25 } },
    ]);
    assert.deepEqual(elements(r.document, 'banned_v6'), [
      { elem: { val: { prefix: { addr: '2001:db8::', len: 64 } }, timeout: 60 } },
    ]);
    assert.equal(r.v4, 4);
    assert.equal(r.v6, 1);
  });

  it('hooks input, forward or both, and replaces the table in one document', () => {
    const chainsOf = (mode: 'host' | 'gateway' | 'both') =>
      (renderNftablesDocument([], { mode, now: NOW }).document.nftables as Cmd[])
        .map((c) => c['add']?.['chain'])
        .filter((c) => c !== undefined)
        .map((c) => [c['name'], c['hook'], c['prio']]);
    assert.deepEqual(chainsOf('host'), [['input', 'input', -10]]);
    assert.deepEqual(chainsOf('gateway'), [['forward', 'forward', -10]]);
    assert.deepEqual(chainsOf('both'), [
      ['input', 'input', -10],
      ['forward', 'forward', -10],
    ]);
    const doc = renderNftablesDocument([], { mode: 'host', now: NOW }).document.nftables as Cmd[];
    assert.deepEqual(
      doc.slice(1, 4).map((c) => Object.keys(c)[0]),
      ['add', 'delete', 'add'],
    );
    // An empty ban set has no element command: nft refuses an empty list.
    assert.equal(doc.filter((c) => c['add']?.['element'] !== undefined).length, 0);
  });

  it('uses reject when asked', () => {
    const text = JSON.stringify(
      renderNftablesDocument([e('192.0.2.1')], { mode: 'host', now: NOW, verdict: 'reject' })
        .document,
    );
    assert.match(text, /\{"reject":null\}/);
    assert.doesNotMatch(text, /"drop"/);
  });
});
