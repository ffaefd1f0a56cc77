// A jail's resolved options (fail2ban's names) as the jails stage uses them; config/jail-options.ts makes them from files.
import type { Seconds } from '../core/duration.js';
import type { Cidr } from '../core/ip.js';
import type { FilterSource, SessionDefinition } from './filters/definition.js';
import type { JailFilter } from './filter.js';

export interface BantimeIncrement {
  /** `bantime.increment`: grow the ban time for repeat offenders. */
  readonly enabled: boolean;
  readonly factor: number;
  /** Empty = fail2ban's default formula (doubling). */
  readonly multipliers: readonly number[];
  /** Cap in seconds; null = no cap. */
  readonly maxtime: Seconds | null;
  readonly rndtime: Seconds;
  readonly overalljails: boolean;
}

export interface Banmask {
  readonly v4: number;
  readonly v6: number;
}

/** Which senders feed a jail: reporting hostnames (`*.example.org` allowed) or sender CIDRs. Both empty = all. */
export interface HostSelector {
  readonly names: readonly string[];
  readonly cidrs: readonly Cidr[];
}

/** 'default' = the mail section's recipients; 'off' = no mail for this jail. */
export type Notify = 'default' | 'off' | readonly string[];

/** The options a defaults object (the main config's `jails.defaults`) may set, resolved. */
export interface JailDefaults {
  readonly enabled: boolean;
  readonly maxretry: number;
  readonly findtime: Seconds;
  /** null = permanent. */
  readonly bantime: Seconds | null;
  readonly increment: BantimeIncrement;
  readonly ignoreip: readonly Cidr[];
  readonly banmask: Banmask;
  readonly hosts: HostSelector;
  readonly notify: Notify;
}

export interface JailConfig extends JailDefaults {
  readonly name: string;
  /** The file the jail came from, for messages. */
  readonly file: string;
  /** Built-in filter name; '' when the jail has only inline regexes. */
  readonly filter: string;
  /** The filter's mode ('' when it has none). */
  readonly mode: string;
  /** The filter's patterns followed by the jail's inline ones. */
  readonly failregex: readonly string[];
  readonly ignoreregex: readonly string[];
  /** Programs whose lines reach this jail; [] = all. */
  readonly programs: readonly string[];
  /**
   * 'bans' (the recidive filter): the jail counts fleetban's own ban decisions, handed over by
   * the server, and no syslog line reaches it. Absent = syslog.
   */
  readonly source?: FilterSource;
  /** The built-in filter's pairing across lines (OpenSMTPD); absent = none. */
  readonly sessions?: SessionDefinition;
  /** Builds the jail's own filter when it is not a CompiledFilter of `failregex` (fail2ban filters). */
  readonly createFilter?: () => JailFilter;
}
