// The agent as the packaged unit runs it: an unprivileged user with CAP_NET_ADMIN only (setpriv, in a network namespace of its own); without the capability it says what it needs.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AgentProcess } from './agent-netns-fixture.js';
import {
  cliJson,
  FLEETBAN_BIN,
  runCli,
  ServerDir,
  ServerProcess,
} from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';

/** nobody:nogroup on Debian. */
const NOBODY = 65534;
/** Bit 12 of the capability sets. */
const CAP_NET_ADMIN = 1n << 12n;

function requireTools(): void {
  if (process.getuid?.() !== 0)
    throw new Error('this test creates a network namespace and changes users: run it as root');
  for (const tool of ['ip', 'nft', 'setpriv'])
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
      throw new Error(`${tool} is not installed: apt-get install iproute2 nftables util-linux`);
}

/**
 * The CLI as nobody can run it: in place when the checkout is world-readable, else a copy of the
 * built tree in a temp folder (a checkout under /root is not readable by other users).
 */
async function binForNobody(scratch: string): Promise<string> {
  const readable = spawnSync('setpriv', [
    `--reuid=${NOBODY}`,
    `--regid=${NOBODY}`,
    '--clear-groups',
    'test',
    '-r',
    FLEETBAN_BIN,
  ]);
  if (readable.status === 0) return FLEETBAN_BIN;
  const repo = resolve(dirname(FLEETBAN_BIN), '../../..');
  const copy = join(scratch, 'fleetban');
  await mkdir(copy);
  for (const part of ['package.json', 'dist', 'node_modules'])
    sh(['cp', '-a', join(repo, part), join(copy, part)]);
  return join(copy, 'dist', 'src', 'bin', 'fleetban.js');
}

function sh(args: readonly string[]): string {
  const r = spawnSync(args[0] ?? '', args.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** The capability sets of a running process, from /proc. */
async function capabilities(
  pid: number,
): Promise<{ uid: number; effective: bigint; bounding: bigint }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): string =>
    new RegExp(`^${name}:\\s*(\\S+)`, 'm').exec(status)?.[1] ?? '';
  return {
    uid: Number(field('Uid')),
    effective: BigInt(`0x${field('CapEff')}`),
    bounding: BigInt(`0x${field('CapBnd')}`),
  };
}

describe('fleetban agent as an unprivileged user with CAP_NET_ADMIN only', () => {
  const ns = `fcap-${randomBytes(3).toString('hex')}`;
  let dir: ServerDir;
  let server: ServerProcess;
  let scratch: string;
  let token: string;
  let bin: string;

  before(async () => {
    requireTools();
    sh(['ip', 'netns', 'add', ns]);
    sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    dir = await ServerDir.create({ config: { agents: { address: '127.0.0.1', port: 0 } } });
    // The server in the namespace too: the agent reaches it on the namespace's own loopback.
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        ns,
        process.execPath,
        FLEETBAN_BIN,
        'server',
        '--config',
        dir.configFile,
        '--ready-file',
        dir.readyFile,
      ],
      { cwd: dir.dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    server = new ServerProcess(child, dir);
    await server.waitUntilReady(15_000);
    token = (
      await cliJson<{ token: string }>([
        'agents',
        'add',
        'edge-cap',
        '--json',
        '--socket',
        dir.socket,
      ])
    ).token;
    scratch = await mkdtemp(join(tmpdir(), 'fleetban-agent-cap-'));
    // The unprivileged agent writes its state here and reads its config.
    await chmod(scratch, 0o777);
    bin = await binForNobody(scratch);
  });

  after(async () => {
    await server.kill().catch(() => undefined);
    spawnSync('ip', ['netns', 'del', ns]);
    await dir.remove();
    await rm(scratch, { recursive: true, force: true });
  });

  /** SIGTERM, as systemd stops it (a killed agent may leave its nft batch file behind). */
  async function stop(agent: AgentProcess): Promise<void> {
    agent.signal('SIGTERM');
    await Promise.race([agent.exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    await agent.kill();
  }

  async function startAgent(name: string, capabilities: boolean): Promise<AgentProcess> {
    const config = join(scratch, `${name}.json`);
    await writeFile(
      config,
      JSON.stringify({
        server: `http://127.0.0.1:${server.ready.agents?.port ?? 0}`,
        token,
        mode: 'host',
        stateFile: join(scratch, `${name}.state`),
        reconnect: { min: 1, max: 2 },
      }),
    );
    await chmod(config, 0o644);
    const caps = capabilities
      ? [
          '--inh-caps=-all,+net_admin',
          '--ambient-caps=+net_admin',
          '--bounding-set=-all,+net_admin',
        ]
      : ['--inh-caps=-all', '--bounding-set=-all'];
    const privileges = [
      'setpriv',
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      '--clear-groups',
      ...caps,
    ];
    return new AgentProcess(bin, ns, config, privileges);
  }

  it('enforces bans as nobody with only CAP_NET_ADMIN', async () => {
    const agent = await startAgent('capable', true);
    try {
      const banned = await runCli(['ban', '198.51.100.5', '--socket', dir.socket]);
      assert.equal(banned.code, 0, banned.stderr);
      await waitFor(
        () =>
          sh([
            'ip',
            'netns',
            'exec',
            ns,
            'nft',
            'list',
            'set',
            'inet',
            'fleetban',
            'banned_v4',
          ]).includes('198.51.100.5'),
        {
          what: 'the ban in the namespace, applied by the unprivileged agent',
        },
      );
      const caps = await capabilities(agent.pid);
      assert.equal(caps.uid, NOBODY, 'the agent runs as nobody');
      assert.equal(caps.effective, CAP_NET_ADMIN, 'its only effective capability is CAP_NET_ADMIN');
      assert.equal(caps.bounding, CAP_NET_ADMIN, 'and it cannot gain another');
    } finally {
      await stop(agent);
    }
  });

  it('without the capability, says what it needs', async () => {
    sh(['ip', 'netns', 'exec', ns, 'nft', 'delete', 'table', 'inet', 'fleetban']);
    const agent = await startAgent('incapable', false);
    try {
      await agent.waitForLog('changing nftables needs CAP_NET_ADMIN', 1, 20_000);
      assert.match(
        sh(['ip', 'netns', 'exec', ns, 'nft', 'list', 'tables']),
        /^(?![\s\S]*fleetban)/,
        'nothing was changed',
      );
    } finally {
      await stop(agent);
    }
  });
});
