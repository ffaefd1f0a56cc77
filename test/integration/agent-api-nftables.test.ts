// GET /v1/nftables applied with the real nft in a throw-away network namespace: valid, atomic, repeatable.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ManualClock } from '../../src/core/clock.js';
import { parseCidr } from '../../src/core/ip.js';
import { silentLogger } from '../../src/core/logger.js';
import { AgentApi } from '../../src/distribute/agent-api.js';
import { AgentRegistry } from '../../src/distribute/agent-registry.js';
import { BAN_SETS, setElement } from '../../src/nft/element.js';
import { parseListedSet } from '../../src/nft/parse-list.js';
import { LevelBanStore } from '../../src/store/level-store.js';
import type { NewBan } from '../../src/store/store.js';
import { olderLayoutDocument } from '../unit/firewall-contract.js';
import { bodyOf, get } from './agent-api-client.js';

const exec = promisify(execFile);

/** Fails with what to install or how to run, instead of an obscure ENOENT or EPERM. */
async function requireNetnsNft(): Promise<void> {
  for (const [bin, flag, pkg] of [
    ['nft', '--version', 'nftables'],
    ['ip', '-V', 'iproute2'],
  ] as const) {
    try {
      await exec(bin, [flag], { timeout: 10_000 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error(
          `'${bin}' is missing: these tests need it (apt-get install nftables iproute2; package ${pkg})`,
        );
      }
    }
  }
  if (process.getuid?.() !== 0) {
    throw new Error('these tests create a network namespace and need root (CAP_NET_ADMIN)');
  }
}

const NOW = Date.now();

function ban(target: string, minutes: number | null): NewBan {
  return {
    target,
    family: target.includes(':') ? 6 : 4,
    jail: 'sshd',
    origin: 'manual',
    attacker: '',
    start: NOW,
    end: minutes === null ? null : NOW + minutes * 60_000,
    banCount: 1,
    failures: 0,
    hosts: {},
    lines: [],
    reason: 'test',
  };
}

describe('GET /v1/nftables with real nft', () => {
  const netns = `fb-test-${process.pid}`;
  let dir: string;
  let store: LevelBanStore;
  let api: AgentApi;
  /** Undone in reverse by after(), whichever step before() reached. */
  const cleanups: (() => Promise<unknown>)[] = [];
  let port: number;
  let token: string;

  before(async () => {
    await requireNetnsNft();
    dir = await mkdtemp(join(tmpdir(), 'fleetban-nft-'));
    store = new LevelBanStore(join(dir, 'db'));
    const tempDir = dir;
    cleanups.push(() => rm(tempDir, { recursive: true, force: true }));
    await store.open();
    const opened = store;
    cleanups.push(() => opened.close());
    // Overlaps on purpose: nft would refuse the whole batch if they were rendered as they are.
    await store.ban([
      ban('2001:db8:2::/48', null),
      ban('2001:db8:2::/56', null),
      ban('198.51.100.0/24', 60),
      ban('198.51.100.7', null),
      ban('203.0.113.9', 10),
      ban('2001:db8::/64', null),
      ban('2001:db8::1', 30),
      ban('2001:db8:1::5', 30),
    ]);
    const registry = new AgentRegistry(join(dir, 'db', 'agents.json'), new ManualClock(NOW));
    api = new AgentApi({
      store,
      registry,
      clock: new ManualClock(NOW),
      logger: silentLogger,
      address: '127.0.0.1',
      port: 0,
      pingIntervalMs: 15_000,
      maxQueued: 100,
    });
    port = (await api.start()).port;
    const started = api;
    cleanups.push(() => started.close());
    token = (await api.addAgent('gateway')).token;
    await exec('ip', ['netns', 'add', netns]);
    cleanups.push(() => exec('ip', ['netns', 'delete', netns]));
  });

  after(async () => {
    for (const undo of cleanups.reverse()) await undo().catch(() => undefined);
  });

  async function fetchDocument(mode: string, extra = ''): Promise<string> {
    const { res } = await get(port, `/v1/nftables?mode=${mode}${extra}`, token);
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const file = join(dir, `${mode}${extra.replace(/\W/g, '-')}.json`);
    await writeFile(file, await bodyOf(res));
    return file;
  }

  const nft = (...args: string[]) => exec('ip', ['netns', 'exec', netns, 'nft', ...args]);

  it('passes check mode, replaces a table of the older layout, applies twice, and holds the agent layout', async () => {
    const older = [setElement(parseCidr('192.0.2.1') ?? assert.fail('cidr'), null)];
    const olderFile = join(dir, 'older.json');
    await writeFile(olderFile, JSON.stringify(olderLayoutDocument(older, Date.now())));
    await nft('-j', '-f', olderFile);
    const file = await fetchDocument('both');
    await nft('-j', '-c', '-f', file);
    await nft('-j', '-f', file);
    await nft('-j', '-f', file);
    const { stdout } = await nft('list', 'table', 'inet', 'fleetban');
    assert.match(stdout, /hook input priority filter - 10/);
    assert.match(stdout, /hook forward priority filter - 10/);
    assert.match(stdout, /ip saddr @banned_v4 drop/);
    assert.match(stdout, /ip6 saddr @banned_v6 drop/);
    assert.match(stdout, /ip6 saddr & ffff:ffff:ffff:ffff:: == @banned_v6_64 drop/);
    assert.match(stdout, /ip saddr @banned_v4_net drop/);
    assert.match(stdout, /ip6 saddr @banned_v6_net drop/);
    assert.match(stdout, /198\.51\.100\.0\/24 timeout 1h/);
    assert.match(stdout, /203\.0\.113\.9 timeout 10m/);
    assert.match(stdout, /2001:db8:1::5 timeout 30m/);
    assert.doesNotMatch(stdout, /192\.0\.2\.1/, 'the older table is gone');
    const keys: Record<string, string[]> = {};
    for (const set of BAN_SETS) {
      const listed = await nft('-j', 'list', 'set', 'inet', 'fleetban', set);
      const parsed = parseListedSet(listed.stdout, set, Date.now());
      assert.equal(parsed.foreign, 0);
      keys[set] = [...parsed.elements.keys()].sort();
    }
    assert.deepEqual(keys, {
      banned_v4: ['198.51.100.7', '203.0.113.9'],
      banned_v6: ['2001:db8:1::5', '2001:db8::1'],
      banned_v6_64: ['2001:db8::/64'],
      banned_v4_net: ['198.51.100.0/24'],
      banned_v6_net: ['2001:db8:2::/48'],
    });
    // Applied twice, each rule exists once.
    assert.equal(stdout.match(/ip saddr @banned_v4 drop/g)?.length, 2);
  });

  it('switching to host mode replaces the table: the forward chain goes', async () => {
    await store.unban([{ target: '203.0.113.9', at: NOW, reason: 'manual' }]);
    await nft('-j', '-f', await fetchDocument('host'));
    const { stdout } = await nft('list', 'table', 'inet', 'fleetban');
    assert.doesNotMatch(stdout, /forward/);
    assert.doesNotMatch(stdout, /203\.0\.113\.9/);
    assert.match(stdout, /198\.51\.100\.0\/24/);
  });

  it('hooks=input,prerouting adds the prerouting chain at raw priority; without hooks it goes again', async () => {
    await nft('-j', '-f', await fetchDocument('host', '&hooks=input,prerouting'));
    const docker = (await nft('list', 'table', 'inet', 'fleetban')).stdout;
    assert.match(docker, /hook input priority filter - 10/);
    assert.match(docker, /hook prerouting priority raw;/);
    assert.doesNotMatch(docker, /forward/);
    assert.equal(docker.match(/ip saddr @banned_v4 drop/g)?.length, 2, 'one rule per chain');
    assert.match(docker, /198\.51\.100\.0\/24/);
    await nft('-j', '-f', await fetchDocument('host'));
    assert.doesNotMatch((await nft('list', 'table', 'inet', 'fleetban')).stdout, /prerouting/);
  });

  it('refuses an unknown mode or hook, naming the parameter', async () => {
    for (const query of ['mode=router', 'hooks=input,output']) {
      const { res } = await get(port, `/v1/nftables?${query}`, token);
      const body = (JSON.parse(await bodyOf(res)) as { error: { message: string } }).error.message;
      assert.equal(res.statusCode, 400, query);
      assert.match(body, query.startsWith('hooks') ? /hooks must name chains.*"output"/ : /mode/);
    }
  });
});
