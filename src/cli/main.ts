// `fleetban <command>`: finds the command, parses its options strictly, runs it, turns errors into exit codes.
import { parseArgs } from 'node:util';
import { describeError, ErrorCode, isFleetbanError } from '../core/errors.js';
import { AdminClient, type AdminEndpoint } from '../control/admin-client.js';
import type { Command, OptionSpecs, OptionValues } from './command.js';
import { defaultCommands } from './commands/index.js';
import { EXIT_CODES_HELP, ExitCode, exitCodeFor } from './exit-codes.js';
import type { CliIo } from './io.js';
import { fleetbanVersion } from '../core/version.js';

const helpOption: OptionSpecs = { help: { type: 'boolean', short: 'h', help: 'show this help' } };

/** Runs one CLI invocation (`argv` without node and the script) and resolves with its exit code. */
export async function main(
  argv: readonly string[],
  io: CliIo,
  commands: readonly Command[] = defaultCommands,
): Promise<number> {
  const first = argv[0];
  if (first === undefined) {
    io.stderr(overallHelp(commands));
    return ExitCode.USAGE;
  }
  if (first === '--help' || first === '-h' || (first === 'help' && argv.length === 1)) {
    io.stdout(overallHelp(commands));
    return ExitCode.OK;
  }
  if (first === '--version' || first === '-V') {
    io.stdout(`fleetban ${fleetbanVersion()}\n`);
    return ExitCode.OK;
  }
  if (first === 'help') {
    const found = findCommand(commands, argv.slice(1));
    if (found === undefined) return unknownCommand(io, argv.slice(1));
    io.stdout(commandHelp(found.command));
    return ExitCode.OK;
  }
  const found = findCommand(commands, argv);
  if (found === undefined) return unknownCommand(io, argv);
  return runCommand(found.command, argv.slice(found.words), io);
}

async function runCommand(command: Command, rest: readonly string[], io: CliIo): Promise<number> {
  const specs: OptionSpecs = { ...command.options, ...helpOption };
  let values: OptionValues;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...rest],
      options: toParseArgsOptions(specs),
      strict: true,
      allowPositionals: true,
    }));
  } catch (e) {
    return usage(io, command, parseArgsMessage(e));
  }
  if (values.help === true) {
    io.stdout(commandHelp(command));
    return ExitCode.OK;
  }
  const { names, required } = command.positionals;
  if (positionals.length < required) {
    return usage(io, command, `missing ${names.slice(positionals.length, required).join(' ')}`);
  }
  if (positionals.length > names.length) {
    return usage(io, command, `unexpected argument '${positionals[names.length] ?? ''}'`);
  }
  let client: AdminClient | undefined;
  try {
    return await command.run({
      values,
      positionals,
      io,
      client: async () => {
        client ??= new AdminClient(await endpointFor(values, io));
        return client;
      },
    });
  } catch (e) {
    if (isFleetbanError(e, ErrorCode.USAGE)) return usage(io, command, e.message);
    const message = isFleetbanError(e) ? e.message : `internal error: ${describeError(e)}`;
    io.stderr(`fleetban ${command.name}: ${message}\n`);
    return exitCodeFor(e);
  }
}

async function endpointFor(values: OptionValues, io: CliIo): Promise<AdminEndpoint> {
  const socket = values.socket;
  if (typeof socket === 'string') return { kind: 'unix', socket };
  const config = typeof values.config === 'string' ? values.config : io.env.FLEETBAN_CONFIG;
  // The config loader (convict, yaml) is loaded only by commands that need the server's address.
  const { resolveAdminEndpoint } = await import('./endpoint.js');
  return resolveAdminEndpoint(config, io.env);
}

/** Longest match first, so `config check` wins over a hypothetical `config`. */
function findCommand(
  commands: readonly Command[],
  argv: readonly string[],
): { command: Command; words: number } | undefined {
  let best: { command: Command; words: number } | undefined;
  for (const command of commands) {
    const words = command.name.split(' ');
    const matches = words.every((w, i) => argv[i] === w);
    if (matches && (best === undefined || words.length > best.words))
      best = { command, words: words.length };
  }
  return best;
}

function unknownCommand(io: CliIo, argv: readonly string[]): number {
  io.stderr(`fleetban: unknown command '${argv[0] ?? ''}' (see fleetban --help)\n`);
  return ExitCode.USAGE;
}

function usage(io: CliIo, command: Command, message: string): number {
  io.stderr(`fleetban ${command.name}: ${message}\nusage: fleetban ${command.usage}\n`);
  return ExitCode.USAGE;
}

/** parseArgs messages are long and capitalised; keep the option name, say it in one line. */
function parseArgsMessage(e: unknown): string {
  const text = describeError(e);
  const option = /--[\w-]+/.exec(text)?.[0] ?? /'(-\w)\b/.exec(text)?.[1];
  const code = typeof e === 'object' && e !== null && 'code' in e ? e.code : undefined;
  if (option !== undefined && code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
    return `unknown option ${option}`;
  if (option !== undefined && /argument missing/.test(text))
    return `option ${option} needs a value`;
  if (option !== undefined && /does not take an argument/.test(text)) {
    return `option ${option} does not take a value`;
  }
  if (option !== undefined && /ambiguous/.test(text)) {
    return `option ${option} needs a value (write ${option}=VALUE if it starts with '-')`;
  }
  return text.split('\n')[0] ?? text;
}

type ParseArgsOptions = Record<string, { type: 'string' | 'boolean'; short?: string }>;

function toParseArgsOptions(specs: OptionSpecs): ParseArgsOptions {
  const out: ParseArgsOptions = {};
  for (const [name, spec] of Object.entries(specs)) {
    out[name] =
      spec.short === undefined ? { type: spec.type } : { type: spec.type, short: spec.short };
  }
  return out;
}

function overallHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return (
    'usage: fleetban <command> [options]\n\n' +
    'commands:\n' +
    commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}\n`).join('') +
    '\nRun `fleetban <command> --help` for its options; `fleetban --version` for the version.\n' +
    `${EXIT_CODES_HELP}\n`
  );
}

function commandHelp(command: Command): string {
  const specs: OptionSpecs = { ...command.options, ...helpOption };
  const labels = Object.entries(specs).map(([name, spec]) => {
    const short = spec.short === undefined ? '    ' : `-${spec.short}, `;
    const value = spec.type === 'string' ? ` ${spec.value ?? 'VALUE'}` : '';
    return [`${short}--${name}${value}`, spec.help] as const;
  });
  const width = Math.max(...labels.map(([l]) => l.length));
  return (
    `usage: fleetban ${command.usage}\n\n${command.summary}\n` +
    (command.description === undefined ? '' : `${command.description}\n`) +
    '\noptions:\n' +
    labels.map(([l, h]) => `  ${l.padEnd(width)}  ${h}\n`).join('') +
    `\n${EXIT_CODES_HELP}\n`
  );
}
