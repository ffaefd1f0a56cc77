// `fleetban held`, `fleetban release`, `fleetban discard`: review the bans the ban brake held back.
import { parseCidr } from '../../core/ip.js';
import type { HeldBan } from '../../core/types.js';
import { discardHeld, listHeld, releaseHeld, type HeldSelection } from '../../control/brake.js';
import { clientOptions, flagOption, toJson, usageError, type Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { formatHosts, formatWhen, plural, table } from '../format.js';

export const heldCommand: Command = {
  name: 'held',
  summary: 'list the jail bans the ban brake holds for review',
  usage: 'held [--json]',
  description:
    'A ban is held when the senders whose failures led to it, or the whole fleet, went past their bans-per-minute budget (brake.*). Review the SENDERS column: a host that makes up failures is compromised or forged.',
  options: clientOptions,
  positionals: { names: [], required: 0 },
  async run({ values, io, client }) {
    const held = await listHeld(await client());
    if (flagOption(values, 'json')) {
      io.stdout(toJson(held));
      return ExitCode.OK;
    }
    if (held.length === 0) {
      io.stdout('no held bans\n');
      return ExitCode.OK;
    }
    const now = io.clock.now();
    io.stdout(
      table(
        ['TARGET', 'JAIL', 'FAILURES', 'SENDERS', 'HOSTS', 'HELD', 'BUDGET'],
        held.map((h) => [
          h.target,
          h.request.jail,
          String(h.request.failures),
          formatHosts(h.request.senders),
          formatHosts(h.request.hosts),
          formatWhen(h.heldAt, now),
          h.reason,
        ]),
      ) +
        `${plural(held.length, 'held ban')}; fleetban release TARGET|--all bans, fleetban discard TARGET|--all drops\n`,
    );
    return ExitCode.OK;
  },
};

export const releaseCommand: Command = heldAction(
  'release',
  'ban held bans after all (the brake does not apply)',
  releaseHeld,
  'released',
);

export const discardCommand: Command = heldAction(
  'discard',
  'drop held bans without banning',
  discardHeld,
  'discarded',
);

function heldAction(
  name: string,
  summary: string,
  act: (
    client: Awaited<ReturnType<Parameters<Command['run']>[0]['client']>>,
    which: HeldSelection,
  ) => Promise<HeldBan[]>,
  done: string,
): Command {
  return {
    name,
    summary,
    usage: `${name} IP|CIDR | --all [--json]`,
    description: 'The target must match a held ban exactly (see `fleetban held`).',
    options: { all: { type: 'boolean', help: `${name} every held ban` }, ...clientOptions },
    positionals: { names: ['IP|CIDR'], required: 0 },
    async run({ values, positionals, io, client }) {
      const all = flagOption(values, 'all');
      const target = positionals[0];
      if (all && target !== undefined) throw usageError('give a target or --all, not both');
      if (target === undefined && !all) throw usageError('missing IP|CIDR (or --all)');
      if (target !== undefined && parseCidr(target) === null)
        throw usageError(`'${target}' is not an IP address or CIDR prefix`);
      const entries = await act(
        await client(),
        target === undefined ? { all: true } : { targets: [target] },
      );
      if (flagOption(values, 'json')) {
        io.stdout(toJson(entries));
        return ExitCode.OK;
      }
      io.stdout(
        entries.map((h) => `${done} ${h.target} (jail ${h.request.jail})\n`).join('') +
          `${plural(entries.length, 'held ban')} ${done}\n`,
      );
      return ExitCode.OK;
    },
  };
}
