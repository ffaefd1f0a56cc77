// Validation of jail options as admins write them in jails.d/*.json (fail2ban's option names), into frozen JailConfig.
import { parseBantime, parseDuration } from '../core/duration.js';
import { ErrorCode, FleetbanError, isFleetbanError } from '../core/errors.js';
import { parseCidr, type Cidr } from '../core/ip.js';
import { CompiledFilter } from '../jails/filter.js';
import {
  builtinFilters,
  FilterSource,
  resolveFilter,
  type FilterRegistry,
} from '../jails/filters/index.js';
import type {
  Banmask,
  BantimeIncrement,
  HostSelector,
  JailConfig,
  JailDefaults,
  Notify,
} from '../jails/jail-config.js';
import { FAIL2BAN_PREFIX, loadFail2banJailFilter } from '../fail2ban/runtime.js';

/** Where `fail2ban:NAME` filters are read from unless the config says otherwise (jails.fail2banDir). */
export const DEFAULT_FAIL2BAN_DIR = '/etc/fail2ban';

/** fleetban's shipped defaults, in the syntax admins write (fail2ban's [DEFAULT] values). */
export const DEFAULT_JAIL_OPTIONS = Object.freeze({
  enabled: true,
  maxretry: 5,
  findtime: '10m',
  bantime: '10m',
  'bantime.increment': false,
  'bantime.factor': 1,
  'bantime.multipliers': [] as readonly number[],
  // fail2ban has no cap (its formula stops doubling at 2^20, i.e. 20 years for 10m): a week is
  // long enough for any repeat offender and keeps a typo'd factor from banning for decades.
  'bantime.maxtime': '1w',
  'bantime.rndtime': 0,
  'bantime.overalljails': false,
  ignoreip: [] as readonly string[],
  banmask: Object.freeze({ v4: 32, v6: 64 }),
  hosts: [] as readonly string[],
  notify: 'default',
});

type Fail = (allowed: string) => never;
type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Draft = Omit<Mutable<JailDefaults>, 'increment'> & { increment: Mutable<BantimeIncrement> };

/** Options allowed both in defaults and in a jail; each applies one raw value to the draft. */
const POLICY: Readonly<Record<string, (d: Draft, v: unknown, fail: Fail) => void>> = {
  enabled: (d, v, fail) => (d.enabled = bool(v, fail)),
  maxretry: (d, v, fail) => (d.maxretry = positiveInt(v, fail)),
  findtime: (d, v, fail) => {
    const s = parseDuration(v);
    d.findtime =
      s !== undefined && s > 0 ? s : fail('a positive duration (600, "10m", "1h", "1d")');
  },
  bantime: (d, v, fail) => {
    const s = parseBantime(v);
    d.bantime =
      s === null || (s !== undefined && s > 0)
        ? s
        : fail('a positive duration (600, "10m", "1h", "1d"), -1 or "permanent"');
  },
  'bantime.increment': (d, v, fail) => (d.increment.enabled = bool(v, fail)),
  'bantime.factor': (d, v, fail) => (d.increment.factor = positiveNumber(v, fail)),
  'bantime.multipliers': (d, v, fail) => {
    const allowed = 'an array of positive numbers or a space-separated string such as "1 2 4 8 16"';
    d.increment.multipliers = list(v, fail, allowed).map((m) =>
      positiveNumber(m, () => fail(allowed)),
    );
  },
  'bantime.maxtime': (d, v, fail) => {
    const s = parseDuration(v);
    d.increment.maxtime =
      s !== undefined && s > 0 ? s : fail('a positive duration (600, "10m", "1h", "1w")');
  },
  'bantime.rndtime': (d, v, fail) => {
    const s = parseDuration(v);
    d.increment.rndtime = s ?? fail('a duration (0, 600, "10m")');
  },
  'bantime.overalljails': (d, v, fail) => (d.increment.overalljails = bool(v, fail)),
  ignoreip: (d, v, fail) => {
    const allowed =
      'IP addresses or CIDR prefixes (an array or a space-separated string; names are not resolved)';
    d.ignoreip = list(v, fail, allowed).map(
      (t) => (typeof t === 'string' ? parseCidr(t) : null) ?? fail(allowed),
    );
  },
  banmask: (d, v, fail) => (d.banmask = banmask(v, d.banmask, fail)),
  hosts: (d, v, fail) => (d.hosts = hosts(v, fail)),
  notify: (d, v, fail) => (d.notify = notify(v, fail)),
};

const JAIL_ONLY = new Set(['filter', 'mode', 'failregex', 'ignoreregex', 'programs']);

function where(file: string, jail?: string): string {
  return jail === undefined ? file : `${file}: jail "${jail}"`;
}

function failer(place: string, key: string, value: unknown): Fail {
  return (allowed) => {
    throw new FleetbanError(
      ErrorCode.JAIL_INVALID,
      `${place}: "${key}" must be ${allowed}, got ${show(value)}`,
    );
  };
}

