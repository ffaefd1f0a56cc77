// `fleetban test-filter`: fleetban's fail2ban-regex; runs a filter over a log file and reports what it matched.
import { createReadStream } from 'node:fs';
import { ErrorCode, FleetbanError } from '../../core/errors.js';
import { compileFilter } from '../../jails/filter.js';
import { resolveFilter } from '../../jails/filters/index.js';
import { linesOf, testFilter, type TestFilterSummary } from '../../jails/test-filter.js';
import { flagOption, stringOption, toJson, usageError, type Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { formatTime, table } from '../format.js';

export const testFilterCommand: Command = {
  name: 'test-filter',
  summary: 'run a filter over a log file, like fail2ban-regex',
  usage: 'test-filter FILTER FILE|- [--mode M] [--print-matched] [--print-missed] [--json]',
  description:
    'FILTER is a built-in filter name; FILE a log in syslog file format (/var/log/auth.log), or - for\n' +
    'standard input. Lines of programs the filter is not routed to count as missed.',
  options: {
    mode: { type: 'string', value: 'M', help: 'filter mode (e.g. aggressive)' },
    'print-matched': { type: 'boolean', help: 'list matched lines (up to 1000)' },
    'print-missed': { type: 'boolean', help: 'list missed lines (up to 1000)' },
    json: { type: 'boolean', help: 'print the summary as JSON' },
  },
  positionals: { names: ['FILTER', 'FILE'], required: 2 },
  async run({ values, positionals, io }) {
    const [name = '', file = ''] = positionals;
    if (name === '') throw usageError('FILTER must not be empty');
    const resolved = resolveFilter(name, stringOption(values, 'mode'));
    const filter = compileFilter(resolved);
    const input = file === '-' ? process.stdin : createReadStream(file);
    const opened = new Promise<void>((resolve, reject) => {
      if (file === '-') resolve();
      input.once('open', () => {
        resolve();
      });
      input.once('error', (e: Error) => {
        reject(
          new FleetbanError(ErrorCode.REQUEST_INVALID, `cannot read ${file}: ${e.message}`, {
            cause: e,
          }),
        );
      });
    });
    await opened;
    const summary = await testFilter(filter, linesOf(input), {
      programs: resolved.programs,
      listMatched: flagOption(values, 'print-matched') ? 1000 : 0,
      listMissed: flagOption(values, 'print-missed') ? 1000 : 0,
    });
    io.stdout(flagOption(values, 'json') ? toJson(summary) : render(summary, file));
    return ExitCode.OK;
  },
};

function render(s: TestFilterSummary, file: string): string {
  const out: string[] = [];
  out.push(`Running tests\n=============\n\nUse   filter: ${s.filter}\nUse log file: ${file}\n`);
  out.push(`\nResults\n=======\n\nFailregex: ${s.matched} total\n`);
  out.push(
    table(
      ['#', 'hits', 'regex'],
      s.regexHits.map((r, i) => [String(i + 1), String(r.hits), r.regex]),
    ),
  );
  if (s.hosts.length > 0) {
    out.push(`\nHosts (top ${Math.min(s.hosts.length, 20)}):\n`);
    out.push(
      table(
        ['address', 'hits'],
        s.hosts.slice(0, 20).map((h) => [h.value, String(h.count)]),
      ),
    );
  }
  if (s.users.length > 0) {
    out.push(`\nUsers (top ${Math.min(s.users.length, 10)}):\n`);
    out.push(
      table(
        ['user', 'hits'],
        s.users.slice(0, 10).map((u) => [u.value, String(u.count)]),
      ),
    );
  }
  if (s.firstTime !== null && s.lastTime !== null) {
    out.push(`\nTimes: ${formatTime(s.firstTime)} .. ${formatTime(s.lastTime)}\n`);
  }
  out.push(
    `\nLines: ${s.lines} lines, ${s.ignored} ignored, ${s.matched} matched, ${s.missed} missed` +
      ` [processed in ${(s.elapsedMs / 1000).toFixed(2)} sec, ${Math.round(s.linesPerSecond)} lines/s]\n`,
  );
  if (s.parseErrors > 0) out.push(`(${s.parseErrors} lines were not syslog and count as missed)\n`);
  if (s.matchedLines.length > 0) out.push(`\nMatched lines:\n${s.matchedLines.join('\n')}\n`);
  if (s.missedLines.length > 0) out.push(`\nMissed lines:\n${s.missedLines.join('\n')}\n`);
  return out.join('');
}
