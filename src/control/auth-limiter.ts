// Failed token attempts per source for the token-protected APIs: 429 past a limit, bounded memory, one summary log line per interval.
import { CappedTally } from '../core/capped-tally.js';
import { ErrorCode, FleetbanError } from '../core/errors.js';
import { formatCidr, maskAddress, parseIp } from '../core/ip.js';
import type { Logger } from '../core/logger.js';
import type { MetricFamily } from './metrics.js';

export interface AuthLimitOptions {
  /** Failed attempts a source may make within `windowMs`; the next request is answered 429. */
  readonly maxFailures: number;
  /** How long failures count, and how long a source that reached the limit is refused. */
  readonly windowMs: number;
  /** Sources tracked at once; past that the least recently failing one is forgotten. */
  readonly maxSources: number;
  /** Failed attempts are logged as one summary per interval, not one line each. */
  readonly logIntervalMs: number;
}

export const DEFAULT_AUTH_LIMIT: AuthLimitOptions = {
  maxFailures: 20,
  windowMs: 60_000,
  maxSources: 10_000,
  logIntervalMs: 60_000,
};

/** Sources named in a summary line. */
const TOP_SOURCES = 5;

interface Source {
  failures: number;
  windowStart: number;
  /** 0 = not blocked. */
  blockedUntil: number;
}

interface Interval {
  failures: number;
  throttled: number;
  /** Attempts per source; sources beyond maxSources are counted, not named. */
  readonly perSource: CappedTally<string>;
}

/**
 * One per listener. The caller asks `retryAfter(remote)` before looking at the token, and reports
 * each refused token with `failed(remote, why)`. A source is an IPv4 address or an IPv6 /64 (one
 * host usually holds a whole /64, so per-address counting would let it rotate without limit).
 * Cost per request: one address parse and one map lookup, whatever the attacker sends.
 */
export class AuthLimiter {
  readonly #o: AuthLimitOptions;
  readonly #log: Logger;
  /** Names the listener in log lines, e.g. `agent API`. */
  readonly #what: string;
  readonly #now: () => number;
  /** Insertion order = least recently failing first: the eviction order. */
  readonly #sources = new Map<string, Source>();
  #interval: Interval | null = null;
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #throttled = 0;
  #evicted = 0;

  constructor(
    options: AuthLimitOptions,
    logger: Logger,
    what: string,
    now: () => number = () => performance.now(),
  ) {
    if (options.maxFailures < 1 || options.maxSources < 1) {
      throw new TypeError('maxFailures and maxSources must be at least 1');
    }
    this.#o = options;
    this.#log = logger;
    this.#what = what;
    this.#now = now;
  }

  /**
   * Seconds the source must wait (for Retry-After) when it is over its limit; the request is then
   * answered 429 without checking its token, and counted. Null: go on and check the token.
   */
  retryAfter(remote: string | undefined): number | null {
    const key = sourceKey(remote);
    const source = this.#sources.get(key);
    if (source === undefined || source.blockedUntil === 0) return null;
    const now = this.#now();
    if (source.blockedUntil <= now) {
      this.#sources.delete(key);
      return null;
    }
    this.#throttled++;
    this.#note(key, 'throttled');
    return Math.max(1, Math.ceil((source.blockedUntil - now) / 1000));
  }

  /** A request whose token was missing or wrong; `why` goes into the first log line of an interval. */
  failed(remote: string | undefined, why: string): void {
    this.#failures++;
    const key = sourceKey(remote);
    const now = this.#now();
    let source = this.#sources.get(key);
    if (source === undefined || now - source.windowStart >= this.#o.windowMs) {
      source = { failures: 0, windowStart: now, blockedUntil: 0 };
    }
    // Re-inserted at the end: the most recently failing sources are the last to be evicted.
    this.#sources.delete(key);
    this.#sources.set(key, source);
    source.failures++;
    if (source.failures >= this.#o.maxFailures) source.blockedUntil = now + this.#o.windowMs;
    if (this.#sources.size > this.#o.maxSources) {
      const oldest = this.#sources.keys().next().value;
      if (oldest !== undefined) this.#sources.delete(oldest);
      this.#evicted++;
    }
    const first = this.#interval === null;
    this.#note(key, 'failed');
    if (first) {
      this.#log.warn(
        { remote, source: key, token: why },
        `${this.#what} request refused: ${why} token; further failed attempts are summarised every ${Math.round(this.#o.logIntervalMs / 1000)} s`,
      );
    }
  }

