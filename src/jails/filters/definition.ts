// The shape of a built-in filter: regexes written against the syslog MESSAGE, plus routing by program.

/**
 * What a filter reads: syslog lines (the default), or fleetban's own ban decisions, which come
 * from the ban store and never from the network, so no sender can forge them.
 */
export const FilterSource = { SYSLOG: 'syslog', BANS: 'bans' } as const;
export type FilterSource = (typeof FilterSource)[keyof typeof FilterSource];

/**
 * Every pattern anchors `<HOST>` on text the client cannot write (docs/filters.md): the first
 * field when client text only follows the address, the last one (greedy field, end anchor) when
 * it only precedes it, and a delimiter the daemon guarantees when it lies on both sides. Each
 * filter's sample log holds at least one line whose client text carries another address.
 */
export interface FilterDefinition {
  readonly description: string;
  /** Absent = syslog. */
  readonly source?: FilterSource;
  /** Programs (syslog APP-NAME/TAG) whose lines the filter is meant for; [] = all. */
  readonly programs: readonly string[];
  /** Patterns used in every mode. */
  readonly failregex: readonly string[];
  readonly ignoreregex: readonly string[];
  /** Extra failregex per mode (fail2ban's `mode=`); absent = the filter has one mode. */
  readonly modes?: Readonly<Record<string, readonly string[]>>;
  /**
   * Extra ignoreregex per mode, for lines some modes count and others do not: an exclusion the
   * linear-time regex engine runs, where a negative lookahead in the failregex would need the
   * backtracking one.
   */
  readonly modeIgnoreregex?: Readonly<Record<string, readonly string[]>>;
  readonly defaultMode?: string;
  /** Pairing across lines; absent = every failure line names its client itself. */
  readonly sessions?: SessionDefinition;
}

/**
 * For daemons that name the client once, when a connection opens, and tag every later line of
 * it with a connection id only (OpenSMTPD). Such a filter's failregex may hold `<F-SESSION>` in
 * place of `<HOST>`: the address is the one the opening line of that session named. A session
 * pairs only lines of one sender, reporting host, program and pid, so no other host or process
 * can lend or borrow an id; the id itself is read on daemon-written text (the line start).
 */
export interface SessionDefinition {
  /** Lines that open a session: each holds `<F-SESSION>` and `<HOST>` or `<ADDR>`. */
  readonly open: readonly string[];
  /** Lines after which a session's id means nothing more: each holds `<F-SESSION>`. */
  readonly close: readonly string[];
}

/** A filter with its mode applied: what a jail compiles. */
export interface ResolvedFilter {
  readonly name: string;
  readonly mode: string;
  readonly source: FilterSource;
  readonly programs: readonly string[];
  readonly failregex: readonly string[];
  readonly ignoreregex: readonly string[];
  readonly sessions?: SessionDefinition;
}

export type FilterRegistry = Readonly<Record<string, FilterDefinition>>;
