// notify.webhooks configuration: entries filled with their defaults, secrets redacted, bad entries refused by name.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ErrorCode, isFleetbanError } from '../../src/core/errors.js';
import { webhookConfig } from '../../src/config/formats.js';
import { loadConfig, redactedConfig } from '../../src/config/load.js';

describe('webhook configuration', () => {
  let dir = '';
  let n = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetban-hookconf-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function file(notify: Record<string, unknown>): Promise<string> {
    const f = join(dir, `c${++n}.json`);
    await writeFile(f, JSON.stringify({ notify }));
    return f;
  }

  it('fills each entry with its defaults and hides secret and hmac', async () => {
    const c = loadConfig({
      file: await file({
        webhooks: [
          {
            url: 'https://hooks.example.net/a',
            secret: 's3cret-a',
            ca: '/etc/fleetban/hooks-ca.pem',
          },
          { url: 'http://10.0.0.5/b', format: 'mattermost', hmac: 's3cret-b', events: ['unban'] },
        ],
      }),
      env: {},
    });
    assert.deepEqual(c.notify.webhooks.map(webhookConfig), [
      {
        url: 'https://hooks.example.net/a',
        format: 'json',
        secret: 's3cret-a',
        hmac: '',
        ca: '/etc/fleetban/hooks-ca.pem',
        events: ['ban'],
      },
      {
        url: 'http://10.0.0.5/b',
        format: 'mattermost',
        secret: '',
        hmac: 's3cret-b',
        ca: '',
        events: ['unban'],
      },
    ]);
    const shown = JSON.stringify(redactedConfig(c));
    assert.ok(!shown.includes('s3cret'), shown);
    assert.match(shown, /"secret":"\[redacted\]"/);
    assert.match(shown, /"hmac":"\[redacted\]"/);
  });

  it('takes the list as JSON from FLEETBAN_NOTIFY_WEBHOOKS', async () => {
    const c = loadConfig({
      file: await file({}),
      env: { FLEETBAN_NOTIFY_WEBHOOKS: '[{"url":"https://hooks.example.net/x","format":"slack"}]' },
    });
    assert.deepEqual(
      c.notify.webhooks.map((w) => webhookConfig(w).format),
      ['slack'],
    );
  });

  for (const [what, webhooks, message] of [
    ['no url', [{ format: 'json' }], /webhook 1: url "undefined" is not an http/],
    ['an ftp url', [{ url: 'ftp://example.net/' }], /webhook 1: url "ftp:\/\/example\.net\/"/],
    [
      'an unknown format',
      [{ url: 'https://a.example.net/' }, { url: 'https://b.example.net/', format: 'teams' }],
      /webhook 2: format must be one of json, slack, mattermost/,
    ],
    ['an unknown key', [{ url: 'https://a.example.net/', sekret: 'x' }], /unknown key "sekret"/],
    ['no events', [{ url: 'https://a.example.net/', events: [] }], /events must list/],
    ['a ca that is not a path', [{ url: 'https://a.example.net/', ca: 7 }], /ca must be a string/],
    [
      'a ca for an http url',
      [{ url: 'http://a.example.net/', ca: '/etc/ca.pem' }],
      /webhook 1: ca is for https:\/\/ receivers/,
    ],
    [
      'the same url twice',
      [{ url: 'https://a.example.net/' }, { url: 'https://a.example.net/' }],
      /listed twice/,
    ],
  ] as const) {
    it(`refuses ${what}`, async () => {
      const f = await file({ webhooks });
      assert.throws(
        () => loadConfig({ file: f, env: {} }),
        (e: unknown) => {
          assert.ok(isFleetbanError(e), String(e));
          assert.equal(e.code, ErrorCode.CONFIG_INVALID);
          assert.match(e.message, /notify\.webhooks/);
          assert.match(e.message, message);
          return true;
        },
      );
    });
  }
});
