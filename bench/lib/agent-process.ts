// `fleetban agent` and `nft monitor` inside a benchmark's namespace, with the arrival time of each log line and set element.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { systemClock } from '../../src/core/clock.js';
import { BAN_SET_SPECS, BAN_SETS } from '../../src/nft/element.js';
import { parseListedSet } from '../../src/nft/parse-list.js';
import type { LinkedNamespace } from './netns.js';
import { fleetbanBin } from './paths.js';
import { pinned, stopChild } from './proc.js';

/** Splits a child's stdout into lines, each stamped with performance.now() on arrival. */
function onLines(child: ChildProcess, each: (line: string, at: number) => void): void {
  let partial = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const at = performance.now();
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line !== '') each(line, at);
  });
}

/** A promise for the first time `test` holds, re-checked by `poke()`; rejects on `fail()` or timeout. */
class Waiters {
  readonly #waiting = new Set<{ check: () => boolean; reject: (e: Error) => void }>();

  wait(what: string, test: () => boolean, timeoutMs: number): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const entry = {
        check: (): boolean => {
          if (!test()) return false;
          done();
          resolve();
          return true;
        },
        reject: (e: Error): void => {
          done();
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        entry.reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.#waiting.delete(entry);
      };
      this.#waiting.add(entry);
    });
  }

  poke(): void {
    for (const w of this.#waiting) w.check();
  }

  fail(e: Error): void {
    for (const w of this.#waiting) w.reject(e);
  }
}

export interface AgentLine {
  readonly msg: string;
  readonly level: number | string;
  /** The whole pino record ({} for a line that is not JSON). */
  readonly fields: Readonly<Record<string, unknown>>;
  /** performance.now() when the line reached the benchmark. */
  readonly at: number;
}

export interface AgentStartOptions {
  readonly ns: LinkedNamespace;
  readonly configFile: string;
  readonly server: string;
  readonly token: string;
  readonly core: number | null;
  /** Extra agent config keys over the benchmark defaults. */
  readonly extra?: Readonly<Record<string, unknown>>;
  /** Extra node flags, e.g. `--cpu-prof`. */
  readonly nodeFlags?: readonly string[];
}

/** One `fleetban agent` process in a namespace; its pino lines are kept with their arrival time. */
export class AgentProcess {
  readonly lines: AgentLine[] = [];
  /** performance.now() just before the spawn. */
  readonly spawnedAt: number;
  readonly #child: ChildProcess;
  readonly #waiters = new Waiters();
  #stderr = '';

  private constructor(child: ChildProcess, spawnedAt: number) {
    this.#child = child;
    this.spawnedAt = spawnedAt;
    onLines(child, (line, at) => {
      try {
        const j = JSON.parse(line) as Record<string, unknown>;
        this.lines.push({
          msg: typeof j['msg'] === 'string' ? j['msg'] : '',
          level: typeof j['level'] === 'number' ? j['level'] : String(j['level']),
          fields: j,
          at,
        });
      } catch {
        this.lines.push({ msg: line, level: 'raw', fields: {}, at });
      }
      this.#waiters.poke();
    });
    child.stderr?.setEncoding('utf8').on('data', (c: string) => (this.#stderr += c));
    child.once('exit', (code, signal) => {
      this.#waiters.fail(new Error(`the agent exited (${code ?? signal})\n${this.tail()}`));
    });
  }

  /** Writes the agent config and starts the agent inside the namespace, pinned to `core`. */
  static async start(o: AgentStartOptions): Promise<AgentProcess> {
    const config = {
      server: o.server,
      token: o.token,
      mode: 'host',
      reconnect: { min: '0.2s', max: '2s' },
      log: { level: 'info' },
      ...o.extra,
    };
    await writeFile(o.configFile, JSON.stringify(config, null, 2), { mode: 0o600 });
    const [cmd, args] = pinned(o.core, process.execPath, [
      ...(o.nodeFlags ?? []),
      fleetbanBin,
      'agent',
      '--config',
      o.configFile,
    ]);
    const spawnedAt = performance.now();
    const child = spawn('ip', ['netns', 'exec', o.ns.name, cmd, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: Object.fromEntries(
        Object.entries(process.env).filter(([k]) => !k.startsWith('FLEETBAN_')),
      ),
    });
    return new AgentProcess(child, spawnedAt);
  }

  /** The first line whose msg contains `text`, if any. */
  find(text: string): AgentLine | undefined {
    return this.lines.find((l) => l.msg.includes(text));
  }

  /** Resolves with the first line whose msg contains `text`. */
  async waitForLine(text: string, timeoutMs: number): Promise<AgentLine> {
    await this.#waiters.wait(`agent log "${text}"`, () => this.find(text) !== undefined, timeoutMs);
    const line = this.find(text);
    if (line === undefined) throw new Error(`agent log "${text}" vanished`);
    return line;
  }

  /**
   * Resolves once the `nft sets updated` lines (log level debug) logged after `since` add up to
   * `count` added elements; returns those lines. Each is logged right after its nft batch returned.
   */
  async waitForAdded(count: number, since: number, timeoutMs: number): Promise<AgentLine[]> {
    const batches = (): AgentLine[] =>
      this.lines.filter((l) => l.at >= since && l.msg === 'nft sets updated');
    const added = (): number =>
      batches().reduce(
        (sum, l) => sum + (typeof l.fields['added'] === 'number' ? l.fields['added'] : 0),
        0,
      );
    await this.#waiters.wait(
      `${count} elements added by the agent`,
      () => added() >= count,
      timeoutMs,
    );
    return batches();
  }

  /** The agent's pid (`ip netns exec` and `taskset` exec it in place), undefined once gone. */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Lines that say something went wrong (pino warn = 40 and above). */
  problems(): AgentLine[] {
    return this.lines.filter((l) => typeof l.level === 'number' && l.level >= 40);
  }

  tail(): string {
    const last = this.lines.slice(-10).map((l) => `  ${l.level} ${l.msg}`);
    return `agent log:\n${last.join('\n')}\nstderr: ${this.#stderr.slice(-1000)}`;
  }

  /** SIGTERM (the agent writes its state and leaves the kernel sets in place), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    await stopChild(this.#child, 10_000);
  }
}

/**
 * `nft monitor` in the namespace: every `add element inet fleetban banned_v4 { ADDR … }` event
 * (or of another fleetban set)
 * with its arrival time. Text mode prints one line per element, flushed per event.
 */
export class NftMonitor {
  /** Element key → performance.now() of its first add event. */
  readonly added = new Map<string, number>();
  readonly #child: ChildProcess;
  readonly #waiters = new Waiters();
  readonly #probeTable: string;
  #probeSeen = false;

  private constructor(child: ChildProcess, probeTable: string) {
    this.#child = child;
    this.#probeTable = probeTable;
    const element = /^add element inet fleetban banned_v[46](?:_64|_net)? \{ ([0-9a-f.:/]+)/;
    onLines(child, (line, at) => {
      const m = element.exec(line);
      if (m?.[1] !== undefined) {
        if (!this.added.has(m[1])) this.added.set(m[1], at);
      } else if (line.startsWith(`add table inet ${this.#probeTable}`)) {
        this.#probeSeen = true;
      }
      this.#waiters.poke();
    });
    child.once('exit', (code, signal) => {
      this.#waiters.fail(new Error(`nft monitor exited (${code ?? signal})`));
    });
  }

  /**
   * Starts the monitor and resolves once it is listening: a probe table added and deleted in the
   * namespace must show up in its output (nft monitor prints no ready line of its own). nft
   * loads the whole ruleset first, which takes seconds when the sets hold 100,000 elements.
   */
  static async start(
    ns: LinkedNamespace,
    core: number | null = null,
    timeoutMs = 60_000,
  ): Promise<NftMonitor> {
    const [cmd, args] = pinned(core, 'nft', ['monitor']);
    const child = spawn('ip', ['netns', 'exec', ns.name, cmd, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const monitor = new NftMonitor(child, `fbprobe${process.pid}`);
    const deadline = performance.now() + timeoutMs;
    // A probe sent before the monitor subscribed is lost: probe again until one is seen.
    while (!monitor.#probeSeen) {
      if (performance.now() > deadline) {
        await monitor.stop();
        throw new Error(`nft monitor printed nothing within ${timeoutMs} ms`);
      }
      const t = monitor.#probeTable;
      await ns.exec('nft', [`add table inet ${t}; delete table inet ${t}`]);
      await monitor.#waiters
        .wait('the probe table in nft monitor', () => monitor.#probeSeen, 200)
        .catch(() => undefined);
    }
    return monitor;
  }

  /** Resolves once `count` elements have been seen in all. */
  waitForCount(count: number, timeoutMs: number): Promise<void> {
    return this.#waiters.wait(
      `${count} elements in nft monitor`,
      () => this.added.size >= count,
      timeoutMs,
    );
  }

  async stop(): Promise<void> {
    await stopChild(this.#child, 5000);
  }
}

/** Elements in the agent's sets, listed with `nft -j list set` per set, summed per family; 0 for a missing set. */
export async function countSetElements(
  ns: LinkedNamespace,
): Promise<{ v4: number; v6: number; ms: number }> {
  const t = performance.now();
  const counts = { 4: 0, 6: 0 };
  for (const set of BAN_SETS) {
    const out = await ns
      .exec('nft', ['-j', 'list', 'set', 'inet', 'fleetban', set], 300_000)
      .catch(() => null);
    if (out === null) continue;
    counts[BAN_SET_SPECS[set].family] += parseListedSet(out, set, systemClock.now()).elements.size;
  }
  return { v4: counts[4], v6: counts[6], ms: performance.now() - t };
}
