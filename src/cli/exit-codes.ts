// The CLI's exit codes, in one place: scripts branch on them, so they never change meaning.
import { ErrorCode, isFleetbanError } from '../core/errors.js';

export const ExitCode = {
  /** The command did what was asked. */
  OK: 0,
  /** The server refused or failed the operation (not banned, bad config on reload, …). */
  FAILED: 1,
  /** The command line was wrong: unknown option, missing value, bad duration or address. */
  USAGE: 2,
  /** No fleetban server answered on the admin socket or address. */
  UNREACHABLE: 3,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export function exitCodeFor(error: unknown): ExitCode {
  if (isFleetbanError(error, ErrorCode.USAGE)) return ExitCode.USAGE;
  if (isFleetbanError(error, ErrorCode.SERVER_UNREACHABLE)) return ExitCode.UNREACHABLE;
  return ExitCode.FAILED;
}

/** The line `--help` prints about exit codes. */
export const EXIT_CODES_HELP =
  'exit codes: 0 ok, 1 operation failed, 2 usage error, 3 server unreachable';
