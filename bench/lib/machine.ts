// Machine facts printed by every benchmark: its figures only compare within one machine and one run.
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface MachineInfo {
  readonly nproc: number;
  readonly cpuModel: string;
  readonly node: string;
  readonly kernel: string;
  readonly memoryGiB: number;
  /** 1-minute load average when the benchmark started: other work on the box skews every figure. */
  readonly load1: number;
}

export function machineInfo(): MachineInfo {
  return {
    nproc: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    load1: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
  };
}

export function printMachine(info: MachineInfo = machineInfo()): void {
  console.log(
    `machine: nproc ${info.nproc}, ${info.cpuModel}, ${info.memoryGiB} GiB, node ${info.node}, ${info.kernel}, load ${info.load1}`,
  );
}

/** A sysctl read straight from /proc (no process spawned); null when absent. */
export function readSysctl(name: string): string | null {
  try {
    return readFileSync(`/proc/sys/${name.replaceAll('.', '/')}`, 'utf8').trim();
  } catch {
    return null;
  }
}

/** Receiver on core 0, sender on core 1, so the sender measures the receiver; no pinning on one core. */
export function benchCores(): { readonly receiver: number | null; readonly sender: number | null } {
  return os.availableParallelism() >= 2
    ? { receiver: 0, sender: 1 }
    : { receiver: null, sender: null };
}

/**
 * CPU seconds a process has used so far, all its threads (user + system, from /proc/PID/stat);
 * null when unreadable. CPU per message stays comparable when other work shares the box and
 * wall-clock rates do not.
 */
export function cpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks / CLOCK_TICKS_PER_SEC : null;
  } catch {
    return null;
  }
}

/** USER_HZ: 100 on every Linux architecture fleetban runs on. */
const CLOCK_TICKS_PER_SEC = 100;
