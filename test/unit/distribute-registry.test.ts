// The agent registry: tokens shown once and stored hashed, lookups, removal, and persistence across a reload.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { ErrorCode, isFleetbanError } from '../../src/core/errors.js';
import { AgentRegistry } from '../../src/distribute/agent-registry.js';
import { hashToken, tokenOf } from '../../src/distribute/tokens.js';

describe('agent registry', () => {
  let dir: string;
  let file: string;
  const clock = new ManualClock(Date.UTC(2026, 0, 1));

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetban-registry-'));
    file = join(dir, 'store', 'agents.json');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('issues random tokens, keeps only their digest, and survives a reload', async () => {
    const reg = new AgentRegistry(file, clock);
    await reg.load();
    const a = await reg.add('web-01');
    const b = await reg.add('gw.example');
    assert.match(a.token, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a.token, b.token);
    assert.equal(a.record.tokenHash, hashToken(a.token));
    const text = await readFile(file, 'utf8');
    assert.ok(!text.includes(a.token) && !text.includes(b.token));
    assert.equal((await stat(file)).mode & 0o777, 0o600);

    clock.advance(5000);
    reg.touch('web-01', (e) => {
      throw e;
    });
    await reg.flush();
    const again = new AgentRegistry(file, clock);
    await again.load();
    assert.equal(again.authenticate(a.token)?.name, 'web-01');
    assert.equal(again.authenticate(b.token)?.name, 'gw.example');
    assert.equal(again.authenticate(`${a.token}x`), undefined);
    assert.equal(again.get('web-01')?.lastContact, clock.now());
    assert.deepEqual(
      again.list().map((x) => x.name),
      ['gw.example', 'web-01'],
    );
  });

  it('refuses bad and duplicate names, and unknown removals', async () => {
    const reg = new AgentRegistry(file, clock);
    await reg.add('web-01');
    for (const bad of ['', '-x', 'a/b', 'a b', 'x'.repeat(64)]) {
      await assert.rejects(reg.add(bad), (e: unknown) =>
        isFleetbanError(e, ErrorCode.REQUEST_INVALID),
      );
    }
    await assert.rejects(reg.add('web-01'), /already exists/);
    await assert.rejects(reg.remove('nobody'), (e: unknown) =>
      isFleetbanError(e, ErrorCode.NOT_FOUND),
    );
  });

  it('forgets a removed agent and its token', async () => {
    const reg = new AgentRegistry(file, clock);
    const { token } = await reg.add('web-01');
    await reg.remove('web-01');
    assert.equal(reg.authenticate(token), undefined);
    const again = new AgentRegistry(file, clock);
    await again.load();
    assert.deepEqual(again.list(), []);
  });

  it('names the file when it is not a registry', async () => {
    const reg = new AgentRegistry(file, clock);
    await reg.add('x');
    await writeFile(file, '{ broken');
    await assert.rejects(
      new AgentRegistry(file, clock).load(),
      new RegExp(file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
    );
  });

  it('reads the token from Bearer, or as the password of Basic, strictly', () => {
    const basic = (pair: string): string => `Basic ${Buffer.from(pair).toString('base64')}`;
    assert.equal(tokenOf('Bearer abc'), 'abc');
    assert.equal(tokenOf('bearer  abc '), 'abc');
    assert.equal(tokenOf('Bearer a b'), null);
    assert.equal(tokenOf(undefined), null);
    assert.equal(tokenOf(basic('fleetban:abc')), 'abc');
    assert.equal(tokenOf(basic(':abc')), 'abc', 'any user name, even none');
    assert.equal(tokenOf(basic('fleetban:a:b')), 'a:b', 'the password runs to the end');
    assert.equal(tokenOf(basic('abc')), null, 'no colon, no password');
    assert.equal(tokenOf(basic('fleetban:')), null, 'an empty password is no token');
    assert.equal(tokenOf('Basic not base64!'), null);
    assert.equal(tokenOf('Digest abc'), null);
  });
});
