// What a `fleetban <command>` is: name, usage, options and run(); main.ts dispatches over a table of them.
import { ErrorCode, FleetbanError } from '../core/errors.js';
import type { AdminClient } from '../control/admin-client.js';
import type { CliIo } from './io.js';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** Placeholder shown in help for a string option, e.g. `FILE`. */
  readonly value?: string;
  readonly help: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

export type OptionValues = Readonly<Record<string, string | boolean | undefined>>;

export interface CommandArgs {
  readonly values: OptionValues;
  readonly positionals: readonly string[];
  readonly io: CliIo;
  /** A client for the server named by --socket / --config (resolved on first use). */
  readonly client: () => Promise<AdminClient>;
}

export interface Command {
  /** One or more words: `status`, `config check`. */
  readonly name: string;
  readonly summary: string;
  /** Everything after `fleetban `, e.g. `ban IP|CIDR [--jail J] [--for D | --permanent]`. */
  readonly usage: string;
  /** Longer help, printed under the usage line. */
  readonly description?: string;
  readonly options: OptionSpecs;
  /** Positional arguments: their names for messages, how many are required. */
  readonly positionals: { readonly names: readonly string[]; readonly required: number };
  /** Resolves with the exit code; throws FleetbanError (USAGE → exit 2 with the usage line). */
  run(args: CommandArgs): Promise<number>;
}

/** Options shared by every command that talks to the server. */
export const clientOptions: OptionSpecs = {
  config: {
    type: 'string',
    value: 'FILE',
    help: 'server configuration to find the admin socket or address in',
  },
  socket: { type: 'string', value: 'PATH', help: 'admin socket path (overrides --config)' },
  json: { type: 'boolean', help: 'print JSON for scripts instead of text' },
};

export function usageError(message: string): FleetbanError {
  return new FleetbanError(ErrorCode.USAGE, message);
}

export function stringOption(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function flagOption(values: OptionValues, name: string): boolean {
  return values[name] === true;
}

/** Pretty JSON with a trailing newline, for `--json`. */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
