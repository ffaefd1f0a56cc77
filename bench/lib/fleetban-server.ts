// Runs `fleetban server` as a child process for a benchmark: writes its config, waits for its ready file, reads its status.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { usersFile } from './dashboard-watcher.js';
import { fleetbanBin, shippedJailsDir } from './paths.js';
import { pinned, stopChild, waitForFile } from './proc.js';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** The ready file the server writes once every listener is bound. */
export interface ReadyFile {
  readonly udp?: Endpoint;
  readonly tcp?: Endpoint;
  readonly tls?: Endpoint;
  readonly relp?: Endpoint;
  readonly journal?: Endpoint;
  readonly admin: { readonly socket: string };
  readonly agents?: Endpoint;
  readonly dashboard?: Endpoint & { readonly url: string };
}

export interface ServerOptions {
  /** Scratch folder: config, ready file, admin socket, log, and the store unless `storePath` is given. */
  readonly dir: string;
  readonly core: number | null;
  readonly udp?: boolean;
  readonly tcp?: boolean;
  readonly relp?: boolean;
  /** ingest.journal: systemd-journal-upload's POST /upload over HTTP. */
  readonly journal?: boolean;
  readonly recvBufferSize?: number;
  readonly storePath?: string;
  /** Keep bans on Redis (store.backend redis) instead of LevelDB. */
  readonly redis?: { readonly nodes: readonly string[]; readonly keyPrefix: string };
  readonly readyTimeoutMs?: number;
  /** Serve the dashboard, with one admin user signing in with this token. */
  readonly dashboardToken?: string;
  /** Extra node flags for the server, e.g. `--cpu-prof`. */
  readonly nodeFlags?: readonly string[];
}

export interface JailCounters {
  readonly name: string;
  readonly linesSeen: number;
  readonly matched: number;
  readonly failures: number;
  readonly banRequests: number;
}

/** The parts of `GET /v1/status` the benchmarks read. */
export interface StatusView {
  readonly messages: number;
  /** Messages parsed and handed to the jails (0 when the server does not report it). */
  readonly parsed: number;
  /** UDP datagrams the server dropped because its jails fell behind (0 when not reported). */
  readonly backlogDropped: number;
  readonly activeBans: number;
  readonly jails: readonly JailCounters[];
}

