// Network namespaces for agent tests: require root, ip and nft; run commands inside; always clean up.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export const NFT_PACKAGES_HINT =
  'these tests need root, `ip` and `nft` (Debian: apt-get install nftables iproute2)';

/** Runs a program; resolves with its output, rejects with its stderr on a non-zero exit. */
export function run(
  file: string,
  args: readonly string[],
  input?: string,
  timeoutMs = 20_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      [...args],
      { timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err !== null) reject(new Error(`${file} ${args.join(' ')}: ${stderr || err.message}`));
        else resolve(stdout);
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Exit status of a program (never rejects). */
export function status(file: string, args: readonly string[], timeoutMs = 10_000): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(file, [...args], { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', () => {
      resolve(127);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve(code ?? 128);
    });
  });
}

/** Fails (never skips) with the package hint when the environment cannot run namespaces. */
export async function requireNetns(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error(`not running as root: ${NFT_PACKAGES_HINT}`);
  for (const [file, args] of [
    ['ip', ['-V']],
    ['nft', ['--version']],
  ] as const) {
    if ((await status(file, args)) !== 0)
      throw new Error(`\`${file}\` is missing: ${NFT_PACKAGES_HINT}`);
  }
}

/**
 * Deletes root-namespace veth ends (names starting with "v") that hold one of `addresses`: left
 * by an earlier run that was killed before its cleanup, they would route this run's traffic into
 * a dead namespace. Returns the names removed.
 */
export async function removeStaleRootLinks(addresses: readonly string[]): Promise<string[]> {
  const links = JSON.parse(await run('ip', ['-j', '-4', 'addr', 'show'])) as {
    ifname: string;
    addr_info?: { local: string }[];
  }[];
  const stale = links
    .filter((l) => l.ifname.startsWith('v'))
    .filter((l) => (l.addr_info ?? []).some((a) => addresses.includes(a.local)))
    .map((l) => l.ifname);
  for (const name of stale) await status('ip', ['link', 'del', name]);
  return stale;
}

/** A short id unique to this run: interface names must stay within 15 characters. */
export function runId(): string {
  return randomBytes(3).toString('hex');
}

/** Namespaces and root-side links created by a test, deleted in reverse by `cleanup()`. */
export class Netns {
  readonly #namespaces: string[] = [];
  readonly #rootLinks: string[] = [];

  async add(name: string): Promise<string> {
    await run('ip', ['netns', 'add', name]);
    this.#namespaces.push(name);
    await this.exec(name, 'ip', ['link', 'set', 'lo', 'up']);
    return name;
  }

  exec(ns: string, file: string, args: readonly string[], input?: string): Promise<string> {
    return run('ip', ['netns', 'exec', ns, file, ...args], input);
  }

  /**
   * A veth pair between two namespaces (null = the root namespace), each end addressed (CIDR)
   * and up.
   */
  async link(
    a: { ns: string | null; dev: string; cidr: string },
    b: { ns: string | null; dev: string; cidr: string },
  ): Promise<void> {
    await run('ip', ['link', 'add', a.dev, 'type', 'veth', 'peer', 'name', b.dev]);
    if (a.ns === null) this.#rootLinks.push(a.dev);
    if (b.ns === null) this.#rootLinks.push(b.dev);
    for (const end of [a, b]) {
      if (end.ns !== null) await run('ip', ['link', 'set', end.dev, 'netns', end.ns]);
      const inNs = (args: string[]) =>
        end.ns === null ? run('ip', args) : this.exec(end.ns, 'ip', args);
      await inNs(['addr', 'add', end.cidr, 'dev', end.dev]);
      await inNs(['link', 'set', end.dev, 'up']);
    }
  }

  async cleanup(): Promise<void> {
    for (const dev of this.#rootLinks.splice(0)) await status('ip', ['link', 'del', dev]);
    for (const ns of this.#namespaces.splice(0).reverse()) await status('ip', ['netns', 'del', ns]);
  }
}

/** One `fleetban agent` process inside a namespace, with its JSON log lines collected. */
export class AgentProcess {
  readonly logs: { level: number | string; msg: string }[] = [];
  readonly exited: Promise<number | null>;
  readonly #child: ReturnType<typeof spawn>;
  #stderr = '';
  readonly #waiters = new Set<() => void>();

  /**
   * `ns` null: in the root namespace (its nft can still act in another, through nftPath).
   * `privileges`: a command that execs the agent with other credentials (`setpriv …`).
   */
  constructor(
    bin: string,
    ns: string | null,
    configFile: string,
    privileges: readonly string[] = [],
  ) {
    const command = [...privileges, process.execPath, bin, 'agent', '--config', configFile];
    this.#child = spawn(
      ns === null ? (command[0] ?? '') : 'ip',
      ns === null ? command.slice(1) : ['netns', 'exec', ns, ...command],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: Object.fromEntries(
          Object.entries(process.env).filter(([k]) => !k.startsWith('FLEETBAN_')),
        ),
      },
    );
    let partial = '';
    this.#child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        try {
          this.logs.push(JSON.parse(line) as { level: string; msg: string });
        } catch {
          this.logs.push({ level: 'raw', msg: line });
        }
      }
      for (const w of this.#waiters) w();
    });
    this.#child.stderr?.setEncoding('utf8').on('data', (c: string) => (this.#stderr += c));
    this.exited = new Promise((resolve) =>
      this.#child.once('exit', (code) => {
        for (const w of this.#waiters) w();
        resolve(code);
      }),
    );
  }

  count(text: string): number {
    return this.logs.filter((l) => l.msg.includes(text)).length;
  }

  /** Resolves once `times` log lines contain `text`. */
  waitForLog(text: string, times = 1, timeoutMs = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.count(text) >= times) {
          done();
          resolve();
        } else if (this.#child.exitCode !== null || this.#child.signalCode !== null) {
          done();
          reject(new Error(`the agent exited before logging "${text}" ×${times}\n${this.tail()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(`no agent log "${text}" ×${times} within ${timeoutMs} ms\n${this.tail()}`),
        );
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  tail(): string {
    return `agent log:\n${this.logs
      .slice(-15)
      .map((l) => `  ${l.level} ${l.msg}`)
      .join('\n')}\nstderr: ${this.#stderr.slice(-1500)}`;
  }

  async kill(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null)
      this.#child.kill('SIGKILL');
    await this.exited;
  }

  /** Sends a signal (`ip netns exec` execs node, so the child is the agent itself). */
  signal(signal: NodeJS.Signals): void {
    this.#child.kill(signal);
  }

  /** The agent's process id: `ip netns exec` and `setpriv` exec, so it is the child's. */
  get pid(): number {
    return this.#child.pid ?? -1;
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }
}
