// Runs the real `fleetban server` as a child process for end-to-end tests: temp dir, config, ready file, logs, stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The compiled CLI, from dist/test/helpers/ to dist/src/bin/. */
export const FLEETBAN_BIN = fileURLToPath(new URL('../../src/bin/fleetban.js', import.meta.url));

export interface ListenerAddress {
  readonly address: string;
  readonly port: number;
  readonly family: string;
}

/** The ready file the server writes once serving. */
export interface ReadyInfo {
  readonly udp?: ListenerAddress;
  readonly tcp?: ListenerAddress;
  readonly tls?: ListenerAddress;
  readonly relp?: ListenerAddress;
  readonly journal?: ListenerAddress;
  readonly admin: { readonly socket?: string };
  readonly agents?: { readonly address: string; readonly port: number };
  readonly dashboard?: { readonly address: string; readonly port: number; readonly url: string };
}

/** One stdout line: a pino record, or `{ level: 'raw', msg }` for anything that is not JSON. */
export type LogLine = Readonly<Record<string, unknown>> & {
  readonly level: string;
  readonly msg: string;
  readonly time?: string;
};

export type LogMatch = string | ((line: LogLine) => boolean);

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export type JsonObject = { readonly [key: string]: unknown };

/** An sshd jail as jails.d/sshd.json holds it, with the counting and ban times the test picks. */
export function sshdJail(options: {
  /** A string only to test that the server refuses it. */
  readonly maxretry: number | string;
  readonly findtime: string | number;
  readonly bantime: string | number;
  readonly [key: string]: unknown;
}): JsonObject {
  return { enabled: true, filter: 'sshd', programs: ['sshd', 'sshd-session'], ...options };
}

/**
 * A server's folder: config file, jails.d, store, admin socket and ready file, all inside one
 * temp dir so parallel test files never share anything. Survives server restarts.
 */
export class ServerDir {
  readonly dir: string;
  readonly configFile: string;
  readonly jailsDir: string;
  readonly storePath: string;
  readonly socket: string;
  readonly readyFile: string;

  private constructor(dir: string) {
    this.dir = dir;
    this.configFile = join(dir, 'fleetban.json');
    this.jailsDir = join(dir, 'jails.d');
    this.storePath = join(dir, 'store');
    this.socket = join(dir, 'admin.sock');
    this.readyFile = join(dir, 'ready.json');
  }

  /** Creates the folder with a config (`overrides` merged over test defaults) and the given jail files. */
  static async create(
    options: { readonly config?: JsonObject; readonly jails?: JsonObject } = {},
  ): Promise<ServerDir> {
    const d = new ServerDir(await mkdtemp(join(tmpdir(), 'fleetban-e2e-')));
    await mkdir(d.jailsDir);
    await d.writeConfig(options.config ?? {});
    await d.writeJails(
      'sshd.json',
      options.jails ?? { sshd: sshdJail({ maxretry: 5, findtime: '10m', bantime: '1h' }) },
    );
    return d;
  }

  /** The config every test server starts from: every listener on port 0, every path in the temp dir. */
  baseConfig(): JsonObject {
    return {
      store: { path: this.storePath },
      ingest: {
        udp: { address: '127.0.0.1', port: 0, recvBufferSize: 1024 * 1024 },
        tcp: { address: '127.0.0.1', port: 0 },
      },
      jails: { dir: this.jailsDir },
      control: { socket: this.socket },
      agents: { address: '127.0.0.1', port: 0 },
      // On by default at 9515: every test server takes a port of its own.
      dashboard: { address: '127.0.0.1', port: 0 },
      log: { level: 'info' },
    };
  }

  /** Writes fleetban.json: the base config with `overrides` merged in (objects deeply, the rest replaced). */
  async writeConfig(overrides: JsonObject): Promise<JsonObject> {
    const config = deepMerge(this.baseConfig(), overrides);
    await this.writeRaw('fleetban.json', `${JSON.stringify(config, null, 2)}\n`);
    return config;
  }

