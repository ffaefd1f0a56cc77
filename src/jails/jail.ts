// One running jail: its config, compiled filter, ignore and sender selectors, and counters that survive reloads.
import type { JailConfig } from './jail-config.js';
import { CidrSet, maskAddress, parseIp, type Cidr } from '../core/ip.js';
import type { SyslogEvent } from '../core/types.js';
import { CompiledFilter, type JailFilter } from './filter.js';
import { ProgramSet } from './programs.js';

/** Counters since the server started; a reload hands them to the jail's successor. */
export interface JailCounters {
  /** Lines routed to the jail (program and hosts matched). */
  linesSeen: number;
  /** Lines a failregex matched, ignored ones included. */
  matched: number;
  /** Matches dropped by an ignoreregex. */
  ignoredByRegex: number;
  /** Matches dropped because the address is on the global or the jail's ignoreip. */
  ignoredAddress: number;
  /** Failures counted towards maxretry. */
  failures: number;
  /** Out-of-order failures older than findtime before the attacker's newest one. */
  staleFailures: number;
  banRequests: number;
  /** Failures of an attacker that is banned already (not counted towards maxretry). */
  alreadyBanned: number;
  /** onBan callbacks that threw (the jail keeps going). */
  callbackErrors: number;
}

export function newCounters(): JailCounters {
  return {
    linesSeen: 0,
    matched: 0,
    ignoredByRegex: 0,
    ignoredAddress: 0,
    failures: 0,
    staleFailures: 0,
    banRequests: 0,
    alreadyBanned: 0,
    callbackErrors: 0,
  };
}

export class Jail {
  readonly config: JailConfig;
  readonly filter: JailFilter;
  readonly ignore: CidrSet;
  readonly counters: JailCounters;
  readonly findtimeMs: number;
  readonly programs: ProgramSet;
  readonly #senderCidrs: CidrSet | null;
  readonly #names: readonly string[];
  readonly #suffixes: readonly string[];

  /**
   * Compiles the filter: throws FILTER_INVALID before anything runs. `previous` is the jail this
   * one replaces on a reload: its filter's open sessions carry over.
   */
  constructor(config: JailConfig, counters: JailCounters = newCounters(), previous?: Jail) {
    this.config = config;
    this.filter =
      config.createFilter?.() ??
      new CompiledFilter({
        name: config.filter === '' ? config.name : config.filter,
        failregex: config.failregex,
        ignoreregex: config.ignoreregex,
        ...(config.sessions === undefined ? {} : { sessions: config.sessions }),
      });
    if (this.filter instanceof CompiledFilter && previous?.filter instanceof CompiledFilter)
      this.filter.adoptSessions(previous.filter);
    this.ignore = new CidrSet(config.ignoreip);
    this.counters = counters;
    this.findtimeMs = config.findtime * 1000;
    this.programs = new ProgramSet(config.programs);
    const { names, cidrs } = config.hosts;
    this.#senderCidrs = cidrs.length > 0 ? new CidrSet(cidrs) : null;
    this.#names = names.filter((n) => !n.startsWith('*.'));
    this.#suffixes = names.filter((n) => n.startsWith('*.')).map((n) => n.slice(1));
  }

  get name(): string {
    return this.config.name;
  }

  /** Whether the jail takes lines from this sender (`hosts`: reporting hostname or peer CIDR). */
  acceptsSender(event: SyslogEvent): boolean {
    if (this.#senderCidrs === null && this.#names.length === 0 && this.#suffixes.length === 0)
      return true;
    if (this.#senderCidrs?.has(event.peer) === true) return true;
    const host = event.hostname.toLowerCase();
    return this.#names.includes(host) || this.#suffixes.some((s) => host.endsWith(s));
  }

  /** The prefix counted and banned for an address (banmask), or null if it is not an address. */
  targetOf(address: string): Cidr | null {
    const ip = parseIp(address);
    if (ip === null) return null;
    return maskAddress(ip, ip.family === 4 ? this.config.banmask.v4 : this.config.banmask.v6);
  }
}
