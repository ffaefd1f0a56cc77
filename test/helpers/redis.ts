// Real Redis for tests: one standalone redis-server, or a 6-process Redis Cluster (3 masters, 3 replicas), in a temp folder.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait.js';

const INSTALL_HINT =
  'apt-get install redis-server redis-tools (or npm run test:all as root, which installs what the tests need)';

/** Finds redis-server and redis-cli, or throws saying how to install them: these tests never skip silently. */
export function requireRedis(): { readonly server: string; readonly cli: string } {
  const find = (name: string): string => {
    const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    const path = r.stdout.trim();
    if (r.status !== 0 || path === '') throw new Error(`${name} is not installed: ${INSTALL_HINT}`);
    return path;
  };
  return { server: find('redis-server'), cli: find('redis-cli') };
}

/** A free loopback TCP port (Redis takes a fixed port; port 0 would turn its TCP listener off). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => {
        if (address === null || typeof address === 'string') reject(new Error('no port'));
        else resolve(address.port);
      });
    });
  });
}

export interface RedisNode {
  readonly port: number;
  /** The bus port (cluster mode only). */
  readonly busPort: number;
  readonly process: ChildProcess;
  /** Running until `kill` or `stop`. */
  alive: boolean;
}

/** Runs `redis-cli` against one node and returns its stdout, or throws with its stderr. */
export function redisCli(port: number, args: readonly string[]): string {
  const { cli } = requireRedis();
  const r = spawnSync(cli, ['-p', String(port), ...args], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0)
    throw new Error(`redis-cli ${args.join(' ')} failed: ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** A standalone server that asks for a password, or speaks only TLS (and checks client certificates). */
export interface SecureRedisOptions {
  readonly password?: string;
  readonly tls?: { readonly ca: string; readonly cert: string; readonly key: string };
}

/** redis-cli's options to reach a node started with `secure`. */
function cliAccess(secure: SecureRedisOptions): string[] {
  return [
    ...(secure.password !== undefined ? ['--no-auth-warning', '-a', secure.password] : []),
    ...(secure.tls !== undefined
      ? ['--tls', '--cacert', secure.tls.ca, '--cert', secure.tls.cert, '--key', secure.tls.key]
      : []),
  ];
}

async function startNode(
  dir: string,
  cluster: boolean,
  fixedPort?: number,
  secure: SecureRedisOptions = {},
): Promise<RedisNode> {
  const { server } = requireRedis();
  const port = fixedPort ?? (await freePort());
  const busPort = cluster ? await freePort() : 0;
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--dbfilename',
    `dump-${port}.rdb`,
    '--save',
    '',
    '--appendonly',
    'no',
    '--daemonize',
    'no',
    '--protected-mode',
    'no',
    '--loglevel',
    'warning',
    '--logfile',
    join(dir, `redis-${port}.log`),
  ];
  if (cluster)
    args.push(
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      join(dir, `nodes-${port}.conf`),
      '--cluster-port',
      String(busPort),
      '--cluster-node-timeout',
      '2000',
      // A replica that has just joined has had little traffic from its master: let it take over anyway.
      '--cluster-replica-validity-factor',
      '0',
    );
  if (secure.password !== undefined) args.push('--requirepass', secure.password);
  if (secure.tls !== undefined) {
    // TLS only: the plain port is off, the TLS port is the one given.
    args.splice(args.indexOf('--port'), 2, '--port', '0', '--tls-port', String(port));
    args.push(
      '--tls-cert-file',
      secure.tls.cert,
      '--tls-key-file',
      secure.tls.key,
      '--tls-ca-cert-file',
      secure.tls.ca,
      '--tls-auth-clients',
      'yes',
    );
  }
  const child = spawn(server, args, { stdio: 'ignore' });
  const node: RedisNode = { port, busPort, process: child, alive: true };
  child.once('exit', () => {
    node.alive = false;
  });
  await waitFor(() => redisCli(port, [...cliAccess(secure), 'PING']).trim() === 'PONG', {
    what: `redis-server on port ${port} to answer PING`,
  });
  return node;
}

function kill(node: RedisNode, signal: NodeJS.Signals): Promise<void> {
  if (!node.alive) return Promise.resolve();
  return new Promise((resolve) => {
    node.process.once('exit', () => {
      resolve();
    });
    node.process.kill(signal);
  });
}

export interface StandaloneRedis {
  readonly port: number;
  readonly url: string;
  /** Kills the server with SIGKILL, as a crash would; `restart` brings it back on the same port. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: nothing is saved to disk). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** One redis-server on a free loopback port, with its files in a temp folder removed at stop. */
export async function startStandaloneRedis(
  secure: SecureRedisOptions = {},
): Promise<StandaloneRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetban-redis-'));
  let node = await startNode(dir, false, undefined, secure);
  const port = node.port;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill: () => kill(node, 'SIGKILL'),
    restart: async () => {
      await kill(node, 'SIGKILL');
      node = await startNode(dir, false, port, secure);
    },
    stop: async () => {
      await kill(node, 'SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisCluster {
  readonly nodes: readonly RedisNode[];
  /** "127.0.0.1:PORT" of every node: the seed list fleetban is given. */
  readonly seeds: readonly string[];
  /** The node serving `key`'s slot as master right now. */
  masterOf(key: string): RedisNode;
  /** Kills a node with SIGKILL (as a crash would). */
  kill(node: RedisNode): Promise<void>;
  /** Waits until every slot is served by a live master again (after a kill). */
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Six redis-server processes in cluster mode on free loopback ports, joined with
 * `redis-cli --cluster create … --cluster-replicas 1`: three masters, each with a replica.
 * `cluster-node-timeout` is 2 s, so a killed master's replica takes over within a few seconds.
 */
export async function startRedisCluster(): Promise<RedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetban-redis-cluster-'));
  const nodes: RedisNode[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => kill(n, 'SIGKILL')));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 6; i++) nodes.push(await startNode(dir, true));
    const seeds = nodes.map((n) => `127.0.0.1:${n.port}`);
    const first = nodes[0] as RedisNode;
    redisCli(first.port, [
      '--cluster',
      'create',
      ...seeds,
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    ]);
    const cluster: RedisCluster = {
      nodes,
      seeds,
      masterOf: (key) => {
        const live = nodes.find((n) => n.alive) as RedisNode;
        const slot = Number(redisCli(live.port, ['CLUSTER', 'KEYSLOT', key]).trim());
        for (const line of redisCli(live.port, ['CLUSTER', 'NODES']).split('\n')) {
          const f = line.split(' ');
          if (!(f[2] ?? '').includes('master') || (f[2] ?? '').includes('fail')) continue;
          for (const range of f.slice(8)) {
            const [lo, hi] = range.split('-').map(Number);
            if (lo !== undefined && slot >= lo && slot <= (hi ?? lo)) {
              const port = Number((f[1] ?? '').split(':')[1]?.split('@')[0]);
              const node = nodes.find((n) => n.port === port);
              if (node !== undefined) return node;
            }
          }
        }
        throw new Error(`no live master serves the slot of ${key}`);
      },
      kill: (node) => kill(node, 'SIGKILL'),
      waitHealthy: async (timeoutMs = 20_000) => {
        const servedByLive = (port: number): boolean =>
          redisCli(port, ['CLUSTER', 'NODES'])
            .split('\n')
            .map((line) => line.split(' '))
            .filter((f) => (f[2] ?? '').includes('master') && f.length > 8)
            .every((f) => {
              const p = Number((f[1] ?? '').split(':')[1]?.split('@')[0]);
              return nodes.some((n) => n.alive && n.port === p);
            });
        await waitFor(
          () =>
            nodes
              .filter((n) => n.alive)
              .every(
                (n) =>
                  /cluster_state:ok/.test(redisCli(n.port, ['CLUSTER', 'INFO'])) &&
                  servedByLive(n.port),
              ),
          {
            what: 'every slot served by a live master, and every live Redis node at cluster_state:ok',
            timeoutMs,
            intervalMs: 200,
          },
        );
      },
      stop,
    };
    await cluster.waitHealthy();
    // A replica that has not finished its first sync acknowledges no WAIT: wait for all three.
    await waitFor(
      () =>
        nodes.every((n) => {
          const info = redisCli(n.port, ['INFO', 'replication']);
          return !/role:master/.test(info) || /slave0:.*state=online/.test(info);
        }),
      { what: 'every master to have its replica online', timeoutMs: 30_000, intervalMs: 100 },
    );
    return cluster;
  } catch (e) {
    await stop();
    throw e;
  }
}
