// `fleetban unban IP|CIDR | --all`: lift a ban (or every ban) on the whole fleet.
import { parseCidr } from '../../core/ip.js';
import { clientOptions, flagOption, toJson, usageError, type Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { plural } from '../format.js';

export const unbanCommand: Command = {
  name: 'unban',
  summary: 'lift the ban on an IP address or CIDR prefix, or every ban',
  usage: 'unban IP|CIDR | --all [--json]',
  description: 'The target must match an active ban exactly (see `fleetban bans`).',
  options: {
    all: { type: 'boolean', help: 'lift every active ban' },
    ...clientOptions,
  },
  positionals: { names: ['IP|CIDR'], required: 0 },
  async run({ values, positionals, io, client }) {
    const all = flagOption(values, 'all');
    const target = positionals[0];
    if (all && target !== undefined) throw usageError('give a target or --all, not both');
    if (!all && target === undefined) throw usageError('missing IP|CIDR (or --all)');
    if (target !== undefined && parseCidr(target) === null) {
      throw usageError(`'${target}' is not an IP address or CIDR prefix`);
    }
    const api = await client();
    const lifted = target === undefined ? await api.unbanAll() : await api.unban(target);
    if (flagOption(values, 'json')) {
      io.stdout(toJson(lifted));
      return ExitCode.OK;
    }
    let out = lifted.map((b) => `unbanned ${b.target} (jail ${b.jail})\n`).join('');
    if (all) out += `${plural(lifted.length, 'ban')} lifted\n`;
    io.stdout(out);
    return ExitCode.OK;
  },
};
