// An in-memory ControlPlane for the admin API and CLI tests: real rules, tiny state, failures on demand.
import type { ManualClock } from '../../src/core/clock.js';
import { ErrorCode, FleetbanError } from '../../src/core/errors.js';
import { CidrSet, formatCidr, parseCidr } from '../../src/core/ip.js';
import type { Logger } from '../../src/core/logger.js';
import type { Ban } from '../../src/core/types.js';
import type { MetricFamily } from '../../src/control/metrics.js';
import type {
  BanCommand,
  ClusterDetail,
  ControlPlane,
  HealthReport,
  JailStatusReport,
  ListedBan,
  ReloadReport,
  SenderReport,
  StatusReport,
  UnbanCommand,
} from '../../src/control/plane.js';

const MANUAL_BANTIME = 600;

export class FakePlane implements ControlPlane {
  readonly #clock: ManualClock;
  readonly #startedAt: number;
  readonly #ignore = new CidrSet([parseCidr('10.0.0.0/8') ?? fail()]);
  readonly bansByTarget = new Map<string, ListedBan>();
  readonly jails: JailStatusReport[] = [
    jail('sshd', { bantime: 3600, failures: 38, matched: 40 }),
    jail('recidive', { bantime: null, filter: 'recidive', maxretry: 3, findtime: 86400 }),
  ];
  readonly sendersList: SenderReport[] = [];
  /** Methods that throw a plain Error, as a bug would. */
  readonly broken = new Set<keyof ControlPlane>();
  nextReloadError: FleetbanError | undefined;
  healthy = true;
  #seq = 0;

  constructor(clock: ManualClock) {
    this.#clock = clock;
    this.#startedAt = clock.now();
  }

  /** Adds a ban as the jails would have (with per-host counts). */
  seed(
    ban: Omit<ListedBan, 'seq' | 'family' | 'origin' | 'reason' | 'banCount'> & Partial<Ban>,
  ): ListedBan {
    const stored: ListedBan = {
      family: ban.target.includes(':') ? 6 : 4,
      origin: 'jail',
      reason: '',
      banCount: 1,
      ...ban,
      seq: ++this.#seq,
    };
    this.bansByTarget.set(stored.target, stored);
    return stored;
  }

