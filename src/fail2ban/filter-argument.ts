// What `fleetban test-filter FILTER` names: a built-in filter, fail2ban:NAME, a fail2ban or fleetban filter file, or one regex.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { ErrorCode, FleetbanError, describeError } from '../core/errors.js';
import { compileFilter, type CompiledFilter } from '../jails/filter.js';
import { builtinFilters, resolveFilter } from '../jails/filters/index.js';
import {
  loadFail2banFilter,
  loadFail2banFilterFile,
  parseFilterReference,
  type Fail2banFilterSpec,
} from './filter.js';
import { FAIL2BAN_PREFIX, parseFail2banReference } from './runtime.js';

export const TestFilterKind = {
  BUILTIN: 'builtin',
  FLEETBAN_FILE: 'fleetban-file',
  REGEX: 'regex',
  FAIL2BAN: 'fail2ban',
  FAIL2BAN_FILE: 'fail2ban-file',
} as const;
export type TestFilterKind = (typeof TestFilterKind)[keyof typeof TestFilterKind];

/** A filter that runs on syslog messages (built-in, fleetban JSON file, single regex). */
export interface SyslogTestFilter {
  readonly kind: 'builtin' | 'fleetban-file' | 'regex';
  readonly label: string;
  readonly filter: CompiledFilter;
  /** Program routing ([] = every line). */
  readonly programs: readonly string[];
}

/** A fail2ban filter, run on whole lines. `from` = the folder (fail2ban:NAME) or the file. */
export interface Fail2banTestFilter {
  readonly kind: 'fail2ban' | 'fail2ban-file';
  readonly label: string;
  readonly spec: Fail2banFilterSpec;
  readonly from: string;
}

export type ResolvedTestFilter = SyslogTestFilter | Fail2banTestFilter;

export function isFail2banTestFilter(f: ResolvedTestFilter): f is Fail2banTestFilter {
  return f.kind === 'fail2ban' || f.kind === 'fail2ban-file';
}

export interface ResolveTestFilterOptions {
  /** `--mode`: the built-in filter's mode, or the fail2ban filter's `mode` option. */
  readonly mode?: string | undefined;
  /** Where `fail2ban:NAME` is read from; called only for such filters (it may load the config). */
  readonly fail2banDir: () => string;
}

/** fail2ban-regex's test for "this is a filter name or file, not a regex". */
const PATH_LIKE = /^[\w/.~+-]+(?:\[.*\])?$/s;

/**
 * Decides what FILTER is, in this order: `fail2ban:NAME[opts]`; a built-in name (`sshd`,
 * `sshd[mode=aggressive]`: a built-in name wins over a file of that name); an existing file or
 * a path (contains '/' or ends .conf/.local/.json): JSON = fleetban filter, else fail2ban filter;
 * anything else is one failregex. Throws FILTER_UNKNOWN / FILTER_INVALID naming the filter or
 * the pattern.
 */
export function resolveTestFilter(
  text: string,
  options: ResolveTestFilterOptions,
): ResolvedTestFilter {
  if (text.startsWith(FAIL2BAN_PREFIX)) return fromFail2banDir(text, options);
  const ref = PATH_LIKE.test(text) ? parseFilterReference(text) : null;
  if (ref !== null && Object.hasOwn(builtinFilters, ref.name)) return builtin(ref, options.mode);
  if (ref !== null && looksLikeFile(ref.name)) {
    const json = extname(ref.name) === '.json' || startsWithBrace(ref.name);
    if (json) return fleetbanFile(ref.name);
    const spec = loadFail2banFilterFile(ref.name, withMode(ref.options, options.mode));
    return { kind: 'fail2ban-file', label: text, spec, from: ref.name };
  }
  if (/^[\w.-]+$/.test(text)) {
    const known = Object.keys(builtinFilters).sort().join(', ');
    throw new FleetbanError(
      ErrorCode.FILTER_UNKNOWN,
      `"${text}" is no built-in filter (${known}), no fail2ban:NAME, no filter file and no regex with <HOST>`,
    );
  }
  return {
    kind: 'regex',
    label: text,
    filter: compileFilter({ name: 'regex', failregex: [text], ignoreregex: [] }),
    programs: [],
  };
}

