// `fleetban test-filter`: fleetban's fail2ban-regex; runs a filter over a log and reports what it matched, in fail2ban-regex's words.
import { createReadStream, statSync } from 'node:fs';
import { DEFAULT_FAIL2BAN_DIR } from '../../config/jail-options.js';
import { ErrorCode, FleetbanError, describeError } from '../../core/errors.js';
import {
  isFail2banTestFilter,
  resolveTestFilter,
  type ResolvedTestFilter,
} from '../../fail2ban/filter-argument.js';
import { ianaZone } from '../../fail2ban/strptime.js';
import { replayFail2banFilter } from '../../fail2ban/filter-replay.js';
import {
  linesOf,
  replayFilter,
  type Count,
  type LineSource,
  type RegexHits,
  type TestFilterSummary,
} from '../../jails/filter-replay.js';
import { flagOption, stringOption, toJson, usageError, type Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { formatTime } from '../format.js';

/** Most lines --print-* lists; the counts are always complete. */
const LIST_CAP = 1000;

export const testFilterCommand: Command = {
  name: 'test-filter',
  summary: 'run a filter over a log file or line, like fail2ban-regex',
  usage:
    'test-filter FILTER LOG|- [--mode M] [--print-matched] [--print-missed] [--print-ignored] [--json]',
  description:
    'FILTER: a built-in filter (sshd, sshd[mode=aggressive]); fail2ban:NAME[opts] read from\n' +
    '--fail2ban-dir (else jails.fail2banDir); a fail2ban filter file (/etc/fail2ban/filter.d/sshd.conf);\n' +
    'a fleetban filter file ({"failregex": [...], "ignoreregex": [...], "programs": [...]}); or one\n' +
    'failregex with <HOST>. Built-in, fleetban and regex filters see the syslog MESSAGE (lines of\n' +
    'other programs count as missed); fail2ban filters see the whole line, dates found as fail2ban\n' +
    "finds them, so the counts equal fail2ban-regex's.\n" +
    'LOG: a file, - for standard input, or one log line (not a file and containing a space).\n' +
    'A filter that does not load or a LOG that cannot be read exits 1.',
  options: {
    mode: { type: 'string', value: 'M', help: 'filter mode (e.g. aggressive)' },
    'fail2ban-dir': {
      type: 'string',
      value: 'DIR',
      help: 'fail2ban folder for fail2ban:NAME (default: jails.fail2banDir, /etc/fail2ban)',
    },
    config: { type: 'string', value: 'FILE', help: 'configuration to read jails.fail2banDir from' },
    timezone: {
      type: 'string',
      value: 'TZ',
      help: 'zone of stamps without an offset (default: the local zone)',
    },
    usedns: {
      type: 'string',
      value: 'yes|warn|no',
      help: 'fail2ban filters: whether <HOST> takes host names (default warn, as fail2ban-regex)',
    },
    'print-matched': { type: 'boolean', help: `list matched lines (up to ${LIST_CAP})` },
    'print-missed': { type: 'boolean', help: `list missed lines (up to ${LIST_CAP})` },
    'print-ignored': { type: 'boolean', help: `list ignored lines (up to ${LIST_CAP})` },
    json: { type: 'boolean', help: 'print the summary as JSON' },
  },
  positionals: { names: ['FILTER', 'LOG'], required: 2 },
  async run({ values, positionals, io }) {
    const [name = '', log = ''] = positionals;
    if (name === '') throw usageError('FILTER must not be empty');
    if (log === '') throw usageError('LOG must not be empty');
    const zoneName = stringOption(values, 'timezone') ?? 'local';
    if (!isZone(zoneName)) throw usageError(`unknown time zone "${zoneName}"`);
    // Only fail2ban:NAME needs the folder, and so the configuration loader: the common case
    // (a built-in filter) starts without it.
    const dir = name.startsWith('fail2ban:')
      ? await fail2banDir(stringOption(values, 'fail2ban-dir'), values, io)
      : DEFAULT_FAIL2BAN_DIR;
    const filter = resolveTestFilter(name, {
      mode: stringOption(values, 'mode'),
      fail2banDir: () => dir,
    });
    const input = await openLog(log);
    const caps = {
      listMatched: flagOption(values, 'print-matched') ? LIST_CAP : 0,
      listMissed: flagOption(values, 'print-missed') ? LIST_CAP : 0,
      listIgnored: flagOption(values, 'print-ignored') ? LIST_CAP : 0,
    };
    const summary = isFail2banTestFilter(filter)
      ? await replayFail2banFilter(filter.spec, input.source, {
          ...caps,
          zone: ianaZone(zoneName === 'local' ? localZoneName() : zoneName),
          useDns: stringOption(values, 'usedns') ?? 'warn',
          clock: io.clock,
          label: filter.label,
        })
      : await replayFilter(filter.filter, input.source, {
          ...caps,
          programs: filter.programs,
          timeZone: zoneName,
          clock: io.clock,
        });
    io.stdout(
      flagOption(values, 'json')
        ? toJson({ ...summary, kind: filter.kind, log: input.label })
        : render(summary, filter, input),
    );
    return ExitCode.OK;
  },
};

function isZone(name: string): boolean {
  if (name === 'local') return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

function localZoneName(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** --fail2ban-dir, else jails.fail2banDir of the configuration (when there is one), else /etc/fail2ban. */
async function fail2banDir(
  explicit: string | undefined,
  values: Readonly<Record<string, unknown>>,
  io: CliIo,
): Promise<string> {
  if (explicit !== undefined) return explicit;
  const file = typeof values['config'] === 'string' ? values['config'] : undefined;
  const { loadConfig, resolveConfigFile } = await import('../../config/load.js');
  if (resolveConfigFile({ file, env: io.env }) === null) return DEFAULT_FAIL2BAN_DIR;
  return loadConfig({ file, env: io.env }).jails.fail2banDir;
}

interface OpenedLog {
  readonly source: LineSource;
  /** fail2ban-regex's "Use ... log file : X" / "single line : X". */
  readonly label: string;
  readonly kind: 'file' | 'stdin' | 'line';
}

/** LOG as fail2ban-regex reads it: a file, `-` for stdin, else the text itself is the log. */
async function openLog(log: string): Promise<OpenedLog> {
  if (log === '-')
    return { source: linesOf(process.stdin), label: 'standard input', kind: 'stdin' };
  let isFile = false;
  try {
    isFile = statSync(log).isFile();
  } catch (e) {
    // Not a path: a text with a space is a log line, as fail2ban-regex takes one.
    if (log.includes(' ')) return { source: [log.split('\n')], label: log, kind: 'line' };
    throw cannotRead(log, e);
  }
  if (!isFile) throw cannotRead(log, new Error('not a regular file'));
  const stream = createReadStream(log);
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => {
      resolve();
    });
    stream.once('error', (e: Error) => {
      reject(cannotRead(log, e));
    });
  });
  return { source: linesOf(stream), label: log, kind: 'file' };
}

