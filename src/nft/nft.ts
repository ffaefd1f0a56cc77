// The real firewall: `nft -j -f FILE` for batches and `nft -j list set` for contents, each with a timeout.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../core/clock.js';
import { ErrorCode, FleetbanError } from '../core/errors.js';
import { NFT_FAMILY, NFT_TABLE, type BanSet } from './element.js';
import type { Firewall } from './firewall.js';
import { parseListedSet, type ListedSet } from './parse-list.js';
import type { NftDocument } from './render.js';

export interface NftOptions {
  /** The nft binary: a name looked up in PATH, or a full path. */
  readonly nftPath: string;
  /** A hung nft (a locked netlink socket) must not stall the agent forever. */
  readonly timeoutMs: number;
  /** Runs nft under another program, e.g. `['ip', 'netns', 'exec', 'NAME']` in tests. */
  readonly prefix?: readonly string[];
  readonly clock: Clock;
}

interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export class NftFirewall implements Firewall {
  readonly #options: NftOptions;

  constructor(options: NftOptions) {
    this.#options = options;
  }

  async apply(doc: NftDocument): Promise<void> {
    // Node gives children a socket, not a pipe, as stdin, and nft cannot open /dev/stdin on a
    // socket (ENXIO): the batch goes through a private temporary file instead.
    const dir = await mkdtemp(join(tmpdir(), 'fleetban-nft-'));
    const file = join(dir, 'batch.json');
    let result: RunResult;
    try {
      await writeFile(file, JSON.stringify(doc), { mode: 0o600 });
      result = await this.#run(['-j', '-f', file], '');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    if (result.code !== 0) {
      throw new FleetbanError(
        ErrorCode.NFT_FAILED,
        `nft refused the batch (${doc.nftables.length} commands): ${firstLines(result.stderr)}`,
      );
    }
  }

  async list(set: BanSet): Promise<ListedSet | null> {
    const now = this.#options.clock.now();
    const result = await this.#run(['-j', 'list', 'set', NFT_FAMILY, NFT_TABLE, set], '');
    if (result.code !== 0) {
      if (/No such file or directory/.test(result.stderr)) return null;
      throw new FleetbanError(
        ErrorCode.NFT_FAILED,
        `nft could not list ${set}: ${firstLines(result.stderr)}`,
      );
    }
    try {
      return parseListedSet(result.stdout, set, now);
    } catch (e) {
      throw new FleetbanError(ErrorCode.NFT_FAILED, `nft printed an unreadable set listing`, {
        cause: e,
      });
    }
  }

  #run(args: readonly string[], input: string): Promise<RunResult> {
    const { nftPath, timeoutMs, prefix = [] } = this.#options;
    const [command = nftPath, ...rest] = [...prefix, nftPath, ...args];
    return new Promise((resolve, reject) => {
      const child = spawn(command, rest, { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(
          new FleetbanError(ErrorCode.NFT_FAILED, `nft did not finish within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stderr.on('data', (c: Buffer) => err.push(c));
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(
          new FleetbanError(ErrorCode.NFT_FAILED, `cannot run ${command}: ${e.message}`, {
            cause: e,
          }),
        );
      });
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({
          code,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        });
      });
      // nft may exit before reading all input (a parse error at the start): not our error to report.
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
    });
  }
}

/** nft repeats the offending input around its message: the first lines say enough. */
function firstLines(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '');
  const errors = lines.filter((l) => /Error/.test(l));
  const chosen = errors.length > 0 ? errors : lines;
  const text = chosen.slice(0, 3).join(' | ');
  const said = text.length > 500 ? `${text.slice(0, 500)}…` : text === '' ? '(no message)' : text;
  return /Operation not permitted/.test(stderr) ? `${said}${PERMISSION_HINT}` : said;
}

/** What to do about nft's EPERM: the agent lacks the one capability it needs. */
const PERMISSION_HINT =
  ' (changing nftables needs CAP_NET_ADMIN: run the agent as root, or as its own user with AmbientCapabilities=CAP_NET_ADMIN as the packaged fleetban-agent.service does)';
