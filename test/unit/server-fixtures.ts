// Shared parts for the server unit tests: a recording logger, jail configs, ban requests and a wired BanManager.
import assert from 'node:assert/strict';
import type { Clock } from '../../src/core/clock.js';
import { parseCidr, type Cidr } from '../../src/core/ip.js';
import type { LogFn, Logger } from '../../src/core/logger.js';
import type { Ban, BanRequest } from '../../src/core/types.js';
import { parseJailFile } from '../../src/config/jail-options.js';
import type { JailConfig } from '../../src/jails/jail-config.js';
import { computeBantime } from '../../src/jails/policy.js';
import { BanLog } from '../../src/log/ban-log.js';
import { BanManager } from '../../src/server/ban-manager.js';
import type { BanStore } from '../../src/store/store.js';

export const T0 = Date.UTC(2026, 0, 1, 12);
export const SEC = 1000;

/** Manual bans outside any jail, when the admin gives no duration (the server's default). */
export const MANUAL_BANTIME_SEC = 3600;

export interface LogEntry {
  readonly level: 'error' | 'warn' | 'info' | 'debug';
  readonly msg: string;
  readonly obj: object | undefined;
}

export interface RecordingLogger extends Logger {
  readonly entries: LogEntry[];
  messages(level?: LogEntry['level']): string[];
}

/** A Logger that keeps every entry; children share the parent's list. */
export function recordingLogger(entries: LogEntry[] = []): RecordingLogger {
  const fn =
    (level: LogEntry['level']): LogFn =>
    (a: object | string, b?: string) => {
      if (typeof a === 'string') entries.push({ level, msg: a, obj: undefined });
      else entries.push({ level, msg: b ?? '', obj: a });
    };
  return {
    entries,
    error: fn('error'),
    warn: fn('warn'),
    info: fn('info'),
    debug: fn('debug'),
    child: () => recordingLogger(entries),
    messages: (level) =>
      entries.filter((e) => level === undefined || e.level === level).map((e) => e.msg),
  };
}

export function cidr(text: string): Cidr {
  return parseCidr(text) ?? assert.fail(`test setup: ${text} should parse`);
}

/** Jails from a jails.d-style object, validated by the real rules. */
export function jails(json: Record<string, unknown>): JailConfig[] {
  return parseJailFile('jails.d/test.json', json);
}

/** What the jail engine would ask for after `failures` failures of `attacker`. */
export function banRequest(
  jail: string,
  attacker: string,
  opts: {
    target?: string;
    time?: number;
    hosts?: Record<string, number>;
    senders?: Record<string, number>;
    lines?: string[];
  } = {},
): BanRequest {
  const hosts = opts.hosts ?? { web1: 3, web2: 2 };
  const failures = Object.values(hosts).reduce((a, b) => a + b, 0);
  return {
    jail,
    attacker,
    target: cidr(opts.target ?? attacker),
    time: opts.time ?? T0,
    failures,
    hosts,
    senders: opts.senders ?? { '10.0.0.1': failures },
    lines:
      opts.lines ??
      Array.from(
        { length: failures },
        (_, i) => `Failed password for root from ${attacker} port ${4000 + i} ssh2`,
      ),
  };
}

export interface ManagerSetup {
  readonly bans: BanManager;
  readonly logger: RecordingLogger;
  readonly banLog: BanLog;
  readonly banned: Ban[];
}

/**
 * A BanManager wired the way the server wires it: bantime from the jail's policy (random part 0),
 * manual bans outside a jail get MANUAL_BANTIME_SEC, ignore = global list plus the jail's own.
 */
export function banManager(
  store: BanStore,
  clock: Clock,
  opts: {
    jails?: readonly JailConfig[];
    ignoreip?: readonly string[];
    banLogPath?: string;
    /** Told of each stored ban (from the store's change feed). */
    onBanned?: (ban: Ban) => void;
    gate?: (request: BanRequest, target: string) => boolean;
  } = {},
): ManagerSetup {
  const configs = opts.jails ?? jails({ sshd: { bantime: '10m' } });
  const global = (opts.ignoreip ?? ['127.0.0.0/8', '::1']).map(cidr);
  const logger = recordingLogger();
  const banLog = new BanLog(opts.banLogPath ?? '', logger, clock);
  const banned: Ban[] = [];
  const bans = new BanManager({
    store,
    clock,
    logger,
    banLog,
    bantime: (jail, history) => {
      const jc = configs.find((j) => j.name === jail);
      return jc === undefined ? MANUAL_BANTIME_SEC : computeBantime(jc, history, () => 0);
    },
    ignored: (jail) => [...global, ...(configs.find((j) => j.name === jail)?.ignoreip ?? [])],
    ...(opts.gate !== undefined ? { gate: opts.gate } : {}),
  });
  // Stored bans, as the server's reactions see them: from the change feed.
  store.subscribe((changes) => {
    for (const c of changes) {
      if (c.kind !== 'ban') continue;
      banned.push(c.ban);
      opts.onBanned?.(c.ban);
    }
  });
  return { bans, logger, banLog, banned };
}
