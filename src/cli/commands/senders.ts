// `fleetban senders`: which hosts forward syslog, how much, and what went wrong with it.
import { clientOptions, flagOption, toJson, type Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { formatBytes, formatRelative, formatTime, table } from '../format.js';

export const sendersCommand: Command = {
  name: 'senders',
  summary: 'per-sender ingest statistics',
  usage: 'senders [--json]',
  options: clientOptions,
  positionals: { names: [], required: 0 },
  async run({ values, io, client }) {
    const senders = await (await client()).senders();
    if (flagOption(values, 'json')) {
      io.stdout(toJson(senders));
      return ExitCode.OK;
    }
    if (senders.length === 0) {
      io.stdout('no senders yet\n');
      return ExitCode.OK;
    }
    const now = io.clock.now();
    io.stdout(
      table(
        [
          'SENDER',
          'VIA',
          'MESSAGES',
          'BYTES',
          'PARSE-ERR',
          'DROPPED',
          'BAD-UTF8',
          'OVERSIZED',
          'SPOOFED-HOST',
          'FIRST SEEN',
          'LAST SEEN',
          'SILENT',
        ],
        senders.map((s) => [
          s.address,
          s.transports.join(','),
          String(s.messages),
          formatBytes(s.bytes),
          String(s.parseErrors),
          String(s.dropped),
          String(s.invalidUtf8),
          String(s.oversized),
          String(s.spoofedHostname ?? 0),
          formatTime(s.firstSeen),
          formatRelative(s.lastSeen, now),
          s.silentSince === undefined || s.silentSince === null
            ? '-'
            : `flagged ${formatRelative(s.silentSince, now)}`,
        ]),
      ),
    );
    return ExitCode.OK;
  },
};
