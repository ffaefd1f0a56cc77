// `fleetban bans [--jail J]`: the active bans with who reported them and when they end.
import { clientOptions, flagOption, stringOption, toJson, type Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { formatEnd, formatHosts, formatWhen, plural, table } from '../format.js';

export const bansCommand: Command = {
  name: 'bans',
  summary: 'list active bans',
  usage: 'bans [--jail J] [--json]',
  options: {
    jail: { type: 'string', short: 'j', value: 'J', help: 'only the bans of this jail' },
    ...clientOptions,
  },
  positionals: { names: [], required: 0 },
  async run({ values, io, client }) {
    const jail = stringOption(values, 'jail');
    const bans = await (await client()).bans(jail);
    if (flagOption(values, 'json')) {
      io.stdout(toJson(bans));
      return ExitCode.OK;
    }
    if (bans.length === 0) {
      io.stdout(jail === undefined ? 'no active bans\n' : `no active bans in jail ${jail}\n`);
      return ExitCode.OK;
    }
    const now = io.clock.now();
    io.stdout(
      table(
        ['TARGET', 'JAIL', 'FAILURES', 'HOSTS', 'SINCE', 'ENDS', 'BAN#'],
        bans.map((b) => [
          b.target,
          b.jail,
          String(b.failures),
          formatHosts(b.hosts),
          formatWhen(b.start, now),
          formatEnd(b.end, now),
          String(b.banCount),
        ]),
      ) + `${plural(bans.length, 'active ban')}\n`,
    );
    return ExitCode.OK;
  },
};
