// The Prometheus text renderer: format 0.0.4 lines, escaping, special values, misuse refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeLabelValue, renderMetrics } from '../../src/control/metrics.js';

describe('renderMetrics', () => {
  it('renders HELP, TYPE and samples with and without labels', () => {
    const text = renderMetrics([
      {
        name: 'fleetban_jail_failures_total',
        help: 'Failures counted per jail.',
        type: 'counter',
        samples: [
          { labels: { jail: 'sshd' }, value: 38 },
          { labels: { jail: 'nginx-http-auth', host: 'web-01' }, value: 0 },
        ],
      },
      {
        name: 'fleetban_bans_active',
        help: 'Active bans.',
        type: 'gauge',
        samples: [{ value: 2.5 }],
      },
    ]);
    assert.equal(
      text,
      '# HELP fleetban_jail_failures_total Failures counted per jail.\n' +
        '# TYPE fleetban_jail_failures_total counter\n' +
        'fleetban_jail_failures_total{jail="sshd"} 38\n' +
        'fleetban_jail_failures_total{jail="nginx-http-auth",host="web-01"} 0\n' +
        '# HELP fleetban_bans_active Active bans.\n' +
        '# TYPE fleetban_bans_active gauge\n' +
        'fleetban_bans_active 2.5\n',
    );
  });

  it('escapes label values and help text', () => {
    assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
    const text = renderMetrics([
      {
        name: 'x',
        help: 'line1\nback\\slash "quoted"',
        type: 'gauge',
        samples: [{ labels: { l: '"\n' }, value: 1 }],
      },
    ]);
    assert.ok(text.startsWith('# HELP x line1\\nback\\\\slash "quoted"\n'));
    assert.ok(text.endsWith('x{l="\\"\\n"} 1\n'));
  });

  it('writes NaN and infinities as Prometheus spells them', () => {
    const text = renderMetrics([
      {
        name: 'v',
        help: 'h',
        type: 'gauge',
        samples: [
          { labels: { k: 'nan' }, value: NaN },
          { labels: { k: 'pos' }, value: Infinity },
          { labels: { k: 'neg' }, value: -Infinity },
        ],
      },
    ]);
    assert.match(text, /^v\{k="nan"\} NaN$/m);
    assert.match(text, /^v\{k="pos"\} \+Inf$/m);
    assert.match(text, /^v\{k="neg"\} -Inf$/m);
  });

  it('refuses bad metric and label names and duplicate families', () => {
    const family = { help: 'h', type: 'gauge' as const, samples: [{ value: 1 }] };
    assert.throws(() => renderMetrics([{ ...family, name: 'bad-name' }]), TypeError);
    assert.throws(
      () =>
        renderMetrics([
          { ...family, name: 'ok', samples: [{ labels: { 'bad-label': 'x' }, value: 1 }] },
        ]),
      TypeError,
    );
    assert.throws(
      () =>
        renderMetrics([
          { ...family, name: 'dup' },
          { ...family, name: 'dup' },
        ]),
      TypeError,
    );
  });
});
