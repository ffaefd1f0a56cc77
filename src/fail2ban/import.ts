// Turns a fail2ban jail configuration (jail.conf, jail.local, jail.d/) into fleetban jails, with a report of what carried over.
import { parseBantime, parseDuration } from '../core/duration.js';
import { describeError } from '../core/errors.js';
import { parseCidr } from '../core/ip.js';
import { builtinFilters, filterModes, type FilterRegistry } from '../jails/filters/index.js';
import { Fail2banConfig, splitNameOptions } from './config-reader.js';
import { FAIL2BAN_PREFIX, loadFail2banJailFilter } from './runtime.js';

/** What happened to one fail2ban option of one jail. */
export interface ImportNote {
  readonly jail: string;
  readonly key: string;
  readonly value: string;
  readonly outcome: 'carried' | 'dropped' | 'refused';
  readonly why: string;
}

export interface ImportResult {
  /** Jail name → fleetban jail options (the content of one jails.d file). */
  readonly jails: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Enabled jails that could not be imported, with the reason. */
  readonly skipped: readonly { readonly jail: string; readonly why: string }[];
  readonly notes: readonly ImportNote[];
  readonly files: readonly string[];
}

/** Options with no meaning on a central box, and why; reported per jail when the jail sets them. */
const NOT_CARRIED: Readonly<Record<string, string>> = {
  action: 'bans are enforced by fleetban agents through nftables sets, not per-jail actions',
  banaction: 'bans are enforced by fleetban agents through nftables sets, not per-jail actions',
  banaction_allports:
    'bans are enforced by fleetban agents through nftables sets, not per-jail actions',
  chain: 'the agent owns the nftables chains (inet fleetban)',
  port: "fleetban bans drop all traffic of the address, as fail2ban's allports",
  protocol: 'fleetban bans drop all traffic of the address',
  backend: 'fleetban reads syslog forwarded by the fleet, not local files or the journal',
  logpath: 'fleetban reads syslog forwarded by the fleet; route lines with "programs" instead',
  logencoding: 'syslog messages arrive as UTF-8',
  journalmatch: 'fleetban reads syslog, not the journal',
  usedns: 'fleetban never resolves names: it bans only addresses found in the log line',
  ignoreself: 'agents never ban their own addresses or the central server',
  ignorecommand: 'fleetban runs no external commands',
  ignorecache: 'fleetban runs no external commands',
  destemail: 'mail recipients are set in fleetban\'s mail section or per jail with "notify"',
  sender: "mail is configured in fleetban's mail section",
  mta: "mail is configured in fleetban's mail section",
  maxmatches: 'fleetban keeps a capped number of matched lines per ban itself',
  logtimezone: 'syslog messages carry their time; ingest applies the clock-skew guard',
  datepattern: 'syslog parsing takes the time from the message header',
  'bantime.formula':
    'fleetban does not evaluate formulas from configuration; use bantime.factor or bantime.multipliers',
};

const POLICY_KEYS = [
  'maxretry',
  'findtime',
  'bantime',
  'bantime.increment',
  'bantime.factor',
  'bantime.multipliers',
  'bantime.maxtime',
  'bantime.rndtime',
  'bantime.overalljails',
];
const HANDLED = new Set([...POLICY_KEYS, 'enabled', 'filter', 'ignoreip', 'mode', '__name__']);

function isTrue(v: string | undefined): boolean {
  return v !== undefined && /^(true|yes|on|1)$/i.test(v.trim());
}

/**
 * Reads `dir` (jail.conf, jail.d/*.conf, jail.local, jail.d/*.local with their includes) and
 * converts every enabled jail. Filters become a built-in of the same name and mode when fleetban
 * has one, else `fail2ban:NAME[options]` (checked to load from `dir`). Never throws for one bad
 * jail: it lands in `skipped` with its reason.
 */