function fromFail2banDir(text: string, options: ResolveTestFilterOptions): Fail2banTestFilter {
  const ref = parseFail2banReference(text);
  if (ref === null) {
    throw new FleetbanError(
      ErrorCode.FILTER_UNKNOWN,
      `"${text}" is not fail2ban:NAME or fail2ban:NAME[option=value,...]`,
    );
  }
  const dir = options.fail2banDir();
  const spec = loadFail2banFilter(dir, ref.name, withMode(ref.options, options.mode));
  return { kind: 'fail2ban', label: text, spec, from: dir };
}

function builtin(
  ref: { name: string; options: Record<string, string> },
  mode: string | undefined,
): SyslogTestFilter {
  const extra = Object.keys(ref.options).filter((k) => k !== 'mode');
  if (extra.length > 0) {
    throw new FleetbanError(
      ErrorCode.FILTER_UNKNOWN,
      `built-in filter "${ref.name}" takes only the mode option, got ${extra.join(', ')}`,
    );
  }
  const resolved = resolveFilter(ref.name, ref.options['mode'] ?? mode);
  return {
    kind: 'builtin',
    label: resolved.mode === '' ? resolved.name : `${resolved.name}[mode=${resolved.mode}]`,
    filter: compileFilter(resolved),
    programs: resolved.programs,
  };
}

/** A fleetban filter file: `{ "failregex": [...], "ignoreregex": [...], "programs": [...] }`. */
function fleetbanFile(path: string): SyslogTestFilter {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new FleetbanError(ErrorCode.FILTER_INVALID, `filter file ${path}: ${describeError(e)}`, {
      cause: e,
    });
  }
  const bad = (why: string): FleetbanError =>
    new FleetbanError(ErrorCode.FILTER_INVALID, `filter file ${path}: ${why}`);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw bad('must hold a JSON object with "failregex"');
  }
  const obj = data as Record<string, unknown>;
  const known = ['failregex', 'ignoreregex', 'programs'];
  const unknown = Object.keys(obj).filter((k) => !known.includes(k));
  if (unknown.length > 0)
    throw bad(`unknown key ${unknown.join(', ')} (allowed: ${known.join(', ')})`);
  const list = (key: string): string[] => {
    const v = obj[key] ?? [];
    const items = typeof v === 'string' ? [v] : v;
    if (!Array.isArray(items) || !items.every((x): x is string => typeof x === 'string')) {
      throw bad(`"${key}" must be a string or an array of strings`);
    }
    return items;
  };
  const name = basename(path, extname(path));
  const failregex = list('failregex');
  if (failregex.length === 0) throw bad('"failregex" must name at least one pattern');
  return {
    kind: 'fleetban-file',
    label: path,
    filter: compileFilter({ name, failregex, ignoreregex: list('ignoreregex') }),
    programs: list('programs'),
  };
}

function withMode(
  options: Readonly<Record<string, string>>,
  mode: string | undefined,
): Record<string, string> {
  return mode === undefined || 'mode' in options ? { ...options } : { ...options, mode };
}

function looksLikeFile(name: string): boolean {
  return name.includes('/') || /\.(?:conf|local|json)$/.test(name) || isFile(name);
}

function isFile(path: string): boolean {
  try {
    return existsSync(path) && statSync(path).isFile();
  } catch {
    return false;
  }
}

function startsWithBrace(path: string): boolean {
  if (!isFile(path)) return false;
  try {
    return readFileSync(path, 'utf8').trimStart().startsWith('{');
  } catch {
    return false;
  }
}
