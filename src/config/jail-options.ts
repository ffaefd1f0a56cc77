// Validation of jails.d/*.json files (fail2ban's option names): each jail's filter, programs and patterns, into frozen JailConfig.
import { ErrorCode, FleetbanError, isFleetbanError } from '../core/errors.js';
import { JAIL_NAME } from '../core/types.js';
import { CompiledFilter } from '../jails/filter.js';
import {
  builtinFilters,
  FilterSource,
  resolveFilter,
  type FilterRegistry,
  type SessionDefinition,
} from '../jails/filters/index.js';
import type { JailConfig, JailDefaults } from '../jails/jail-config.js';
import { FAIL2BAN_PREFIX, loadFail2banJailFilter } from '../fail2ban/runtime.js';
import { applyPolicy, freezeDefaults, SHIPPED_DEFAULTS } from './jail-defaults.js';
import { failer, isObject, list, show, strings, where, type Fail } from './jail-values.js';

/** Where `fail2ban:NAME` filters are read from unless the config says otherwise (jails.fail2banDir). */
export const DEFAULT_FAIL2BAN_DIR = '/etc/fail2ban';

/** Options a jail may set that defaults may not. */
const JAIL_ONLY = new Set(['filter', 'mode', 'failregex', 'ignoreregex', 'programs']);

/** A jail's `programs` (names or `*` patterns), or `fallback` when the jail does not set it. */
function programsOf(
  raw: Record<string, unknown>,
  fail: (key: string) => Fail,
  fallback: readonly string[],
): readonly string[] {
  if (raw['programs'] === undefined) return fallback;
  return list(
    raw['programs'],
    fail('programs'),
    'program names (an array or a space-separated string)',
  ).map((p) =>
    typeof p === 'string' && /^[^\s\[\]:]{1,64}$/.test(p)
      ? p
      : fail('programs')('program names or * patterns without spaces, brackets or colons'),
  );
}

/**
 * Validates one jails.d file: an object mapping jail names to options. Each jail starts from
 * `defaults`, then its filter's patterns and programs, then its own options (inline
 * failregex/ignoreregex add to the filter's). The filter is compiled here so that a bad
 * pattern is refused at load time. Throws JAIL_INVALID naming the file, the jail and the key.
 */
export function parseJailFile(
  file: string,
  json: unknown,
  defaults: JailDefaults = SHIPPED_DEFAULTS,
  registry: FilterRegistry = builtinFilters,
  fail2banDir: string = DEFAULT_FAIL2BAN_DIR,
): JailConfig[] {
  if (!isObject(json)) {
    throw new FleetbanError(
      ErrorCode.JAIL_INVALID,
      `${file}: must be an object mapping jail names to options, got ${show(json)}`,
    );
  }
  const jails: JailConfig[] = [];
  for (const [name, raw] of Object.entries(json)) {
    if (!JAIL_NAME.test(name)) {
      throw new FleetbanError(
        ErrorCode.JAIL_INVALID,
        `${file}: jail name ${show(name)} must be 1-64 letters, digits, '_', '.' or '-'`,
      );
    }
    const place = where(file, name);
    if (!isObject(raw)) {
      throw new FleetbanError(
        ErrorCode.JAIL_INVALID,
        `${place}: must be an object of options, got ${show(raw)}`,
      );
    }
    const filter = raw['filter'];
    jails.push(
      typeof filter === 'string' && filter.startsWith(FAIL2BAN_PREFIX)
        ? parseFail2banJail(file, name, raw, defaults, fail2banDir)
        : parseJail(file, name, raw, defaults, registry),
    );
  }
  return jails;
}

