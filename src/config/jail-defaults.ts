// Jail defaults: fleetban's shipped values and `jails.defaults`, the options a jail inherits before its own.
import { parseBantime, parseDuration } from '../core/duration.js';
import { ErrorCode, FleetbanError } from '../core/errors.js';
import { parseCidr } from '../core/ip.js';
import type { BantimeIncrement, JailDefaults } from '../jails/jail-config.js';
import {
  banmask,
  bool,
  failer,
  hosts,
  isObject,
  list,
  notify,
  positiveInt,
  positiveNumber,
  show,
  type Fail,
} from './jail-values.js';

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

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
/** Jail options being applied, before they are frozen. */
export type Draft = Omit<Mutable<JailDefaults>, 'increment'> & {
  increment: Mutable<BantimeIncrement>;
};

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

/**
 * Applies the options of `raw` that defaults and jails share over `base`; keys in `extraKeys` are
 * left to the caller, any other key is refused.
 */
export function applyPolicy(
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

export function freezeDefaults(d: Draft): JailDefaults {
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

/** DEFAULT_JAIL_OPTIONS, validated. */
export const SHIPPED_DEFAULTS: JailDefaults = (() => {
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
  if (json === undefined || json === null) return SHIPPED_DEFAULTS;
  if (!isObject(json)) {
    throw new FleetbanError(
      ErrorCode.JAIL_INVALID,
      `${source}: must be an object of jail options, got ${show(json)}`,
    );
  }
  return freezeDefaults(applyPolicy(SHIPPED_DEFAULTS, json, source, new Set()));
}