export function importFail2ban(
  dir: string,
  registry: FilterRegistry = builtinFilters,
): ImportResult {
  const config = Fail2banConfig.read(dir, 'jail');
  const jails: Record<string, Record<string, unknown>> = {};
  const skipped: { jail: string; why: string }[] = [];
  const notes: ImportNote[] = [];
  for (const section of config.sections.keys()) {
    if (section === 'INCLUDES' || section.startsWith('KNOWN/') || /^\w+\?/.test(section)) continue;
    const vars = new Map([['__name__', section]]);
    const get = (key: string): string | undefined => config.get(section, key, vars);
    try {
      if (!isTrue(get('enabled'))) continue;
      const note = (
        key: string,
        value: string,
        outcome: ImportNote['outcome'],
        why: string,
      ): void => {
        notes.push({ jail: section, key, value, outcome, why });
      };
      const out: Record<string, unknown> = { enabled: true };
      const filterText = (get('filter') ?? section).trim();
      out['filter'] = convertFilter(dir, filterText, registry);
      note('filter', filterText, 'carried', `as ${String(out['filter'])}`);
      for (const key of POLICY_KEYS) {
        const raw = get(key);
        if (raw === undefined || raw.trim() === '') continue;
        const value = raw.trim();
        const converted = convertPolicy(key, value);
        if (converted === undefined)
          note(key, value, 'refused', 'not a value fleetban understands');
        else {
          out[key] = converted;
          note(key, value, 'carried', '');
        }
      }
      const ignoreip = get('ignoreip');
      if (ignoreip !== undefined && ignoreip.trim() !== '') {
        const kept: string[] = [];
        for (const item of ignoreip.split(/[\s,]+/).filter((s) => s !== '')) {
          if (parseCidr(item) !== null) kept.push(item);
          else
            note(
              'ignoreip',
              item,
              'dropped',
              'host names are not resolved; list addresses or prefixes',
            );
        }
        if (kept.length > 0) out['ignoreip'] = kept;
      }
      for (const key of config.options(section)) {
        if (HANDLED.has(key)) continue;
        const why =
          NOT_CARRIED[key] ?? (key.startsWith('action') ? NOT_CARRIED['action'] : undefined);
        note(key, config.raw(section, key) ?? '', 'dropped', why ?? 'not a fleetban jail option');
      }
      jails[section] = out;
    } catch (e) {
      skipped.push({ jail: section, why: describeError(e) });
    }
  }
  for (const key of config.defaults.keys()) {
    const why = NOT_CARRIED[key];
    if (why !== undefined)
      notes.push({
        jail: 'DEFAULT',
        key,
        value: config.defaults.get(key) ?? '',
        outcome: 'dropped',
        why,
      });
  }
  return { jails, skipped, notes, files: config.files };
}

function convertFilter(dir: string, text: string, registry: FilterRegistry): string {
  const split = splitNameOptions(text);
  if (split === null)
    throw new Error(`filter ${JSON.stringify(text)} is not NAME or NAME[option=value]`);
  const options = new Map(split.options);
  const mode = options.get('mode');
  const def = Object.hasOwn(registry, split.name) ? registry[split.name] : undefined;
  const onlyMode = [...options.keys()].every((k) => k === 'mode');
  if (def !== undefined && onlyMode) {
    const modes = filterModes(def);
    if (mode === undefined || modes.includes(mode))
      return mode === undefined || mode === '' ? split.name : `${split.name}[mode=${mode}]`;
    if (modes.length === 1 && modes[0] === '' && mode === 'normal') return split.name;
  }
  const body = [...options]
    .map(([k, v]) => `${k}=${/[\s,\]]/.test(v) ? JSON.stringify(v) : v}`)
    .join(',');
  const reference = `${FAIL2BAN_PREFIX}${split.name}${body === '' ? '' : `[${body}]`}`;
  loadFail2banJailFilter(dir, reference);
  return reference;
}

function convertPolicy(key: string, value: string): unknown {
  switch (key) {
    case 'maxretry':
      return /^\d+$/.test(value) && Number(value) > 0 ? Number(value) : undefined;
    case 'findtime':
    case 'bantime.maxtime':
    case 'bantime.rndtime':
      return parseDuration(value.replace(/\s+/g, '')) === undefined
        ? undefined
        : value.replace(/\s+/g, '');
    case 'bantime': {
      const v = value.replace(/\s+/g, '');
      const s = parseBantime(v);
      return s === undefined ? undefined : s === null ? 'permanent' : v;
    }
    case 'bantime.increment':
    case 'bantime.overalljails':
      return /^(true|yes|on|1)$/i.test(value)
        ? true
        : /^(false|no|off|0)$/i.test(value)
          ? false
          : undefined;
    case 'bantime.factor':
      return Number.isFinite(Number(value)) && Number(value) > 0 ? Number(value) : undefined;
    case 'bantime.multipliers': {
      const items = value.split(/\s+/).map(Number);
      return items.every((n) => Number.isFinite(n) && n > 0) ? items : undefined;
    }
    default:
      return undefined;
  }
}
