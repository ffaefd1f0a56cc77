// Reading TLS files: the bytes, or TLS_CONFIG_INVALID naming the config key, the path and why.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isFleetbanError } from '../../src/core/errors.js';
import { readTlsFile } from '../../src/core/tls-files.js';

test('readTlsFile returns the bytes, or names the key, the path and the cause', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetban-tls-files-'));
  try {
    const pem = join(dir, 'ca.pem');
    await writeFile(pem, '-----BEGIN CERTIFICATE-----\n');
    assert.equal(
      (await readTlsFile('agents.tls.cert', pem)).toString(),
      '-----BEGIN CERTIFICATE-----\n',
    );
    const missing = join(dir, 'none.key');
    await assert.rejects(readTlsFile('agents.tls.key', missing), (e: unknown) => {
      assert.ok(isFleetbanError(e, 'FLEETBAN_TLS_CONFIG_INVALID'));
      assert.match(e.message, /^cannot read agents\.tls\.key \S+none\.key: .*ENOENT/);
      return true;
    });
    await assert.rejects(readTlsFile('ca', dir), /cannot read ca \S+: .*EISDIR/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
