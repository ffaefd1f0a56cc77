// `fleetban reload`: re-read the configuration; a bad one is refused and the running one stays.
import { isFleetbanError, ErrorCode, FleetbanError } from '../../core/errors.js';
import { clientOptions, flagOption, toJson, type Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { plural } from '../format.js';

const CONFIG_ERRORS = new Set<string>([
  ErrorCode.CONFIG_INVALID,
  ErrorCode.CONFIG_NOT_FOUND,
  ErrorCode.JAIL_INVALID,
  ErrorCode.FILTER_INVALID,
  ErrorCode.FILTER_UNKNOWN,
]);

export const reloadCommand: Command = {
  name: 'reload',
  summary: 'reload the configuration and jails (like SIGHUP)',
  usage: 'reload [--json]',
  options: clientOptions,
  positionals: { names: [], required: 0 },
  async run({ values, io, client }) {
    const api = await client();
    let report;
    try {
      report = await api.reload();
    } catch (e) {
      if (isFleetbanError(e) && CONFIG_ERRORS.has(e.code)) {
        throw new FleetbanError(
          e.code,
          `reload refused, the running configuration is unchanged: ${e.message}`,
          {
            cause: e,
          },
        );
      }
      throw e;
    }
    if (flagOption(values, 'json')) {
      io.stdout(toJson(report));
      return ExitCode.OK;
    }
    const list = (label: string, names: readonly string[]) =>
      names.length === 0 ? '' : `  ${label}: ${names.join(', ')}\n`;
    io.stdout(
      `reloaded: ${plural(report.jails.length, 'jail')}\n` +
        list('added', report.added) +
        list('removed', report.removed) +
        list('changed', report.changed) +
        report.warnings.map((w) => `  warning: ${w}\n`).join(''),
    );
    return ExitCode.OK;
  },
};
