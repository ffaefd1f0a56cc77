// Real `fleetban server` processes sharing one Redis deployment, for the cluster tests.
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import {
  ServerDir,
  sshdJail,
  startServer,
  type JsonObject,
  type ServerProcess,
} from '../helpers/server-process.js';

/** The config keys that put a server on a Redis deployment. */
export function redisConfig(
  redis: { readonly nodes?: readonly string[]; readonly address?: string },
  prefix: string,
): JsonObject {
  return {
    store: {
      backend: 'redis',
      redis: { nodes: redis.nodes ?? [], address: redis.address ?? '', keyPrefix: prefix },
    },
  };
}

/** A key prefix of its own: each test's deployment is apart from the others on a shared Redis. */
export function freshDeployment(): string {
  return `e2e${randomBytes(4).toString('hex')}`;
}

export interface ClusterServers {
  readonly servers: ServerProcess[];
  readonly dirs: ServerDir[];
  /** Kills what is still running and removes the folders. */
  stop(): Promise<void>;
}

/** `count` servers on `nodes` under `prefix`, each with an sshd jail banning at `maxretry`, and `extraJails`. */
export async function startClusterServers(
  nodes: readonly string[],
  prefix: string,
  count: number,
  maxretry = 3,
  extraJails: JsonObject = {},
): Promise<ClusterServers> {
  const servers: ServerProcess[] = [];
  const dirs: ServerDir[] = [];
  const stop = async (): Promise<void> => {
    for (const s of servers) await s.kill().catch(() => undefined);
    for (const d of dirs) await d.remove();
  };
  try {
    for (let i = 0; i < count; i++) {
      const dir = await ServerDir.create({
        config: redisConfig({ nodes }, prefix),
        jails: { sshd: sshdJail({ maxretry, findtime: '10m', bantime: '1h' }), ...extraJails },
      });
      dirs.push(dir);
      servers.push(await startServer(dir));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { servers, dirs, stop };
}

/** GET /healthz over the admin socket: status and body. */
export function healthz(socket: string): Promise<{ status: number; body: string }> {
  return get(socket, '/healthz');
}

/** The body of a GET over the admin socket (expects 200). */
export async function adminGet(socket: string, path: string): Promise<string> {
  const r = await get(socket, path);
  if (r.status !== 200) throw new Error(`GET ${path} answered ${r.status}: ${r.body}`);
  return r.body;
}

function get(socket: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}
