// Network namespaces for the agent benchmarks: create, link to the root namespace, run inside, always delete.
import { randomBytes } from 'node:crypto';
import { run, runOk } from './proc.js';

/** Everything the benchmarks need to put an agent in a namespace with a real nft. */
export async function requireNetns(): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error('the agent benchmarks need root (network namespaces and nft)');
  }
  for (const [cmd, args] of [
    ['ip', ['-V']],
    ['nft', ['--version']],
  ] as const) {
    const r = await run(cmd, args, { timeoutMs: 10_000 }).catch(() => null);
    if (r?.code !== 0) {
      throw new Error(`\`${cmd}\` is missing (Debian: apt-get install nftables iproute2)`);
    }
  }
}

/** A short id unique to this run: interface names must stay within 15 characters. */
export function runId(): string {
  return randomBytes(3).toString('hex');
}

/** The argument prefix that runs a program inside a namespace. */
export function inNs(ns: string, cmd: string, args: readonly string[]): [string, string[]] {
  return ['ip', ['netns', 'exec', ns, cmd, ...args]];
}

/**
 * One namespace joined to the root namespace by a veth pair: the root end carries `rootCidr`
 * (where the central server listens for agents), the namespace end `nsCidr`.
 * `delete()` removes both (register it with a Teardown so Ctrl-C removes them too).
 */
export class LinkedNamespace {
  readonly name: string;
  readonly rootDev: string;
  readonly nsDev: string;
  readonly rootAddress: string;
  readonly nsAddress: string;
  #created = false;
  #linked = false;

  constructor(options: {
    readonly prefix: string;
    readonly rootCidr: string;
    readonly nsCidr: string;
  }) {
    const id = runId();
    this.name = `${options.prefix}-${id}`;
    // veth names: at most 15 characters.
    this.rootDev = `fbr${id}`;
    this.nsDev = `fbn${id}`;
    this.rootAddress = options.rootCidr;
    this.nsAddress = options.nsCidr;
  }

  /** The root end's address without its prefix length: where the agent dials. */
  get rootIp(): string {
    return this.rootAddress.split('/')[0] ?? this.rootAddress;
  }

  async create(): Promise<this> {
    await runOk('ip', ['netns', 'add', this.name], { timeoutMs: 10_000 });
    this.#created = true;
    await this.exec('ip', ['link', 'set', 'lo', 'up']);
    await runOk('ip', ['link', 'add', this.rootDev, 'type', 'veth', 'peer', 'name', this.nsDev], {
      timeoutMs: 10_000,
    });
    this.#linked = true;
    await runOk('ip', ['link', 'set', this.nsDev, 'netns', this.name], { timeoutMs: 10_000 });
    await runOk('ip', ['addr', 'add', this.rootAddress, 'dev', this.rootDev], {
      timeoutMs: 10_000,
    });
    await runOk('ip', ['link', 'set', this.rootDev, 'up'], { timeoutMs: 10_000 });
    await this.exec('ip', ['addr', 'add', this.nsAddress, 'dev', this.nsDev]);
    await this.exec('ip', ['link', 'set', this.nsDev, 'up']);
    return this;
  }

  /** Runs a program inside the namespace to completion; throws unless it exits 0. */
  async exec(cmd: string, args: readonly string[], timeoutMs = 30_000): Promise<string> {
    const [c, a] = inNs(this.name, cmd, args);
    return (await runOk(c, a, { timeoutMs })).stdout;
  }

  /**
   * Kills what still runs inside (agent, nft monitor), then deletes the link and the namespace.
   * Safe to call twice and after a failed `create()`.
   */
  async delete(): Promise<void> {
    if (this.#created) {
      const pids = await run('ip', ['netns', 'pids', this.name], { timeoutMs: 10_000 });
      for (const pid of pids.stdout.split(/\s+/).filter((p) => /^\d+$/.test(p))) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
    if (this.#linked) {
      this.#linked = false;
      await run('ip', ['link', 'del', this.rootDev], { timeoutMs: 10_000 });
    }
    if (this.#created) {
      this.#created = false;
      await run('ip', ['netns', 'del', this.name], { timeoutMs: 10_000 });
    }
  }
}
