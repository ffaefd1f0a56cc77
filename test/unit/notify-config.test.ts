// mail.* configuration: the SMTP password from file or env never shows in `config check`, and bad mail keys are refused.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ErrorCode, isFleetbanError } from '../../src/core/errors.js';
import { loadConfig, redactedConfig } from '../../src/config/load.js';

describe('mail configuration', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetban-mailconf-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function file(mail: Record<string, unknown>): Promise<string> {
    const f = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
    await writeFile(f, JSON.stringify({ mail }));
    return f;
  }

  it('takes the password from FLEETBAN_SMTP_PASS or the file, and redacts it either way', async () => {
    const mail = { enabled: true, to: ['a@example.net'], smtp: { user: 'u' } };
    const fromEnv = loadConfig({
      file: await file(mail),
      env: { FLEETBAN_SMTP_PASS: 's3cret-env' },
    });
    assert.equal(fromEnv.mail.smtp.pass, 's3cret-env');
    const fromFile = loadConfig({
      file: await file({ ...mail, smtp: { user: 'u', pass: 's3cret-file' } }),
      env: {},
    });
    for (const c of [fromEnv, fromFile]) {
      const shown = JSON.stringify(redactedConfig(c));
      assert.ok(!shown.includes('s3cret'), shown);
      assert.match(shown, /"pass":"\[redacted\]"/);
      assert.match(shown, /"user":"u"/);
    }
  });

  it('FLEETBAN_MAIL_TO takes a comma-separated list', async () => {
    const c = loadConfig({
      file: await file({ enabled: true }),
      env: { FLEETBAN_MAIL_TO: 'a@example.net,b@example.net' },
    });
    assert.deepEqual(c.mail.to, ['a@example.net', 'b@example.net']);
  });

  for (const [what, mail, message] of [
    ['no recipient', { enabled: true }, /mail\.to must name at least one recipient/],
    ['a bad address', { to: ['not an address'] }, /mail\.to: "not an address"/],
    [
      'a user without password',
      { enabled: true, to: ['a@example.net'], smtp: { user: 'u' } },
      /mail\.smtp\.pass/,
    ],
    [
      'a bad time zone',
      { enabled: true, to: ['a@example.net'], timeZone: 'Mars/Olympus' },
      /mail\.timeZone/,
    ],
    ['an unknown transport', { transport: 'pigeon' }, /mail\.transport/],
  ] as const) {
    it(`refuses ${what}, naming the key`, async () => {
      const f = await file(mail);
      assert.throws(
        () => loadConfig({ file: f, env: {} }),
        (e: unknown) =>
          isFleetbanError(e, ErrorCode.CONFIG_INVALID) &&
          message.test(e.message) &&
          e.message.includes(f),
      );
    });
  }
});