  status(): StatusReport {
    this.#maybeBreak('status');
    return {
      version: '0.1.0-test',
      startedAt: this.#startedAt,
      uptimeSec: Math.round((this.#clock.now() - this.#startedAt) / 1000),
      jails: this.jails.map((j) => ({ ...j, activeBans: this.#inJail(j.name).length })),
      activeBans: this.bansByTarget.size,
      ingest: {
        listening: [
          { transport: 'udp', address: '127.0.0.1', port: 5514, reader: 'recvmmsg' },
          { transport: 'tcp', address: '::1', port: 5514 },
        ],
        messages: 1200,
        bytes: 87_040,
        dropped: 1,
        oversized: 2,
        framingErrors: 3,
        invalidUtf8: 4,
        parseErrors: 5,
        parsed: 1190,
        backlogDropped: 0,
        connectionsOpen: 6,
      },
      store: { activeBans: this.bansByTarget.size, lastSeq: this.#seq },
    };
  }

  jailStatus(name: string): JailStatusReport {
    this.#maybeBreak('jailStatus');
    const found = this.status().jails.find((j) => j.name === name);
    if (found === undefined)
      throw new FleetbanError(ErrorCode.JAIL_UNKNOWN, `no jail named ${name}`);
    return found;
  }

  bans(query: { readonly jail?: string }): Promise<ListedBan[]> {
    this.#maybeBreak('bans');
    const all = [...this.bansByTarget.values()].sort((a, b) => a.start - b.start);
    return Promise.resolve(
      query.jail === undefined ? all : all.filter((b) => b.jail === query.jail),
    );
  }

  ban(req: BanCommand): Promise<Ban> {
    this.#maybeBreak('ban');
    const cidr = parseCidr(req.target);
    if (cidr === null) {
      return Promise.reject(
        new FleetbanError(
          ErrorCode.BAN_TARGET_INVALID,
          `${req.target} is not an IP address or CIDR prefix`,
        ),
      );
    }
    const jailName = req.jail ?? 'manual';
    const jailReport = this.jails.find((j) => j.name === jailName);
    if (req.jail !== undefined && jailReport === undefined) {
      return Promise.reject(new FleetbanError(ErrorCode.JAIL_UNKNOWN, `no jail named ${req.jail}`));
    }
    if (this.#ignore.has(cidr.address)) {
      return Promise.reject(
        new FleetbanError(
          ErrorCode.BAN_IGNORED,
          `${formatCidr(cidr)} is on the ignore list (ignoreip)`,
        ),
      );
    }
    const duration =
      req.durationSec === undefined ? (jailReport?.bantime ?? MANUAL_BANTIME) : req.durationSec;
    const now = this.#clock.now();
    const ban = this.seed({
      target: formatCidr(cidr),
      family: cidr.family,
      jail: jailName,
      origin: 'manual',
      attacker: '',
      start: now,
      end: duration === null ? null : now + duration * 1000,
      failures: 0,
      hosts: {},
      reason: req.reason ?? '',
    });
    return Promise.resolve(ban);
  }

  unban(req: UnbanCommand): Promise<Ban[]> {
    this.#maybeBreak('unban');
    if ('all' in req) {
      const all = [...this.bansByTarget.values()];
      this.bansByTarget.clear();
      return Promise.resolve(all);
    }
    const cidr = parseCidr(req.target);
    if (cidr === null) {
      return Promise.reject(
        new FleetbanError(ErrorCode.BAN_TARGET_INVALID, `${req.target} is not an address`),
      );
    }
    const target = formatCidr(cidr);
    const ban = this.bansByTarget.get(target);
    if (ban === undefined) {
      return Promise.reject(new FleetbanError(ErrorCode.BAN_NOT_FOUND, `${target} is not banned`));
    }
    this.bansByTarget.delete(target);
    return Promise.resolve([ban]);
  }

  reload(): Promise<ReloadReport> {
    this.#maybeBreak('reload');
    const error = this.nextReloadError;
    if (error !== undefined) return Promise.reject(error);
    return Promise.resolve({
      jails: this.jails.map((j) => j.name).sort(),
      added: [],
      removed: [],
      changed: ['sshd'],
      warnings: ['jail recidive reads no log yet'],
    });
  }

  senders(): SenderReport[] {
    this.#maybeBreak('senders');
    return this.sendersList;
  }

  metrics(): MetricFamily[] {
    this.#maybeBreak('metrics');
    return [
      {
        name: 'fleetban_bans_active',
        help: 'Active bans.',
        type: 'gauge',
        samples: [{ value: this.bansByTarget.size }],
      },
      {
        name: 'fleetban_sender_messages_total',
        help: 'Messages per sender.',
        type: 'counter',
        samples: this.sendersList.map((s) => ({
          labels: { sender: s.address },
          value: s.messages,
        })),
      },
    ];
  }

  health(): HealthReport {
    this.#maybeBreak('health');
    return this.healthy
      ? { ok: true, checks: { store: 'ok', ingest: 'ok' } }
      : { ok: false, checks: { store: 'closed', ingest: 'ok' } };
  }

  cluster(): Promise<ClusterDetail> {
    this.#maybeBreak('cluster');
    return Promise.reject(new FleetbanError(ErrorCode.NOT_FOUND, 'not part of a cluster'));
  }

  #inJail(name: string): ListedBan[] {
    return [...this.bansByTarget.values()].filter((b) => b.jail === name);
  }

  #maybeBreak(method: keyof ControlPlane): void {
    if (this.broken.has(method)) throw new Error(`${method} exploded`);
  }
}

function jail(name: string, over: Partial<JailStatusReport>): JailStatusReport {
  return {
    name,
    enabled: true,
    filter: name,
    maxretry: 5,
    findtime: 600,
    bantime: 600,
    linesSeen: 100,
    matched: 0,
    ignored: 0,
    failures: 0,
    banRequests: 0,
    activeBans: 0,
    trackedAttackers: 0,
    ...over,
  };
}

function fail(): never {
  throw new Error('bad test CIDR');
}

export interface LogEntry {
  readonly level: 'error' | 'warn' | 'info' | 'debug';
  readonly msg: string;
  readonly obj: object | undefined;
}

/** A Logger that keeps what it is told, so tests can assert that a failure was logged. */
export function recordingLogger(): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const fn =
    (level: LogEntry['level']) =>
    (a: object | string, b?: string): void => {
      entries.push(
        typeof a === 'string' ? { level, msg: a, obj: undefined } : { level, msg: b ?? '', obj: a },
      );
    };
  const logger: Logger = {
    error: fn('error'),
    warn: fn('warn'),
    info: fn('info'),
    debug: fn('debug'),
    child: () => logger,
  };
  return { logger, entries };
}
