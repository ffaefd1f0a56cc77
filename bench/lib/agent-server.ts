// Runs `fleetban server` with its agent API for the agent benchmarks: jails of the benchmark's choosing, agent tokens.
import type { ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { spawnServer, type Endpoint } from './fleetban-server.js';
import { stopChild } from './proc.js';

export interface AgentServerReady {
  readonly udp?: Endpoint;
  readonly tcp?: Endpoint;
  readonly admin: { readonly socket: string };
  readonly agents?: Endpoint;
}

export interface AgentServerOptions {
  /** Scratch folder: config, jails.d, ready file, admin socket, log; the store unless `storePath`. */
  readonly dir: string;
  readonly core: number | null;
  /** Where agents connect: the root end of the benchmark's veth pair. */
  readonly agentsAddress: string;
  /** jails.d/bench.json: jail name → options. */
  readonly jails: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly udp?: boolean;
  readonly tcp?: boolean;
  readonly storePath?: string;
  readonly readyTimeoutMs?: number;
  /** Extra node flags for the server, e.g. `--cpu-prof`. */
  readonly nodeFlags?: readonly string[];
}

/** An sshd jail counting fleet-wide, with the counting the benchmark needs. */
export function sshdJail(maxretry: number): Readonly<Record<string, unknown>> {
  return {
    enabled: true,
    filter: 'sshd',
    programs: ['sshd', 'sshd-session'],
    maxretry,
    findtime: '10m',
    bantime: '1h',
  };
}

/** One JSON call over the admin unix socket. */
export function adminCall(
  socketPath: string,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 30_000,
): Promise<{ status: number; body: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string | number> = { accept: 'application/json' };
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(payload);
  }
  return new Promise((resolve, reject) => {
    const req = http.request(
      { socketPath, path, method, headers, timeout: timeoutMs, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export class AgentServer {
  readonly child: ChildProcess;
  readonly ready: AgentServerReady;
  readonly logFile: string;

  private constructor(child: ChildProcess, ready: AgentServerReady, logFile: string) {
    this.child = child;
    this.ready = ready;
    this.logFile = logFile;
  }

  /** The agent API listener; throws if the server did not open one. */
  get agents(): Endpoint {
    if (this.ready.agents === undefined) throw new Error('the ready file names no agents listener');
    return this.ready.agents;
  }

  static async start(o: AgentServerOptions): Promise<AgentServer> {
    const jailsDir = join(o.dir, 'jails.d');
    await mkdir(jailsDir, { recursive: true });
    await writeFile(join(jailsDir, 'bench.json'), JSON.stringify(o.jails, null, 2));
    const config = {
      store: { path: o.storePath ?? join(o.dir, 'store') },
      ingest: {
        udp: { enabled: o.udp ?? false, address: '127.0.0.1', port: 0 },
        tcp: { enabled: o.tcp ?? false, address: '127.0.0.1', port: 0 },
        allowedSenders: ['127.0.0.0/8'],
      },
      // The attackers come from 198.18.0.0/15, which no ignore list covers.
      jails: { dir: jailsDir, ignoreip: ['127.0.0.0/8', '::1'] },
      // One local sender causes every ban here: the brake would hold all but its budget.
      brake: { enabled: false },
      control: { socket: join(o.dir, 'admin.sock') },
      agents: { enabled: true, address: o.agentsAddress, port: 0 },
      // The pipeline and agent figures are measured without the dashboard (on by default at 9515).
      dashboard: { enabled: false },
      mail: { enabled: false },
      log: { level: 'warn' },
    };
    const spawned = await spawnServer(o.dir, o.core, config, o.readyTimeoutMs, o.nodeFlags);
    return new AgentServer(spawned.child, spawned.ready as AgentServerReady, spawned.logFile);
  }

  /** `POST /v1/agents`: registers an agent and returns its token (shown only this once). */
  async addAgent(name: string): Promise<string> {
    const r = await adminCall(this.ready.admin.socket, 'POST', '/v1/agents', { name });
    if (r.status !== 201) throw new Error(`POST /v1/agents answered ${r.status}: ${r.body}`);
    return (JSON.parse(r.body) as { token: string }).token;
  }

  /** Active bans as the server counts them (`GET /v1/status`). */
  async activeBans(): Promise<number> {
    const r = await adminCall(this.ready.admin.socket, 'GET', '/v1/status');
    if (r.status !== 200) throw new Error(`GET /v1/status answered ${r.status}`);
    const n = (JSON.parse(r.body) as { activeBans?: unknown }).activeBans;
    return typeof n === 'number' ? n : Number.NaN;
  }

  async close(): Promise<void> {
    await stopChild(this.child, 10_000);
  }
}
