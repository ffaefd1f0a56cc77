// The agent API inside the real `fleetban server`: ready file, `fleetban agents add|list|remove`, bans from the admin API pushed to the stream.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { AdminClient } from '../../src/control/admin-client.js';
import type { AgentReport } from '../../src/distribute/agent-api.js';
import type { AddedAgent } from '../../src/distribute/agents-admin.js';
import {
  FLEETBAN_BIN,
  ServerDir,
  startServer,
  type ServerProcess,
} from '../helpers/server-process.js';
import { bodyOf, get, openStream } from './agent-api-client.js';

const run = promisify(execFile);

async function cli(dir: ServerDir, args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [FLEETBAN_BIN, ...args, '--socket', dir.socket]);
  return stdout;
}

describe('agent API in the running server', () => {
  let dir: ServerDir;
  let server: ServerProcess;
  let port: number;

  before(async () => {
    dir = await ServerDir.create();
    server = await startServer(dir);
    const agents = server.ready.agents;
    assert.ok(agents !== undefined, 'the ready file names the agent listener');
    assert.equal(agents.address, '127.0.0.1');
    port = agents.port;
  });

  after(async () => {
    await server.stop();
    await dir.remove();
  });

  it('adds an agent, pushes an admin ban to its stream, lists it, removes it', async () => {
    const added = JSON.parse(await cli(dir, ['agents', 'add', 'gw-1', '--json'])) as AddedAgent;
    assert.match(added.token, /^[A-Za-z0-9_-]{43}$/);
    // Stored hashed: the token itself is nowhere on disk.
    const registry = await readFile(join(dir.storePath, 'agents.json'), 'utf8');
    assert.ok(!registry.includes(added.token));
    assert.match(registry, /"gw-1"/);

    const stream = await openStream({
      port,
      token: added.token,
      size: 0,
      query: { error: 'cannot write the state file: EACCES', errorAt: String(Date.now() - 90_000) },
    });
    const snapshot = await stream.waitFor(() => true);
    assert.equal(snapshot.type, 'snapshot');

    const admin = new AdminClient({ kind: 'unix', socket: dir.socket });
    const started = process.hrtime.bigint();
    await admin.ban({ target: '203.0.113.0/24', for: '1h' });
    const pushed = await stream.waitFor((m) => m.type === 'ban');
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.ok(pushed.type === 'ban' && pushed.ban.target === '203.0.113.0/24');
    assert.ok(ms < 2000, `the ban reached the stream ${ms} ms after the admin call`);

    const listed = JSON.parse(await cli(dir, ['agents', 'list', '--json'])) as AgentReport[];
    assert.deepEqual(
      listed.map((a) => [a.name, a.connected, a.setSize, a.sentSeq]),
      [['gw-1', true, 0, pushed.seq]],
    );
    const text = await cli(dir, ['agents', 'list']);
    assert.match(text, /^NAME\s+CONNECTED/);
    assert.match(text, /gw-1\s+yes\s+127\.0\.0\.1/);
    assert.match(text, /LAST ERROR\n/);
    assert.match(text, / ago: cannot write the state file: EACCES\n/);

    const nft = await get(port, '/v1/nftables?mode=gateway', added.token);
    assert.equal(nft.res.statusCode, 200);
    assert.match(await bodyOf(nft.res), /"forward"/);

    assert.match(await cli(dir, ['agents', 'remove', 'gw-1']), /agent gw-1 removed/);
    await stream.closed;
    const refused = await get(port, '/v1/agent/stream', added.token);
    refused.res.resume();
    assert.equal(refused.res.statusCode, 401);
    const metrics = await admin.metrics();
    assert.match(metrics, /^fleetban_agent_auth_failures_total 1$/m);
    assert.match(metrics, /^fleetban_agent_streams_ended_total\{reason="removed"\} 1$/m);
  });

  it('refuses a duplicate or invalid agent name', async () => {
    const admin = new AdminClient({ kind: 'unix', socket: dir.socket });
    await admin.request('POST', '/v1/agents', { name: 'web-2' });
    await assert.rejects(admin.request('POST', '/v1/agents', { name: 'web-2' }), /already exists/);
    await assert.rejects(
      admin.request('POST', '/v1/agents', { name: '../x' }),
      /invalid agent name/,
    );
    await assert.rejects(admin.request('DELETE', '/v1/agents/nobody'), /no agent named nobody/);
  });
});