function parseJail(
  file: string,
  name: string,
  raw: Record<string, unknown>,
  defaults: JailDefaults,
  registry: FilterRegistry,
): JailConfig {
  const place = where(file, name);
  const policy = applyPolicy(defaults, raw, place, JAIL_ONLY);
  const fail = (key: string): Fail => failer(place, key, raw[key]);

  // fail2ban's `filter = name[mode=x]`, or `filter` + `mode`; no filter = the one named like the jail.
  let filterName = '';
  let mode: string | undefined;
  if (raw['filter'] !== undefined) {
    const m =
      typeof raw['filter'] === 'string'
        ? /^([\w.-]+)(?:\[mode=([\w-]+)\])?$/.exec(raw['filter'].trim())
        : null;
    if (m === null)
      return fail('filter')(
        `a built-in filter name such as "sshd" or "sshd[mode=aggressive]" (known: ${Object.keys(registry).join(', ')})`,
      );
    filterName = m[1] ?? '';
    mode = m[2];
  } else if (Object.hasOwn(registry, name)) {
    filterName = name;
  }
  if (raw['mode'] !== undefined) {
    if (typeof raw['mode'] !== 'string' || mode !== undefined)
      return fail('mode')('a mode name, given once (not also in "filter")');
    mode = raw['mode'];
  }
  const inlineFail =
    raw['failregex'] === undefined
      ? []
      : strings(raw['failregex'], fail('failregex'), 'a regex string or an array of them');
  const inlineIgnore =
    raw['ignoreregex'] === undefined
      ? []
      : strings(raw['ignoreregex'], fail('ignoreregex'), 'a regex string or an array of them');

  let base: {
    source: FilterSource;
    programs: readonly string[];
    failregex: readonly string[];
    ignoreregex: readonly string[];
    mode: string;
    sessions?: SessionDefinition;
  } = {
    source: FilterSource.SYSLOG,
    programs: [],
    failregex: [],
    ignoreregex: [],
    mode: '',
  };
  if (filterName !== '') {
    try {
      base = resolveFilter(filterName, mode, registry);
    } catch (e) {
      const key = raw['filter'] === undefined && raw['mode'] !== undefined ? 'mode' : 'filter';
      throw new FleetbanError(
        ErrorCode.JAIL_INVALID,
        `${place}: "${key}": ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
  } else if (mode !== undefined) {
    return fail('mode')('used with a built-in filter only');
  } else if (inlineFail.length === 0) {
    throw new FleetbanError(
      ErrorCode.JAIL_INVALID,
      `${place}: needs "filter" (built-in filters: ${Object.keys(registry).join(', ')}) or an inline "failregex"`,
    );
  }
  if (base.source === FilterSource.BANS && raw['programs'] !== undefined) {
    return fail('programs')(
      `absent: filter "${filterName}" counts fleetban's own bans, which no syslog program sends`,
    );
  }
  const programs = programsOf(raw, fail, base.programs);
  const failregex = [...base.failregex, ...inlineFail];
  const ignoreregex = [...base.ignoreregex, ...inlineIgnore];
  const sessions = base.sessions;
  try {
    new CompiledFilter({
      name: filterName === '' ? name : filterName,
      failregex,
      ignoreregex,
      ...(sessions === undefined ? {} : { sessions }),
    });
  } catch (e) {
    if (!isFleetbanError(e)) throw e;
    const key =
      inlineIgnore.length > 0 && e.message.includes('ignoreregex') ? 'ignoreregex' : 'failregex';
    throw new FleetbanError(ErrorCode.JAIL_INVALID, `${place}: "${key}": ${e.message}`, {
      cause: e,
    });
  }
  const frozen = freezeDefaults(policy);
  return Object.freeze({
    ...frozen,
    name,
    file,
    filter: filterName,
    mode: base.mode,
    failregex: Object.freeze(failregex),
    ignoreregex: Object.freeze(ignoreregex),
    programs: Object.freeze([...programs]),
    ...(base.source === FilterSource.BANS ? { source: base.source } : {}),
    ...(sessions === undefined ? {} : { sessions }),
  });
}

/**
 * A jail whose filter is `fail2ban:NAME[options]`: the filter is read from the fail2ban folder
 * and compiled now, so a missing filter or an untranslatable pattern is refused at load time.
 * Inline failregex/ignoreregex and `mode` are not mixed with it (write `fail2ban:NAME[mode=…]`).
 */
function parseFail2banJail(
  file: string,
  name: string,
  raw: Record<string, unknown>,
  defaults: JailDefaults,
  fail2banDir: string,
): JailConfig {
  const place = where(file, name);
  const policy = applyPolicy(defaults, raw, place, JAIL_ONLY);
  for (const key of ['mode', 'failregex', 'ignoreregex']) {
    if (raw[key] !== undefined) {
      failer(
        place,
        key,
        raw[key],
      )(`absent with a fail2ban filter (write "fail2ban:NAME[mode=...]" for a mode)`);
    }
  }
  const reference = String(raw['filter']);
  let loaded: ReturnType<typeof loadFail2banJailFilter>;
  try {
    loaded = loadFail2banJailFilter(fail2banDir, reference);
  } catch (e) {
    throw new FleetbanError(
      ErrorCode.JAIL_INVALID,
      `${place}: "filter": ${e instanceof Error ? e.message : String(e)}`,
      {
        cause: e,
      },
    );
  }
  const fail = (key: string): Fail => failer(place, key, raw[key]);
  const programs = programsOf(raw, fail, []);
  return Object.freeze({
    ...freezeDefaults(policy),
    name,
    file,
    filter: reference,
    mode: loaded.spec.options['mode'] ?? '',
    failregex: Object.freeze([...loaded.spec.failregex]),
    ignoreregex: Object.freeze([...loaded.spec.ignoreregex]),
    programs: Object.freeze(programs),
    createFilter: loaded.create,
  });
}
