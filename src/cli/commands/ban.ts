// `fleetban ban IP|CIDR`: ban an address or prefix on the whole fleet by hand.
import { parseDuration } from '../../core/duration.js';
import { parseCidr } from '../../core/ip.js';
import type { BanRequestBody } from '../../control/admin-client.js';
import {
  clientOptions,
  flagOption,
  stringOption,
  toJson,
  usageError,
  type Command,
} from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { formatEnd } from '../format.js';

export const banCommand: Command = {
  name: 'ban',
  summary: 'ban an IP address or CIDR prefix on every agent',
  usage: 'ban IP|CIDR [--jail J] [--for D | --permanent] [--reason T] [--json]',
  description:
    "Without --for or --permanent the ban lasts the jail's bantime (or the manual default).\n" +
    'Durations: seconds, or 30s, 10m, 1h, 1d, 1w (sums like 1h30m too).',
  options: {
    jail: { type: 'string', short: 'j', value: 'J', help: 'record the ban under this jail' },
    for: { type: 'string', value: 'D', help: 'ban duration, e.g. 1h or 3600' },
    permanent: { type: 'boolean', help: 'ban until lifted by hand' },
    reason: { type: 'string', value: 'T', help: 'why, shown in mails and `fleetban bans --json`' },
    ...clientOptions,
  },
  positionals: { names: ['IP|CIDR'], required: 1 },
  async run({ values, positionals, io, client }) {
    const target = positionals[0] ?? '';
    if (parseCidr(target) === null)
      throw usageError(`'${target}' is not an IP address or CIDR prefix`);
    const forText = stringOption(values, 'for');
    const permanent = flagOption(values, 'permanent');
    if (forText !== undefined && permanent)
      throw usageError('--for and --permanent exclude each other');
    const body: { -readonly [K in keyof BanRequestBody]: BanRequestBody[K] } = { target };
    if (forText !== undefined) {
      const seconds = parseDuration(forText);
      if (seconds === undefined || seconds <= 0) {
        throw usageError(
          `--for: '${forText}' is not a duration (use seconds or 30s, 10m, 1h, 1d, 1w)`,
        );
      }
      body.for = seconds;
    }
    if (permanent) body.permanent = true;
    const jail = stringOption(values, 'jail');
    if (jail !== undefined) body.jail = jail;
    const reason = stringOption(values, 'reason');
    if (reason !== undefined) body.reason = reason;

    const ban = await (await client()).ban(body);
    if (flagOption(values, 'json')) {
      io.stdout(toJson(ban));
    } else {
      const until =
        ban.end === null ? 'permanently' : `until ${formatEnd(ban.end, io.clock.now())}`;
      io.stdout(`banned ${ban.target} in jail ${ban.jail} ${until}\n`);
    }
    return ExitCode.OK;
  },
};
