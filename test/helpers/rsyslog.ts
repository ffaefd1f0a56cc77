// Real rsyslog as a test client: a foreground rsyslogd with its own config that forwards to fleetban over TCP or UDP.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { waitFor } from './wait.js';

const INSTALL_HINT =
  'apt-get install rsyslog (or npm run test:all as root, which installs what the tests need)';

/** How the instance forwards: TCP octet-counted RFC 5424, UDP in the traditional (RFC 3164) format, or RELP (omrelp, RFC 5424). */
export const Forwarding = {
  TCP_RFC5424: 'tcp-rfc5424',
  UDP_TRADITIONAL: 'udp-traditional',
  RELP_RFC5424: 'relp-rfc5424',
} as const;
export type Forwarding = (typeof Forwarding)[keyof typeof Forwarding];

export interface RsyslogOptions {
  /** The HOSTNAME rsyslog puts in every message (`localHostname`). */
  readonly hostname: string;
  readonly forwarding: Forwarding;
  readonly target: { readonly address: string; readonly port: number };
  /**
   * TCP only: a second server that gets the lines while the first is unreachable
   * (`action.execOnlyWhenPreviousIsSuspended`), as docs/cluster.md recommends.
   */
  readonly backup?: { readonly address: string; readonly port: number };
  /** RELP over TLS: the CA that signs the server, and this host's certificate and key (PEM files). */
  readonly relpTls?: { readonly ca: string; readonly cert: string; readonly key: string };
}

/** Finds rsyslogd and logger, or throws saying how to install them: these tests never skip silently. */
export function requireRsyslog(): { readonly rsyslogd: string; readonly logger: string } {
  const rsyslogd = findExecutable('rsyslogd', ['/usr/sbin', '/sbin']);
  if (rsyslogd === null) throw new Error(`rsyslogd not found: ${INSTALL_HINT}`);
  return { rsyslogd, logger: requireLogger() };
}

/** Finds util-linux's logger (what local daemons' lines are written with), or throws saying how to install it. */
export function requireLogger(): string {
  const logger = findExecutable('logger', ['/usr/bin', '/bin']);
  if (logger === null)
    throw new Error(
      `logger not found: apt-get install bsdutils (or npm run test:all as root, which installs what the tests need)`,
    );
  return logger;
}

/** omrelp ships apart from rsyslog, in Debian's rsyslog-relp. */
export function requireOmrelp(): void {
  const path = `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/rsyslog/omrelp.so`;
  if (!existsSync(path))
    throw new Error(
      `${path} not found: apt-get install rsyslog-relp (or npm run test:all as root, which installs what the tests need)`,
    );
}

/** omrelp's TLS settings: the server must present a certificate for "localhost" signed by the CA. */
function relpTls(options: RsyslogOptions): string {
  const t = options.relpTls;
  if (t === undefined) return '';
  return ` tls="on" tls.caCert="${t.ca}" tls.myCert="${t.cert}" tls.myPrivKey="${t.key}" tls.authMode="name" tls.permittedPeer=["localhost"]`;
}

/** The rsyslog.conf of one instance: a private unix socket in, one forwarding action out. */
export function rsyslogConfig(dir: string, socket: string, options: RsyslogOptions): string {
  const { address, port } = options.target;
  const actions: Record<Forwarding, string> = {
    [Forwarding.TCP_RFC5424]: `action(type="omfwd" target="${address}" port="${port}" protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")`,
    [Forwarding.UDP_TRADITIONAL]: `action(type="omfwd" target="${address}" port="${port}" protocol="udp" template="RSYSLOG_TraditionalForwardFormat")`,
    // Retried for ever, every second: while fleetban restarts, messages wait in rsyslog's queue.
    [Forwarding.RELP_RFC5424]: `action(type="omrelp" target="${address}" port="${port}" template="RSYSLOG_SyslogProtocol23Format"${relpTls(options)} action.resumeRetryCount="-1" action.resumeInterval="1")`,
  };
  const backup =
    options.backup === undefined
      ? []
      : [
          `action(type="omfwd" target="${options.backup.address}" port="${options.backup.port}" protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format" action.execOnlyWhenPreviousIsSuspended="on")`,
        ];
  const action = actions[options.forwarding];
  return [
    `global(workDirectory="${dir}" localHostname="${options.hostname}")`,
    'module(load="imuxsock" SysSock.Use="off")',
    ...(options.forwarding === Forwarding.RELP_RFC5424 ? ['module(load="omrelp")'] : []),
    // Each test line comes from one logger process; no rate limit may hold any of them back.
    `input(type="imuxsock" Socket="${socket}" CreatePath="on" RateLimit.Interval="0")`,
    action,
    ...backup,
    '',
  ].join('\n');
}

