// Child processes for the benchmarks: run to completion, pin to a core, poll with a deadline, read RSS.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { readFile, stat } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly wallMs: number;
}

/** `taskset -c CORE cmd args…`: sender and receiver on different cores measure the receiver. */
export function pinned(
  core: number | null,
  cmd: string,
  args: readonly string[],
): [string, string[]] {
  if (core === null) return [cmd, [...args]];
  return ['taskset', ['-c', String(core), cmd, ...args]];
}

/** Runs a command to its end (killed after `timeoutMs`), capturing its output. */
export async function run(
  cmd: string,
  args: readonly string[],
  options: { readonly timeoutMs: number; readonly cwd?: string; readonly core?: number | null },
): Promise<RunResult> {
  const [c, a] = pinned(options.core ?? null, cmd, args);
  const spawnOptions: SpawnOptions = { stdio: ['ignore', 'pipe', 'pipe'] };
  if (options.cwd !== undefined) spawnOptions.cwd = options.cwd;
  const t0 = performance.now();
  const child = spawn(c, a, spawnOptions);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
  try {
    const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    return { code, signal, stdout, stderr, wallMs: performance.now() - t0 };
  } finally {
    clearTimeout(timer);
  }
}

/** Like `run`, but throws with the command's stderr unless it exits 0. */
export async function runOk(
  cmd: string,
  args: readonly string[],
  options: { readonly timeoutMs: number; readonly cwd?: string; readonly core?: number | null },
): Promise<RunResult> {
  const r = await run(cmd, args, options);
  if (r.code !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} exited with ${r.code ?? r.signal}: ${r.stderr.trim().slice(0, 2000)}`,
    );
  }
  return r;
}

/**
 * Polls `probe` every `intervalMs` until it returns a value other than undefined; throws after
 * `timeoutMs`. A benchmark harness may poll; the server's own readiness signal is the ready file.
 */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  options: { readonly intervalMs: number; readonly timeoutMs: number },
): Promise<T> {
  const deadline = performance.now() + options.timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (performance.now() > deadline)
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}`);
    await delay(options.intervalMs);
  }
}

/** Resolves with the file's text once it exists and is non-empty (polled every 20 ms). */
export function waitForFile(path: string, timeoutMs: number): Promise<string> {
  return pollUntil(
    path,
    async () => {
      try {
        const text = await readFile(path, 'utf8');
        return text.length > 0 ? text : undefined;
      } catch {
        return undefined;
      }
    },
    { intervalMs: 20, timeoutMs },
  );
}

export async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** Resident memory of a process in KiB (VmRSS), or null if it is gone. */
export async function rssKiB(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m?.[1] === undefined ? null : Number(m[1]);
  } catch {
    return null;
  }
}

/** Peak resident memory of a process in KiB (VmHWM), or null if it is gone. */
export async function peakRssKiB(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    return m?.[1] === undefined ? null : Number(m[1]);
  } catch {
    return null;
  }
}

/** SIGTERM, then SIGKILL if the child has not exited within `graceMs`. Resolves once it is gone. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Whether a socket of this protocol is bound (UDP) or listening (TCP) on the port, per /proc/net. */
export async function portBound(proto: 'udp' | 'tcp', port: number): Promise<boolean> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of [`/proc/net/${proto}`, `/proc/net/${proto}6`]) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      const state = cols[3];
      if (local?.endsWith(`:${hex}`) === true && (proto === 'udp' || state === '0A')) return true;
    }
  }
  return false;
}