  /** Writes the pending summary and stops the timer. */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#summarise();
  }

  metrics(prefix: string, what: string): MetricFamily[] {
    const now = this.#now();
    let blocked = 0;
    for (const s of this.#sources.values()) if (s.blockedUntil > now) blocked++;
    return [
      {
        name: `${prefix}_auth_throttled_total`,
        help: `${what} requests answered 429 because their source made too many failed token attempts.`,
        type: 'counter',
        samples: [{ value: this.#throttled }],
      },
      {
        name: `${prefix}_auth_blocked_sources`,
        help: `Sources (IPv4 addresses, IPv6 /64) whose ${what} requests are answered 429 now.`,
        type: 'gauge',
        samples: [{ value: blocked }],
      },
      {
        name: `${prefix}_auth_tracked_sources`,
        help: `Sources with recent failed ${what} token attempts, tracked for the limit (bounded).`,
        type: 'gauge',
        samples: [{ value: this.#sources.size }],
      },
      {
        name: `${prefix}_auth_sources_evicted_total`,
        help: `Sources forgotten because more than the tracked maximum failed ${what} token attempts.`,
        type: 'counter',
        samples: [{ value: this.#evicted }],
      },
    ];
  }

  /** Failed token attempts since start (all sources). */
  get failures(): number {
    return this.#failures;
  }

  #note(key: string, kind: 'failed' | 'throttled'): void {
    let interval = this.#interval;
    if (interval === null) {
      interval = {
        failures: 0,
        throttled: 0,
        perSource: new CappedTally<string>(this.#o.maxSources),
      };
      this.#interval = interval;
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#summarise();
      }, this.#o.logIntervalMs);
      this.#timer.unref();
    }
    if (kind === 'failed') interval.failures++;
    else interval.throttled++;
    interval.perSource.add(key);
  }

  #summarise(): void {
    const interval = this.#interval;
    this.#interval = null;
    // One failure alone was already logged when it happened.
    if (interval === null || (interval.failures <= 1 && interval.throttled === 0)) return;
    const top = interval.perSource
      .busiest(TOP_SOURCES)
      .map(([source, attempts]) => ({ source, attempts }));
    const sources = interval.perSource.size;
    const counted = interval.perSource.untracked > 0 ? `more than ${sources}` : String(sources);
    this.#log.warn(
      { failures: interval.failures, throttled: interval.throttled, sources, top },
      `${this.#what}: ${interval.failures} failed token attempts from ${counted} sources, ` +
        `${interval.throttled} more answered 429; top: ${top.map((t) => `${t.source} (${t.attempts})`).join(', ')}`,
    );
  }
}

/** The unit a limit applies to: an IPv4 address (IPv4-mapped included) or an IPv6 /64. */
export function sourceKey(remote: string | undefined): string {
  if (remote === undefined || remote === '') return 'unknown';
  // parseIp turns an IPv4-mapped address into IPv4.
  const ip = parseIp(remote);
  if (ip === null) return remote;
  return ip.family === 4 ? ip.text : formatCidr(maskAddress(ip, 64));
}

/** The 429 answer to a source past its limit; `Retry-After` carries the same seconds. */
export function throttledError(retryAfterSec: number): FleetbanError {
  return new FleetbanError(
    ErrorCode.AUTH_THROTTLED,
    `too many failed token attempts from this address; retry in ${retryAfterSec} s`,
  );
}
