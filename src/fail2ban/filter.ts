// Loads a fail2ban filter (filter.d/NAME with options such as mode=aggressive) the way fail2ban's FilterReader does.
import { basename, dirname, extname } from 'node:path';
import { ErrorCode, FleetbanError, describeError } from '../core/errors.js';
import { Fail2banConfig, splitNameOptions, substituteTags } from './config-reader.js';

/** A filter's definitions after interpolation and <tag> substitution: still Python regex text. */
export interface Fail2banFilterSpec {
  readonly name: string;
  /** The options it was loaded with (jail's `filter = name[k=v]`), e.g. mode. */
  readonly options: Readonly<Record<string, string>>;
  readonly failregex: readonly string[];
  readonly ignoreregex: readonly string[];
  readonly prefregex: string | undefined;
  readonly datepattern: string | undefined;
  readonly maxlines: number;
  /** The filter's own `usedns`, if it sets one. */
  readonly usedns: string | undefined;
  /** Things of the filter that fleetban does not use, for the admin to read. */
  readonly notices: readonly string[];
}

/** The [Definition] options fail2ban's FilterReader reads. */
const FILTER_OPTIONS = [
  'usedns',
  'prefregex',
  'ignoreregex',
  'failregex',
  'maxlines',
  'datepattern',
  'journalmatch',
];

/**
 * Reads `dir/filter.d/NAME.conf` (+ .local, .d/, includes) with `options` as the jail passes
 * them (they override [Init] and the filter's own defaults such as `mode`). Throws
 * FILTER_UNKNOWN when the filter does not exist and FILTER_INVALID when it cannot be resolved.
 */
export function loadFail2banFilter(
  dir: string,
  name: string,
  options: Readonly<Record<string, string>> = {},
): Fail2banFilterSpec {
  if (!/^[\w.-]+$/.test(name)) {
    throw new FleetbanError(
      ErrorCode.FILTER_UNKNOWN,
      `fail2ban filter name ${JSON.stringify(name)} is not a file name`,
    );
  }
  let config: Fail2banConfig;
  try {
    config = Fail2banConfig.read(dir, `filter.d/${name}`);
  } catch (e) {
    throw new FleetbanError(
      ErrorCode.FILTER_UNKNOWN,
      `fail2ban filter "${name}": ${describeError(e)}`,
      { cause: e },
    );
  }
  try {
    return resolveDefinition(config, name, options);
  } catch (e) {
    throw new FleetbanError(
      ErrorCode.FILTER_INVALID,
      `fail2ban filter "${name}" (${config.files.join(', ')}): ${describeError(e)}`,
      {
        cause: e,
      },
    );
  }
}

/**
 * Reads a filter from its path, as `fail2ban-regex LOG /etc/fail2ban/filter.d/sshd.conf` does:
 * `DIR/NAME.conf` with its `.local`, `.d/` and includes beside it. The extension may be left
 * out. Throws FILTER_UNKNOWN when no such file exists, FILTER_INVALID when it cannot be resolved.
 */
export function loadFail2banFilterFile(
  path: string,
  options: Readonly<Record<string, string>> = {},
): Fail2banFilterSpec {
  const ext = extname(path);
  const name = ext === '.conf' || ext === '.local' ? basename(path, ext) : basename(path);
  let config: Fail2banConfig;
  try {
    config = Fail2banConfig.read(dirname(path), name);
  } catch (e) {
    throw new FleetbanError(
      ErrorCode.FILTER_UNKNOWN,
      `fail2ban filter file ${path}: ${describeError(e)}`,
      {
        cause: e,
      },
    );
  }
  try {
    return resolveDefinition(config, name, options);
  } catch (e) {
    throw new FleetbanError(
      ErrorCode.FILTER_INVALID,
      `fail2ban filter file ${path} (${config.files.join(', ')}): ${describeError(e)}`,
      { cause: e },
    );
  }
}

function resolveDefinition(
  config: Fail2banConfig,
  name: string,
  options: Readonly<Record<string, string>>,
): Fail2banFilterSpec {
  const init = new Map<string, string>(
    Object.entries(options).map(([k, v]) => [k.toLowerCase(), v]),
  );
  const pOpts = new Map(init);
  const opts = new Map<string, string>();
  for (const opt of FILTER_OPTIONS) {
    if (pOpts.has(opt)) continue;
    const v = config.get('Definition', opt, pOpts);
    if (v !== undefined) opts.set(opt, v);
  }
  if (config.hasSection('Init')) {
    for (const opt of config.options('Init')) {
      const v = config.get('Init', opt) ?? '';
      if (!opt.startsWith('known/')) init.set(`known/${opt}`, v);
      if (!init.has(opt)) init.set(opt, v);
    }
  }
  const combined = new Map([...opts, ...init]);
  const ignore = new Set<string>();
  for (const k of combined.keys()) {
    const cond = /^(\w+)(\?.+)$/.exec(k);
    if (cond !== null) ignore.add(cond[1] ?? '');
  }
  const cache = new Map<string, string | undefined>();
  const extra = (tag: string): string | undefined => {
    if (!cache.has(tag)) {
      let v: string | undefined;
      try {
        v = config.get('Definition', tag, pOpts);
      } catch {
        v = undefined;
      }
      cache.set(tag, v);
    }
    return cache.get(tag);
  };
  const tags = substituteTags(combined, extra, ignore);
  const lines = (key: string): string[] =>
    (tags.get(key) ?? '').split('\n').filter((l) => l !== '');
  const notices: string[] = [];
  const journal = tags.get('journalmatch');
  if (journal !== undefined && journal.trim() !== '') {
    notices.push(
      `journalmatch (${journal.trim()}) is ignored: fleetban reads syslog, not the journal`,
    );
  }
  const maxText = tags.get('maxlines');
  const maxlines = maxText === undefined || maxText.trim() === '' ? 1 : Number(maxText);
  if (!Number.isInteger(maxlines) || maxlines < 1)
    throw new Error(`maxlines must be a positive integer, got ${JSON.stringify(maxText)}`);
  const pref = tags.get('prefregex');
  return {
    name,
    options: Object.fromEntries([...Object.entries(options)]),
    failregex: lines('failregex'),
    ignoreregex: lines('ignoreregex'),
    prefregex: pref === undefined || pref.trim() === '' ? undefined : pref,
    datepattern: tags.get('datepattern'),
    maxlines,
    usedns: tags.get('usedns'),
    notices,
  };
}

/** A filter reference as jails write it: `sshd`, `sshd[mode=aggressive]`. Null when malformed. */
export function parseFilterReference(
  text: string,
): { name: string; options: Record<string, string> } | null {
  const split = splitNameOptions(text);
  if (split === null) return null;
  return { name: split.name, options: Object.fromEntries(split.options) };
}