  /** Writes one jail file (name → options) into jails.d. */
  async writeJails(file: string, jails: JsonObject): Promise<void> {
    await writeFile(join(this.jailsDir, file), `${JSON.stringify(jails, null, 2)}\n`);
  }

  /** Writes any text to a path relative to the folder: for broken configs. */
  async writeRaw(relative: string, text: string): Promise<void> {
    await writeFile(join(this.dir, relative), text);
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Starts `fleetban server` on `dir` and resolves once its ready file is written. */
export async function startServer(
  dir: ServerDir,
  options: { readonly timeoutMs?: number } = {},
): Promise<ServerProcess> {
  await rm(dir.readyFile, { force: true });
  const child = spawn(
    process.execPath,
    [FLEETBAN_BIN, 'server', '--config', dir.configFile, '--ready-file', dir.readyFile],
    { cwd: dir.dir, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const server = new ServerProcess(child, dir);
  try {
    await server.waitUntilReady(options.timeoutMs ?? 15_000);
  } catch (e) {
    await server.kill();
    throw e;
  }
  return server;
}

export class ServerProcess {
  readonly dir: ServerDir;
  readonly logs: LogLine[] = [];
  /** Resolves when the process has exited, whatever the reason. */
  readonly exited: Promise<ExitInfo>;
  #ready: ReadyInfo | null = null;
  #stderr = '';
  #exit: ExitInfo | null = null;
  readonly #child: ChildProcess;
  readonly #listeners = new Set<(line: LogLine | null) => void>();

  constructor(child: ChildProcess, dir: ServerDir) {
    this.#child = child;
    this.dir = dir;
    let partial = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const text of lines) if (text !== '') this.#push(parseLine(text));
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => (this.#stderr += chunk));
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        if (partial !== '') this.#push(parseLine(partial));
        this.#exit = { code, signal };
        for (const listener of this.#listeners) listener(null);
        resolve(this.#exit);
      });
    });
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  get ready(): ReadyInfo {
    if (this.#ready === null) throw new Error('the server is not ready yet');
    return this.#ready;
  }

  get stderr(): string {
    return this.#stderr;
  }

  get running(): boolean {
    return this.#exit === null;
  }

  /** The log lines that match (a substring of `msg`, or a predicate). */
  logsMatching(match: LogMatch): LogLine[] {
    return this.logs.filter(matcher(match));
  }

  /** Resolves with the first log line (already seen or still to come) that matches. */
  waitForLog(match: LogMatch, options: { readonly timeoutMs?: number } = {}): Promise<LogLine> {
    const test = matcher(match);
    const seen = this.logs.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    const timeoutMs = options.timeoutMs ?? 10_000;
    const what = typeof match === 'string' ? `log line "${match}"` : 'a matching log line';
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#listeners.delete(listener);
      };
      const listener = (line: LogLine | null): void => {
        if (line === null) {
          done();
          reject(new Error(`the server exited before ${what}\n${this.#tail()}`));
        } else if (test(line)) {
          done();
          resolve(line);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${this.#tail()}`));
      }, timeoutMs);
      if (this.#exit !== null) listener(null);
      else this.#listeners.add(listener);
    });
  }

  /** Sends a signal without waiting (SIGHUP = reload). */
  signal(signal: NodeJS.Signals): void {
    if (this.#exit === null) this.#child.kill(signal);
  }

  /** SIGTERM, then waits for the exit (a drained, flushed shutdown). */
  async stop(timeoutMs = 10_000): Promise<ExitInfo> {
    if (this.#exit !== null) return this.#exit;
    this.#child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.#child.kill('SIGKILL');
        reject(
          new Error(`the server did not exit within ${timeoutMs} ms of SIGTERM\n${this.#tail()}`),
        );
      }, timeoutMs);
    });
    return Promise.race([this.exited, late]).finally(() => {
      clearTimeout(timer);
    });
  }

  /** SIGKILL (a crash): nothing is flushed. Safe to call at any time, also in `after` hooks. */
  async kill(): Promise<ExitInfo> {
    if (this.#exit !== null) return this.#exit;
    this.#child.kill('SIGKILL');
    return this.exited;
  }

  /** Waits for the ready file (watching its folder), failing early if the process exits. */
  async waitUntilReady(timeoutMs: number): Promise<ReadyInfo> {
    const file = this.dir.readyFile;
    let watcher: FSWatcher | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      this.#ready = await new Promise<ReadyInfo>((resolve, reject) => {
        let checking = false;
        let again = false;
        const check = async (): Promise<void> => {
          if (checking) {
            again = true;
            return;
          }
          checking = true;
          do {
            again = false;
            const info = await readReady(file);
            if (info !== null) resolve(info);
            // `again` is set by calls that arrive while readReady is awaited.
            // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
          } while (again);
          checking = false;
        };
        watcher = watch(this.dir.dir, () => void check());
        timer = setTimeout(() => {
          reject(new Error(`no ready file ${file} within ${timeoutMs} ms\n${this.#tail()}`));
        }, timeoutMs);
        void this.exited.then((exit) => {
          reject(
            new Error(
              `the server exited (${JSON.stringify(exit)}) before it was ready\n${this.#tail()}`,
            ),
          );
        });
        void check();
      });
      return this.#ready;
    } finally {
      watcher?.close();
      clearTimeout(timer);
    }
  }

  #push(line: LogLine): void {
    this.logs.push(line);
    for (const listener of this.#listeners) listener(line);
  }

  /** The end of stdout and stderr, for failure messages. */
  #tail(): string {
    const out = this.logs
      .slice(-15)
      .map((l) => `  ${l.level} ${l.msg}`)
      .join('\n');
    return `last log lines:\n${out}\nstderr:\n${this.#stderr.slice(-2000)}`;
  }
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real `fleetban` CLI (`node dist/src/bin/fleetban.js ARGS`) and collects its output. */
export function runCli(
  args: readonly string[],
  options: { readonly timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FLEETBAN_BIN, ...args], {
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `fleetban ${args.join(' ')} did not finish within ${options.timeoutMs ?? 15_000} ms`,
        ),
      );
    }, options.timeoutMs ?? 15_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal === null ? -1 : 128), stdout, stderr });
    });
  });
}

