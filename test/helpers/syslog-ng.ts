// Real syslog-ng as a test client: Debian's binary unpacked from its .deb (it conflicts with rsyslog as a package), forwarding to fleetban over TCP or UDP.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireLogger } from './rsyslog.js';
import { waitFor } from './wait.js';

/** Where scripts/install-test-deps.sh unpacks syslog-ng once per machine. */
export const SYSLOG_NG_CACHE = '/var/cache/fleetban-test/syslog-ng';
const UNPACK_SCRIPT = fileURLToPath(
  new URL('../../../scripts/unpack-syslog-ng.sh', import.meta.url),
);
const INSTALL_HINT = `run scripts/install-test-deps.sh as root (npm run test:all does), which unpacks Debian's syslog-ng-core and the libraries it needs into ${SYSLOG_NG_CACHE} with apt-get download and dpkg -x; that needs apt-get, dpkg and Debian's package lists (apt-get update)`;

/**
 * How the instance forwards, with the drivers Debian admins use: `syslog()` (RFC 5424,
 * octet-counted over TCP) and `network()` (the legacy BSD format, one line per message) over
 * TCP and UDP.
 */
export const SyslogNgDriver = {
  SYSLOG_TCP: 'syslog-tcp',
  NETWORK_TCP: 'network-tcp',
  NETWORK_UDP: 'network-udp',
} as const;
export type SyslogNgDriver = (typeof SyslogNgDriver)[keyof typeof SyslogNgDriver];

export interface SyslogNgOptions {
  /** The HOST syslog-ng puts in every message. */
  readonly hostname: string;
  readonly driver: SyslogNgDriver;
  readonly target: { readonly address: string; readonly port: number };
}

/** The unpacked tree: its binary and the folders it loads libraries and modules from. */
export interface SyslogNgInstall {
  readonly root: string;
  readonly binary: string;
  readonly version: string;
  readonly libraryPath: string;
  readonly modulePath: string;
}

