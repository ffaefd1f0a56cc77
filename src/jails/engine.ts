// The jails stage: routes each SyslogEvent to the jails that want it, counts failures, asks for bans. Synchronous, no I/O.
import type { Clock } from '../core/clock.js';
import type { Seconds } from '../core/duration.js';
import { ErrorCode, FleetbanError } from '../core/errors.js';
import { formatCidr, parseCidr, type Cidr, type CidrSet } from '../core/ip.js';
import { SyslogFormat, type Ban, type BanRequest, type SyslogEvent } from '../core/types.js';
import type { JailConfig } from './jail-config.js';
import { Jail, newCounters, type JailCounters } from './jail.js';
import { FilterSource } from './filters/definition.js';
import type { SharedCountListener, SharedFailureCounter } from './shared-counter.js';
import { FailureWindows } from './window.js';

export interface JailEngineOptions {
  readonly jails: readonly JailConfig[];
  /** Addresses no jail ever counts (main config `jails.ignoreip`). */
  readonly ignore: CidrSet;
  /** Most attacker windows kept over all jails. */
  readonly maxTrackedAttackers: number;
  readonly clock: Clock;
  /**
   * Called synchronously, once per crossing of maxretry; the attacker's window in that jail is
   * reset right after. Must not block; a throw is counted and swallowed.
   */
  readonly onBan: (request: BanRequest) => void;
  /**
   * Whether a target (formatCidr text) is banned right now. Failures of a banned attacker are
   * counted as `alreadyBanned` and not windowed: its packets are already dropped, and windowing
   * them would only re-request the same ban. Default: nothing is banned.
   */
  readonly isBanned?: (target: string) => boolean;
  /**
   * Failure windows shared with the other servers (store.backend redis): failures that jails
   * count from log lines go there instead of this process's windows, and crossings come back
   * to `onBan` from the counter, later and on one server only. Jails that count bans
   * (recidive) keep local windows: every server reads the same ban feed. Default: local windows.
   */
  readonly sharedWindows?: SharedFailureCounter;
}

/** How long a crossing keeps its target "just decided" on every server, at most (a shorter bantime wins). */
const DECIDED_TTL_MS = 30_000;

/** One jail's state for `fleetban status` and /metrics. */
export interface JailStats extends Readonly<JailCounters> {
  readonly name: string;
  readonly enabled: boolean;
  readonly filter: string;
  readonly maxretry: number;
  readonly findtime: Seconds;
  readonly bantime: Seconds | null;
  /** ignoredByRegex + ignoredAddress. */
  readonly ignored: number;
  readonly trackedAttackers: number;
  readonly evictions: number;
}

/** Most program names whose routes are remembered at once. */
const ROUTE_CACHE_LIMIT = 4096;

export class JailEngine {
  #ignore: CidrSet;
  readonly #clock: Clock;
  readonly #onBan: (request: BanRequest) => void;
  readonly #isBanned: (target: string) => boolean;
  readonly #windows: FailureWindows;
  readonly #shared: SharedFailureCounter | null;
  #configs: readonly JailConfig[] = [];
  #jails = new Map<string, Jail>();
  /** Program name as sent → the enabled jails that listen to it; filled on first sight of a name. */
  #routes = new Map<string, readonly Jail[]>();

  constructor(options: JailEngineOptions) {
    this.#ignore = options.ignore;
    this.#clock = options.clock;
    this.#onBan = options.onBan;
    this.#isBanned = options.isBanned ?? (() => false);
    this.#windows = new FailureWindows(options.maxTrackedAttackers);
    this.#shared = options.sharedWindows ?? null;
    this.reload(options.jails);
    this.#shared?.listen(this.#sharedListener());
  }