/** `runCli` that expects exit 0 and parses stdout as JSON (for `--json` commands). */
export async function cliJson<T>(args: readonly string[]): Promise<T> {
  const result = await runCli(args);
  if (result.code !== 0) {
    throw new Error(`fleetban ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  }
  return JSON.parse(result.stdout) as T;
}

/** The test runner's environment without FLEETBAN_* overrides, so only the test's config counts. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('FLEETBAN_')) env[key] = value;
  }
  return env;
}

async function readReady(file: string): Promise<ReadyInfo | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return null;
  }
  // The server renames a complete file into place, so a parse error means a bug, not a race.
  return JSON.parse(text) as ReadyInfo;
}

function parseLine(text: string): LogLine {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const record = value as Record<string, unknown>;
      return {
        ...record,
        level: typeof record.level === 'string' ? record.level : '',
        msg: typeof record.msg === 'string' ? record.msg : '',
      };
    }
  } catch {
    // not JSON: kept as a raw line below
  }
  return { level: 'raw', msg: text };
}

/** Matches a log line whose message is exactly `text` (so `Ban 198.51.100.7` never matches `…100.70`). */
export function exactMsg(text: string): (line: LogLine) => boolean {
  return (line) => line.msg === text;
}

function matcher(match: LogMatch): (line: LogLine) => boolean {
  return typeof match === 'string' ? (line) => line.msg.includes(match) : match;
}

function deepMerge(base: JsonObject, over: JsonObject): JsonObject {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const old = out[key];
    out[key] = isPlainObject(old) && isPlainObject(value) ? deepMerge(old, value) : value;
  }
  return out;
}

function isPlainObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