function installAt(root: string): SyslogNgInstall | null {
  const stamp = join(root, '.complete');
  const binary = join(root, 'usr/sbin/syslog-ng');
  if (!existsSync(stamp) || !existsSync(binary)) return null;
  const arch = `${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;
  const version = readFileSync(stamp, 'utf8').trim();
  // Module folders are named after the major.minor version (usr/lib/syslog-ng/3.38).
  const minor = /^(\d+\.\d+)/.exec(version)?.[1] ?? '';
  return {
    root,
    binary,
    version,
    libraryPath: [`usr/lib/${arch}`, `lib/${arch}`, 'usr/lib/syslog-ng']
      .map((d) => join(root, d))
      .join(':'),
    modulePath: join(root, 'usr/lib/syslog-ng', minor),
  };
}

function writable(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

let unpacked: SyslogNgInstall | null = null;

/**
 * The unpacked syslog-ng: from the machine's cache, else unpacked now (into the cache when it
 * is writable, else into a folder under the temp dir that later runs reuse). Throws naming what to run when it cannot be had: these
 * tests never skip silently.
 */
export function requireSyslogNg(): SyslogNgInstall {
  if (unpacked !== null) return unpacked;
  const fallback = join(tmpdir(), 'fleetban-test', 'syslog-ng');
  const cached = installAt(SYSLOG_NG_CACHE) ?? installAt(fallback);
  if (cached !== null) return (unpacked = cached);
  const dest = writable(dirname(SYSLOG_NG_CACHE)) ? SYSLOG_NG_CACHE : fallback;
  const run = spawnSync('bash', [UNPACK_SCRIPT, dest], { encoding: 'utf8', timeout: 300_000 });
  const made = run.status === 0 ? installAt(dest) : null;
  if (made === null) {
    // On a spawn error (no bash) Node leaves stderr null, whatever its type says.
    const said = [run.stderr as unknown, run.error?.message]
      .filter((x): x is string => typeof x === 'string')
      .join(' ')
      .trim();
    throw new Error(
      `syslog-ng is not unpacked in ${SYSLOG_NG_CACHE} and unpacking it failed (${said || `exit ${String(run.status)}`}): ${INSTALL_HINT}`,
    );
  }
  return (unpacked = made);
}

/** The `@version` a config declares: the unpacked package's major.minor. */
function configVersion(packageVersion: string): string {
  return /^(\d+\.\d+)/.exec(packageVersion)?.[1] ?? packageVersion;
}

/** The syslog-ng.conf of one instance: a private unix socket in, one forwarding destination out. */
export function syslogNgConfig(version: string, socket: string, options: SyslogNgOptions): string {
  const { address, port } = options.target;
  const destinations: Record<SyslogNgDriver, string> = {
    [SyslogNgDriver.SYSLOG_TCP]: `syslog("${address}" transport("tcp") port(${port}))`,
    [SyslogNgDriver.NETWORK_TCP]: `network("${address}" transport("tcp") port(${port}))`,
    [SyslogNgDriver.NETWORK_UDP]: `network("${address}" transport("udp") port(${port}))`,
  };
  return [
    `@version: ${version}`,
    // Reconnect at once when fleetban is not up yet; no statistics lines mixed into the stream.
    'options { keep-hostname(no); use-dns(no); dns-cache(no); chain-hostnames(no); stats-freq(0); time-reopen(1); };',
    `source s_test { unix-dgram("${socket}"); };`,
    `rewrite r_host { set("${options.hostname}" value("HOST")); };`,
    `destination d_fleetban { ${destinations[options.driver]}; };`,
    'log { source(s_test); rewrite(r_host); destination(d_fleetban); };',
    '',
  ].join('\n');
}

/** Starts an instance with one forwarding destination (syslogNgConfig). */
export function startSyslogNg(options: SyslogNgOptions): Promise<SyslogNgClient> {
  return launchSyslogNg(options.hostname, ({ version, socket }) =>
    syslogNgConfig(version, socket, options),
  );
}

/** What a config is written with: the version for `@version`, the input socket, the instance's folder. */
export interface SyslogNgPlace {
  readonly version: string;
  readonly socket: string;
  readonly dir: string;
}

/**
 * Starts `syslog-ng -F` with the config `configure` writes, and its own persist file and control
 * socket in a temp dir; resolves once the input socket (a unix-dgram source the config must
 * open at `socket`) exists. `hostname` names the instance in messages.
 */
export async function launchSyslogNg(
  hostname: string,
  configure: (place: SyslogNgPlace) => string | Promise<string>,
): Promise<SyslogNgClient> {
  const install = requireSyslogNg();
  const logger = requireLogger();
  const dir = await mkdtemp(join(tmpdir(), `fleetban-syslog-ng-${hostname}-`));
  const socket = join(dir, 'log.sock');
  const conf = join(dir, 'syslog-ng.conf');
  await writeFile(conf, await configure({ version: configVersion(install.version), socket, dir }));
  const child = spawn(
    install.binary,
    [
      '-F',
      '-e',
      '--no-caps',
      `--cfgfile=${conf}`,
      `--persist-file=${join(dir, 'syslog-ng.persist')}`,
      `--pidfile=${join(dir, 'syslog-ng.pid')}`,
      `--control=${join(dir, 'syslog-ng.ctl')}`,
      `--module-path=${install.modulePath}`,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LD_LIBRARY_PATH: install.libraryPath },
    },
  );
  const client = new SyslogNgClient(child, dir, socket, logger, hostname);
  try {
    await waitFor(
      () => {
        if (!client.running) throw new Error(`syslog-ng exited: ${client.output}`);
        return existsSync(socket) && statSync(socket).isSocket();
      },
      { what: `syslog-ng (${hostname}) to create ${socket}`, timeoutMs: 15_000 },
    ).catch((e: unknown) => {
      throw new Error(
        `${e instanceof Error ? e.message : String(e)}; syslog-ng said: ${client.output || '(nothing)'}`,
      );
    });
  } catch (e) {
    await client.stop();
    throw e;
  }
  return client;
}

export class SyslogNgClient {
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

  /** What syslog-ng printed on stderr (-e): start-up, connections, config errors. */
  get output(): string {
    return this.#output;
  }

  /**
   * Logs lines into this instance as a local daemon would (`logger -u SOCKET -t TAG --id=PID`,
   * one message per line), which syslog-ng then forwards.
   */
  log(
    lines: readonly string[],
    options: { readonly tag?: string; readonly pid?: number; readonly priority?: string } = {},
  ): void {
    if (!this.#running)
      throw new Error(`syslog-ng (${this.hostname}) is not running: ${this.#output}`);
    const args = [
      '-u',
      this.socket,
      '-t',
      options.tag ?? 'sshd',
      '-p',
      options.priority ?? 'auth.info',
    ];
    if (options.pid !== undefined) args.push(`--id=${options.pid}`);
    const result = spawnSync(this.#logger, args, {
      input: `${lines.join('\n')}\n`,
      encoding: 'utf8',
      timeout: 10_000,
    });
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