/** Starts `rsyslogd -n -f CONF -i PIDFILE` in a temp dir; resolves once its input socket exists. */
export async function startRsyslog(options: RsyslogOptions): Promise<RsyslogClient> {
  const bins = requireRsyslog();
  if (options.forwarding === Forwarding.RELP_RFC5424) requireOmrelp();
  const dir = await mkdtemp(join(tmpdir(), `fleetban-rsyslog-${options.hostname}-`));
  const socket = join(dir, 'log.sock');
  const conf = join(dir, 'rsyslog.conf');
  await writeFile(conf, rsyslogConfig(dir, socket, options));
  const child = spawn(bins.rsyslogd, ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const client = new RsyslogClient(child, dir, socket, bins.logger, options.hostname);
  try {
    await waitFor(
      () => {
        if (!client.running) throw new Error(`rsyslogd exited: ${client.output}`);
        return existsSync(socket) && statSync(socket).isSocket();
      },
      { what: `rsyslogd (${options.hostname}) to create ${socket}`, timeoutMs: 15_000 },
    ).catch((e: unknown) => {
      throw new Error(
        `${e instanceof Error ? e.message : String(e)}; rsyslogd said: ${client.output || '(nothing)'}`,
      );
    });
    // rsyslogd creates the socket and may still fail on its config afterwards.
    if (!client.running) throw new Error(`rsyslogd exited: ${client.output}`);
  } catch (e) {
    await client.stop();
    throw e;
  }
  return client;
}

export class RsyslogClient {
  readonly dir: string;
  readonly socket: string;
  readonly hostname: string;
  readonly #child: ChildProcess;
  readonly #logger: string;
  readonly #exited: Promise<void>;
  #output = '';
  #running = true;

  constructor(child: ChildProcess, dir: string, socket: string, logger: string, hostname: string) {
    this.#child = child;
    this.dir = dir;
    this.socket = socket;
    this.#logger = logger;
    this.hostname = hostname;
    const collect = (chunk: Buffer): void => {
      this.#output += chunk.toString('utf8');
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.#exited = new Promise((resolve) => {
      child.once('exit', () => {
        this.#running = false;
        resolve();
      });
    });
  }

  get running(): boolean {
    return this.#running;
  }

  /** What rsyslogd printed (errors about its config end up here). */
  get output(): string {
    return this.#output;
  }

  /**
   * Logs lines into this instance as a local program would (`logger -u SOCKET -t TAG -p PRI`,
   * one message per line), which rsyslog then forwards. Returns once logger has handed them over.
   */
  log(
    lines: readonly string[],
    options: { readonly tag?: string; readonly priority?: string } = {},
  ): void {
    if (!this.#running)
      throw new Error(`rsyslogd (${this.hostname}) is not running: ${this.#output}`);
    const result = spawnSync(
      this.#logger,
      ['-u', this.socket, '-t', options.tag ?? 'sshd', '-p', options.priority ?? 'auth.info'],
      { input: `${lines.join('\n')}\n`, encoding: 'utf8', timeout: 10_000 },
    );
    if (result.status !== 0) {
      throw new Error(
        `logger -u ${this.socket} failed (${String(result.status)}): ${result.stderr}`,
      );
    }
  }

  /** SIGTERM, wait for the exit, remove the temp dir. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.#running) this.#child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#exited,
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.#child.kill('SIGKILL');
          resolve();
        }, 5_000);
      }),
    ]);
    clearTimeout(timer);
    await this.#exited;
    await rm(this.dir, { recursive: true, force: true });
  }
}

function findExecutable(name: string, extra: readonly string[]): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...extra].filter((d) => d !== '');
  for (const d of dirs) {
    const path = join(d, name);
    try {
      if (statSync(path).isFile()) return path;
    } catch {
      // not in this folder
    }
  }
  return null;
}
