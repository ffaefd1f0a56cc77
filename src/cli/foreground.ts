// Runs a long-lived part (server, agent) in the foreground: start, then stop cleanly on SIGTERM/SIGINT.
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { ExitCode } from './exit-codes.js';
import type { CliIo } from './io.js';

export interface ForegroundPart {
  start(): Promise<unknown>;
  close(): Promise<void>;
}

export interface ForegroundOptions {
  /** Command name for messages: `fleetban NAME: …`. */
  readonly name: string;
  readonly logger: Logger;
  readonly io: CliIo;
  /** Extra fields for the "stopping" log line (e.g. the agent's counters). */
  readonly stopDetails?: () => object;
  /** What SIGHUP does; undefined = SIGHUP is not handled. Must not throw. */
  readonly onHangup?: () => void;
}

/**
 * Starts `part` and resolves with the exit code once a signal has stopped it: a start failure is
 * logged and printed (exit 1, after closing what was started); SIGTERM and SIGINT close the part
 * (exit 0, or 1 when closing failed).
 */
export async function runInForeground(part: ForegroundPart, o: ForegroundOptions): Promise<number> {
  try {
    await part.start();
  } catch (e) {
    o.logger.error({ err: e }, `cannot start: ${describeError(e)}`);
    await part.close().catch(() => undefined);
    o.io.stderr(`fleetban ${o.name}: ${describeError(e)}\n`);
    return ExitCode.FAILED;
  }
  const hangup = o.onHangup;
  if (hangup !== undefined) process.on('SIGHUP', hangup);
  return new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      o.logger.info({ signal, ...o.stopDetails?.() }, 'stopping');
      if (hangup !== undefined) process.off('SIGHUP', hangup);
      part.close().then(
        () => {
          resolve(ExitCode.OK);
        },
        (e: unknown) => {
          o.logger.error({ err: e }, `error while stopping: ${describeError(e)}`);
          resolve(ExitCode.FAILED);
        },
      );
    };
    process.once('SIGTERM', () => {
      stop('SIGTERM');
    });
    process.once('SIGINT', () => {
      stop('SIGINT');
    });
  });
}