  /** Crossings and outcomes of the shared windows, booked on the jail as local counting books them. */
  #sharedListener(): SharedCountListener {
    return {
      crossed: (request) => {
        const jail = this.#jails.get(request.jail);
        // A jail removed or disabled since: its crossings are no longer wanted.
        if (jail === undefined || !jail.config.enabled) return;
        jail.counters.banRequests++;
        try {
          this.#onBan(request);
        } catch {
          jail.counters.callbackErrors++;
        }
      },
      counted: (name, outcome) => {
        const c = this.#jails.get(name)?.counters;
        if (c === undefined) return;
        c.failures += outcome.counted;
        c.staleFailures += outcome.stale;
        c.alreadyBanned += outcome.decided;
      },
    };
  }

  /** The hot path: never throws on any event content. */
  process(event: SyslogEvent): void {
    const routed = this.#routes.get(event.program) ?? this.#route(event.program);
    for (const jail of routed) this.#feed(jail, event);
  }

  /** The jails a program's lines go to (exact names and `*` patterns), remembered per name. */
  #route(program: string): readonly Jail[] {
    const jails = [...this.#jails.values()].filter(
      (j) => j.config.enabled && !readsBans(j) && (j.programs.isEmpty || j.programs.has(program)),
    );
    // Senders are allowlisted, but their TAGs are free text: bound what is remembered.
    if (this.#routes.size >= ROUTE_CACHE_LIMIT) this.#routes.clear();
    this.#routes.set(program, jails);
    return jails;
  }

  /**
   * Hands a stored ban to the jails that count bans (recidive). The ban comes from the ban
   * store, never from the network. Bans made by such jails are not counted, or each would feed
   * the next; the counting ignores whether the target is banned (it is: that is the point).
   * `replay` (bans read back from the store at start) counts without asking for bans.
   */
  processBan(ban: BanDecision, replay = false): void {
    const source = this.#jails.get(ban.jail);
    if (source !== undefined && readsBans(source)) {
      // Its window was reset when it asked for this ban; a replay after a restart resets it alike.
      this.forget(ban.target, ban.jail);
      return;
    }
    let event: SyslogEvent | undefined;
    for (const jail of this.#jails.values()) {
      if (!jail.config.enabled || !readsBans(jail)) continue;
      event ??= banEvent(ban);
      this.#count(jail, event, false, replay);
    }
  }

  #feed(jail: Jail, event: SyslogEvent): void {
    if (!jail.acceptsSender(event)) return;
    this.#count(jail, event, true);
  }

  #count(jail: Jail, event: SyslogEvent, skipBanned: boolean, replay = false): void {
    const c = jail.counters;
    c.linesSeen++;
    const hit = jail.filter.classify(event.message, event);
    if (hit === null) return;
    c.matched++;
    if (hit.ignored) {
      c.ignoredByRegex++;
      return;
    }
    if (this.#ignore.has(hit.address) || jail.ignore.has(hit.address)) {
      c.ignoredAddress++;
      return;
    }
    const target = jail.targetOf(hit.address);
    if (target === null) return;
    if (skipBanned && this.#isBanned(formatCidr(target))) {
      c.alreadyBanned++;
      return;
    }
    const failure = {
      jail: jail.name,
      attacker: hit.address,
      time: event.time,
      host: event.hostname,
      sender: event.peer,
      user: hit.user,
      line: event.message,
    };
    if (this.#shared !== null && skipBanned) {
      const bantime = jail.config.bantime;
      this.#shared.add(target, failure, {
        findtimeMs: jail.findtimeMs,
        maxretry: jail.config.maxretry,
        decidedTtlMs:
          bantime === null || bantime * 1000 >= DECIDED_TTL_MS
            ? DECIDED_TTL_MS
            : Math.max(1, bantime * 1000),
      });
      return;
    }
    const added = this.#windows.add(target, failure, jail.findtimeMs);
    if (added.kind === 'stale') {
      c.staleFailures++;
      return;
    }
    c.failures++;
    // A replay only refills windows: the ban they led to, if any, follows in the feed.
    if (added.failures < jail.config.maxretry || replay) return;
    const window = this.#windows.snapshot(jail.name, target);
    this.#windows.delete(jail.name, target);
    if (window === null) return;
    c.banRequests++;
    try {
      this.#onBan({
        jail: jail.name,
        attacker: hit.address,
        target,
        time: event.time,
        failures: window.failures,
        hosts: window.hosts,
        senders: window.senders,
        lines: window.lines,
        // A repeat offender is still banned by the jail that caught it: the longer ban replaces it.
        ...(skipBanned ? {} : { replace: true }),
      });
    } catch {
      c.callbackErrors++;
    }
  }

  /**
   * Replaces the jail set. All filters are compiled first, so a bad config throws and the old
   * set keeps running. Jails whose name survives keep their counters and windows (windows are
   * dropped only when the jail's banmask changed, since their keys would no longer fit).
   * `ignore` replaces the global ignore list (the main config's `jails.ignoreip`).
   */
  reload(configs: readonly JailConfig[], ignore: CidrSet = this.#ignore): void {
    const names = new Set<string>();
    for (const c of configs) {
      if (names.has(c.name))
        throw new FleetbanError(ErrorCode.JAIL_INVALID, `jail "${c.name}" is defined twice`);
      names.add(c.name);
    }
    const next = new Map<string, Jail>();
    for (const c of configs) {
      const old = this.#jails.get(c.name);
      next.set(c.name, new Jail(c, old?.counters ?? newCounters(), old));
    }
    for (const [name, old] of this.#jails) {
      const fresh = next.get(name);
      if (fresh === undefined || !fresh.config.enabled) this.#windows.dropJail(name);
      else if (
        fresh.config.banmask.v4 !== old.config.banmask.v4 ||
        fresh.config.banmask.v6 !== old.config.banmask.v6
      ) {
        this.#windows.dropJail(name);
      }
    }
    this.#ignore = ignore;
    this.#configs = configs;
    this.#jails = next;
    this.#routes = new Map();
  }

  /** The configs currently running (disabled ones included). */
  configs(): readonly JailConfig[] {
    return this.#configs;
  }

  stats(): JailStats[] {
    return [...this.#jails.values()].map((jail) => {
      const c = jail.counters;
      const cfg = jail.config;
      return {
        ...c,
        name: cfg.name,
        enabled: cfg.enabled,
        filter:
          cfg.filter === ''
            ? '(inline)'
            : cfg.mode === ''
              ? cfg.filter
              : `${cfg.filter}[mode=${cfg.mode}]`,
        maxretry: cfg.maxretry,
        findtime: cfg.findtime,
        bantime: cfg.bantime,
        ignored: c.ignoredByRegex + c.ignoredAddress,
        trackedAttackers: this.#windows.tracked(cfg.name),
        evictions: this.#windows.evictions(cfg.name),
      };
    });
  }

  /** Load-time notices of the running jails' filters (names given: only those jails). */
  filterNotices(names?: readonly string[]): { readonly jail: string; readonly notice: string }[] {
    const out: { jail: string; notice: string }[] = [];
    for (const jail of this.#jails.values()) {
      if (!jail.config.enabled || (names !== undefined && !names.includes(jail.name))) continue;
      for (const notice of jail.filter.notices ?? []) out.push({ jail: jail.name, notice });
    }
    return out;
  }

  /** Attackers tracked and evicted over all jails. */
  totals(): { readonly trackedAttackers: number; readonly evictions: number } {
    return { trackedAttackers: this.#windows.tracked(), evictions: this.#windows.evictions() };
  }

  /**
   * Forgets the failures counted against an address or prefix in every jail (or one), e.g.
   * once it is banned or an admin unbans it. Returns how many windows were dropped.
   * `keepBanCounts`: leave the jails that count bans (recidive) alone, since a ban or an unban
   * is no reason to forget the bans counted so far.
   */
  forget(addressOrCidr: string, jailName?: string, keepBanCounts = false): number {
    const cidr = parseCidr(addressOrCidr);
    if (cidr === null) return 0;
    let n = 0;
    /** Shared windows to drop, per target text: dropped in Redis, later, and not counted in n. */
    const shared = new Map<string, { target: Cidr; jails: string[] }>();
    for (const jail of this.#jails.values()) {
      if (jailName !== undefined && jail.name !== jailName) continue;
      if (keepBanCounts && readsBans(jail)) continue;
      const target = jail.targetOf(cidr.address);
      if (
        this.#shared !== null &&
        target !== null &&
        target.prefix <= cidr.prefix &&
        jail.config.enabled &&
        !readsBans(jail)
      ) {
        const text = formatCidr(target);
        const entry = shared.get(text) ?? { target, jails: [] };
        entry.jails.push(jail.name);
        shared.set(text, entry);
      }
      if (
        target !== null &&
        target.prefix <= cidr.prefix &&
        this.#windows.delete(jail.name, target)
      )
        n++;
    }
    for (const { target, jails } of shared.values()) this.#shared?.forget(target, jails);
    // Only a prefix wider than a jail's banmask can cover windows other than its own: scan then.
    const wider = [...this.#jails.values()].some(
      (j) => cidr.prefix < (cidr.family === 4 ? j.config.banmask.v4 : j.config.banmask.v6),
    );
    if (wider) {
      if (!keepBanCounts) n += this.#windows.deleteCovered(cidr, jailName);
      else {
        for (const jail of this.#jails.values()) {
          if ((jailName === undefined || jail.name === jailName) && !readsBans(jail))
            n += this.#windows.deleteCovered(cidr, jail.name);
        }
      }
    }
    return n;
  }

  /** Drops windows whose last failure is older than their jail's findtime (call periodically). */
  sweep(): number {
    return this.#windows.sweep(this.#clock.now(), (name) => this.#jails.get(name)?.findtimeMs);
  }

  /** The prefixes a jail never bans: the global ignore list plus its own ignoreip. */
  ignoreList(jailName: string): Cidr[] {
    const own = this.#jails.get(jailName)?.config.ignoreip ?? [];
    return [...this.#ignore.entries(), ...own];
  }
}

/** A stored ban as the ban-counting jails see it. */
export type BanDecision = Pick<Ban, 'jail' | 'target' | 'start'>;

function readsBans(jail: Jail): boolean {
  return jail.config.source === FilterSource.BANS;
}

/**
 * The ban as the event a ban-counting filter reads: the notice text fleetban logs, dated at the
 * ban's start, the source jail standing in for the reporting host (so a recidive ban shows how
 * many bans came from which jail).
 */
function banEvent(ban: BanDecision): SyslogEvent {
  return {
    format: SyslogFormat.BARE,
    facility: -1,
    severity: -1,
    time: ban.start,
    receivedAt: ban.start,
    hostname: ban.jail,
    peer: '',
    program: 'fleetban',
    pid: '',
    message: `NOTICE [${ban.jail}] Ban ${ban.target}`,
  };
}