/** GET over the admin unix socket; resolves with the status code and body text. */
export function adminGet(
  socketPath: string,
  path: string,
  timeoutMs = 10_000,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { socketPath, path, method: 'GET', timeout: timeoutMs, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

function record(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
}

/**
 * Reads the status tolerantly: ingest counters either as one total (`ingest.messages`) or per
 * transport (`ingest.udp.messages`, …), summed. A benchmark enables one transport at a time.
 */
export function statusView(body: unknown): StatusView {
  const s = record(body);
  const ingest = record(s['ingest']);
  let messages = num(ingest['messages']);
  if (typeof ingest['messages'] !== 'number') {
    for (const t of ['udp', 'tcp', 'tls', 'relp', 'journal'])
      messages += num(record(ingest[t])['messages']);
  }
  const jails = Array.isArray(s['jails']) ? (s['jails'] as unknown[]) : [];
  return {
    messages,
    parsed: num(ingest['parsed']),
    backlogDropped: num(ingest['backlogDropped']),
    activeBans: num(s['activeBans']),
    jails: jails.map((j) => {
      const r = record(j);
      return {
        name: String(r['name']),
        linesSeen: num(r['linesSeen']),
        matched: num(r['matched']),
        failures: num(r['failures']),
        banRequests: num(r['banRequests']),
      };
    }),
  };
}

export class FleetbanServer {
  readonly child: ChildProcess;
  readonly ready: ReadyFile;
  readonly spawnedAt: number;
  /** performance.now() when the ready file appeared (polled every 20 ms). */
  readonly readyAt: number;
  readonly logFile: string;

  private constructor(
    child: ChildProcess,
    ready: ReadyFile,
    spawnedAt: number,
    readyAt: number,
    logFile: string,
  ) {
    this.child = child;
    this.ready = ready;
    this.spawnedAt = spawnedAt;
    this.readyAt = readyAt;
    this.logFile = logFile;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  static async start(options: ServerOptions): Promise<FleetbanServer> {
    const config = {
      store: {
        path: options.storePath ?? join(options.dir, 'store'),
        ...(options.redis === undefined
          ? {}
          : {
              backend: 'redis',
              redis: { nodes: options.redis.nodes, keyPrefix: options.redis.keyPrefix },
            }),
      },
      ingest: {
        udp: {
          enabled: options.udp ?? false,
          address: '127.0.0.1',
          port: 0,
          ...(options.recvBufferSize === undefined
            ? {}
            : { recvBufferSize: options.recvBufferSize }),
        },
        tcp: { enabled: options.tcp ?? false, address: '127.0.0.1', port: 0 },
        relp: { enabled: options.relp ?? false, address: '127.0.0.1', port: 0 },
        journal: { enabled: options.journal ?? false, address: '127.0.0.1', port: 0 },
        allowedSenders: ['127.0.0.0/8'],
      },
      jails: { dir: shippedJailsDir },
      // One local sender causes every ban here: the brake would hold all but its budget.
      brake: { enabled: false },
      control: { socket: join(options.dir, 'admin.sock') },
      // A free port: the default 5515 may be taken by another server on the box.
      agents: { port: 0 },
      // The pipeline and agent figures are measured without the dashboard (on by default at
      // 9515) unless a run asks for it.
      dashboard:
        options.dashboardToken === undefined
          ? { enabled: false }
          : { enabled: true, address: '127.0.0.1', port: 0 },
      log: { level: 'warn' },
    };
    if (options.dashboardToken !== undefined) {
      await mkdir(config.store.path, { recursive: true });
      await writeFile(join(config.store.path, 'users.json'), usersFile(options.dashboardToken));
    }
    const spawned = await spawnServer(
      options.dir,
      options.core,
      config,
      options.readyTimeoutMs,
      options.nodeFlags,
    );
    return new FleetbanServer(
      spawned.child,
      spawned.ready as ReadyFile,
      spawned.spawnedAt,
      spawned.readyAt,
      spawned.logFile,
    );
  }

  async get(path: string): Promise<{ status: number; body: string }> {
    return adminGet(this.ready.admin.socket, path);
  }

  async status(): Promise<StatusView> {
    const r = await this.get('/v1/status');
    if (r.status !== 200)
      throw new Error(`GET /v1/status answered ${r.status}: ${r.body.slice(0, 300)}`);
    return statusView(JSON.parse(r.body));
  }

  async close(): Promise<void> {
    await stopChild(this.child, 10_000);
  }
}

/** A `fleetban server` child process that has written its ready file. */
export interface SpawnedServer {
  readonly child: ChildProcess;
  /** The ready file's contents. */
  readonly ready: unknown;
  /** performance.now() at spawn and when the ready file appeared (polled every 20 ms). */
  readonly spawnedAt: number;
  readonly readyAt: number;
  readonly logFile: string;
}

/**
 * Writes `config` to DIR/fleetban.json and starts `fleetban server` on it (pinned to `core`), its
 * output going to DIR/server.log; resolves once the ready file is there, rejects (after stopping
 * the child) when the server exits first or the deadline passes.
 */
export async function spawnServer(
  dir: string,
  core: number | null,
  config: unknown,
  readyTimeoutMs = 60_000,
  nodeFlags: readonly string[] = [],
): Promise<SpawnedServer> {
  const configFile = join(dir, 'fleetban.json');
  const readyFile = join(dir, 'ready.json');
  const logFile = join(dir, 'server.log');
  await writeFile(configFile, JSON.stringify(config, null, 2));
  const [cmd, args] = pinned(core, process.execPath, [
    ...nodeFlags,
    fleetbanBin,
    'server',
    '--config',
    configFile,
    '--ready-file',
    readyFile,
  ]);
  const log = openSync(logFile, 'a');
  const spawnedAt = performance.now();
  const child = spawn(cmd, args, { stdio: ['ignore', log, log] });
  closeSync(log);
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => {
      reject(
        new Error(`fleetban server exited (${code ?? signal}) before it was ready; see ${logFile}`),
      );
    });
    child.once('error', reject);
  });
  try {
    const text = await Promise.race([waitForFile(readyFile, readyTimeoutMs), exited]);
    return {
      child,
      ready: JSON.parse(text) as unknown,
      spawnedAt,
      readyAt: performance.now(),
      logFile,
    };
  } catch (e) {
    await stopChild(child);
    throw e;
  } finally {
    exited.catch(() => undefined);
  }
}
