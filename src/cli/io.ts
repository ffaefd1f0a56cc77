// What the CLI touches of the outside world, injected so tests can run main() in-process and read its output.
import { systemClock, type Clock } from '../core/clock.js';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** For "in 55m" / "5m ago" in human output. */
  readonly clock: Clock;
}

export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    clock: systemClock,
  };
}