function show(v: unknown): string {
  // JSON.stringify returns undefined for undefined and functions, whatever its declared type says.
  const text = JSON.stringify(v) as string | undefined;
  return text === undefined ? String(v) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bool(v: unknown, fail: Fail): boolean {
  if (v === true || v === 'true' || v === 'yes') return true;
  if (v === false || v === 'false' || v === 'no') return false;
  return fail('true or false');
}

function positiveInt(v: unknown, fail: Fail): number {
  const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : fail('a positive integer');
}

function positiveNumber(v: unknown, fail: Fail): number {
  const n = typeof v === 'string' && /^\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : fail('a positive number');
}

/** An array, or a string split on spaces and commas (fail2ban's list syntax). */
function list(v: unknown, fail: Fail, allowed: string): unknown[] {
  if (typeof v === 'string') return v.split(/[\s,]+/).filter((s) => s !== '');
  return Array.isArray(v) ? v : fail(allowed);
}

function strings(v: unknown, fail: Fail, allowed: string): string[] {
  const items = typeof v === 'string' ? [v] : Array.isArray(v) ? v : fail(allowed);
  return items.map((s) => (typeof s === 'string' && s !== '' ? s : fail(allowed)));
}

function banmask(v: unknown, current: Banmask, fail: Fail): Banmask {
  const allowed = 'an object such as { "v4": 32, "v6": 64 } (v4 0-32, v6 0-128)';
  if (!isObject(v)) return fail(allowed);
  const out = { ...current };
  for (const [k, bits] of Object.entries(v)) {
    const max = k === 'v4' ? 32 : k === 'v6' ? 128 : fail(allowed);
    out[k as 'v4' | 'v6'] =
      typeof bits === 'number' && Number.isInteger(bits) && bits >= 0 && bits <= max
        ? bits
        : fail(allowed);
  }
  return out;
}

const HOSTNAME =
  /^(?:\*\.)?[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*$/;

function hosts(v: unknown, fail: Fail): HostSelector {
  const allowed =
    'reporting hostnames (`*.example.org` allowed) or sender CIDRs, as an array or a space-separated string';
  const names: string[] = [];
  const cidrs: Cidr[] = [];
  for (const item of list(v, fail, allowed)) {
    if (typeof item !== 'string') return fail(allowed);
    const cidr = parseCidr(item);
    if (cidr !== null) cidrs.push(cidr);
    else if (HOSTNAME.test(item.toLowerCase())) names.push(item.toLowerCase());
    else return fail(allowed);
  }
  return { names, cidrs };
}

function notify(v: unknown, fail: Fail): Notify {
  const allowed = '"off", "default" or an array of mail addresses';
  if (v === 'off' || v === 'default') return v;
  if (!Array.isArray(v) || v.length === 0) return fail(allowed);
  return v.map((r) => (typeof r === 'string' && /^[^\s@]+@[^\s@]+$/.test(r) ? r : fail(allowed)));
}

function applyPolicy(
  base: JailDefaults,
  raw: Record<string, unknown>,
  place: string,
  extraKeys: ReadonlySet<string>,
): Draft {
  const draft: Draft = { ...base, increment: { ...base.increment } };
  for (const [key, value] of Object.entries(raw)) {
    const apply = Object.hasOwn(POLICY, key) ? POLICY[key] : undefined;
    if (apply !== undefined) apply(draft, value, failer(place, key, value));
    else if (!extraKeys.has(key)) {
      const known = [...Object.keys(POLICY), ...extraKeys].join(', ');
      throw new FleetbanError(
        ErrorCode.JAIL_INVALID,
        `${place}: unknown option "${key}" (allowed: ${known})`,
      );
    }
  }
  return draft;
}

function freezeDefaults(d: Draft): JailDefaults {
  return Object.freeze({
    ...d,
    increment: Object.freeze({
      ...d.increment,
      multipliers: Object.freeze([...d.increment.multipliers]),
    }),
    ignoreip: Object.freeze([...d.ignoreip]),
    banmask: Object.freeze({ ...d.banmask }),
    hosts: Object.freeze({
      names: Object.freeze([...d.hosts.names]),
      cidrs: Object.freeze([...d.hosts.cidrs]),
    }),
    notify: typeof d.notify === 'string' ? d.notify : Object.freeze([...d.notify]),
  });
}

const SHIPPED: JailDefaults = (() => {
  const empty: JailDefaults = {
    enabled: true,
    maxretry: 1,
    findtime: 1,
    bantime: 1,
    increment: {
      enabled: false,
      factor: 1,
      multipliers: [],
      maxtime: null,
      rndtime: 0,
      overalljails: false,
    },
    ignoreip: [],
    banmask: { v4: 32, v6: 128 },
    hosts: { names: [], cidrs: [] },
    notify: 'default',
  };
  return freezeDefaults(
    applyPolicy(empty, { ...DEFAULT_JAIL_OPTIONS }, 'DEFAULT_JAIL_OPTIONS', new Set()),
  );
})();

/**
 * Validates the main config's `jails.defaults` (undefined = none) over the shipped defaults.
 * Throws JAIL_INVALID naming `source`, the key and what is allowed.
 */
export function parseJailDefaults(json: unknown, source = 'jails.defaults'): JailDefaults {
  if (json === undefined || json === null) return SHIPPED;
  if (!isObject(json)) {
    throw new FleetbanError(
      ErrorCode.JAIL_INVALID,
      `${source}: must be an object of jail options, got ${show(json)}`,
    );
  }
  return freezeDefaults(applyPolicy(SHIPPED, json, source, new Set()));
}

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

const JAIL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * Validates one jails.d file: an object mapping jail names to options. Each jail starts from
 * `defaults`, then its filter's patterns and programs, then its own options (inline
 * failregex/ignoreregex add to the filter's). The filter is compiled here so that a bad
 * pattern is refused at load time. Throws JAIL_INVALID naming the file, the jail and the key.
 */
export function parseJailFile(
  file: string,
  json: unknown,
  defaults: JailDefaults = SHIPPED,
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

  let base = {
    source: FilterSource.SYSLOG as FilterSource,
    programs: [] as readonly string[],
    failregex: [] as readonly string[],
    ignoreregex: [] as readonly string[],
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
  try {
    new CompiledFilter({ name: filterName === '' ? name : filterName, failregex, ignoreregex });
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