function cannotRead(log: string, e: unknown): FleetbanError {
  return new FleetbanError(
    ErrorCode.REQUEST_INVALID,
    `cannot read LOG ${log}: ${describeError(e)}`,
    {
      cause: e,
    },
  );
}

/** fail2ban-regex's pprint_list: `|- header`, `|  item` lines, closed by a backquote. */
function list(items: readonly string[], header?: string): string {
  if (items.length === 0) return '';
  return `${header === undefined ? '' : `|- ${header}\n`}|  ${items.join('\n|  ')}\n\`-\n`;
}

function regexBlock(title: string, hits: readonly RegexHits[]): string {
  const total = hits.reduce((n, h) => n + h.hits, 0);
  const rows = hits.flatMap((h, i) =>
    h.hits > 0 ? [`${String(i + 1).padStart(2)}) [${h.hits}] ${h.regex}`] : [],
  );
  return `\n${title}: ${total} total\n${list(rows, ' #) [# of hits] regular expression')}`;
}

function countBlock(title: string, counts: readonly Count[], top: number, what: string): string {
  if (counts.length === 0) return '';
  const shown = counts.slice(0, top).map((c) => `[${c.count}] ${c.value}`);
  return `\n${title}: ${counts.length} distinct${counts.length > top ? ` (top ${top})` : ''}\n${list(shown, `[# of hits] ${what}`)}`;
}

function use(label: string, value: string): string {
  return `Use ${label.padStart(16)} : ${value}\n`;
}

function header(f: ResolvedTestFilter, log: OpenedLog): string {
  let out = 'Running tests\n=============\n\n';
  switch (f.kind) {
    case 'fail2ban':
      out += `Use   failregex filter file : ${f.spec.name}, basedir: ${f.from}\n`;
      break;
    case 'fail2ban-file':
      out += `Use   failregex file : ${f.from}\n`;
      break;
    case 'regex':
      out += use('failregex line', f.label);
      break;
    default:
      out += use('filter', `${f.label} (${f.kind === 'builtin' ? 'built-in' : 'fleetban file'})`);
  }
  if (isFail2banTestFilter(f)) {
    if (Object.keys(f.spec.options).length > 0) {
      out += `Use   filter options : ${JSON.stringify(f.spec.options)}\n`;
    }
    out += use('maxlines', String(f.spec.maxlines));
    for (const n of f.spec.notices) out += use('notice', n);
  } else if (f.programs.length > 0) {
    out += use('programs', f.programs.join(', '));
  }
  out += use(log.kind === 'line' ? 'single line' : 'log file', log.label);
  return `${out}\n`;
}

function render(s: TestFilterSummary, f: ResolvedTestFilter, log: OpenedLog): string {
  let out = header(f, log);
  out += '\nResults\n=======\n';
  out += regexBlock('Failregex', s.regexHits);
  out += regexBlock('Ignoreregex', s.ignoreHits);
  out += countBlock('Hosts', s.hosts, 20, 'address');
  out += countBlock('Users', s.users, 10, 'user');
  if (s.firstTime !== null && s.lastTime !== null) {
    out += `\nTimes: ${formatTime(s.firstTime)} .. ${formatTime(s.lastTime)}\n`;
  }
  out +=
    `\nLines: ${s.lines} lines, ${s.ignored} ignored, ${s.matched} matched, ${s.missed} missed` +
    ` [processed in ${(s.elapsedMs / 1000).toFixed(2)} sec, ${Math.round(s.linesPerSecond)} lines/s]\n`;
  if (s.parseErrors > 0) out += `(${s.parseErrors} lines were not syslog and count as missed)\n`;
  if (s.otherPrograms > 0) {
    out += `(${s.otherPrograms} lines were of other programs than the filter's and count as missed)\n`;
  }
  const lines = (title: string, shown: readonly string[], total: number): string =>
    shown.length === 0
      ? ''
      : `\n${list(shown, `${title} line(s):`)}${total > shown.length ? `(${total - shown.length} more not shown)\n` : ''}`;
  out += lines('Matched', s.matchedLines, s.matched);
  out += lines('Ignored', s.ignoredLines, s.ignored);
  out += lines('Missed', s.missedLines, s.missed);
  return out;
}
