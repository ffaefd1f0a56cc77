// Flags senders that forwarded syslog and then fell silent (ingest.silentAfter): a log line, a gauge, a mail, cleared when they speak again.
import type { Clock, EpochMs } from '../core/clock.js';
import { formatDuration } from '../core/duration.js';
import type { Logger } from '../core/logger.js';
import type { SilentSendersReport } from '../control/plane.js';
import type { SenderRecord } from '../ingest/senders.js';

/** A sender that went silent or spoke again, as the alert mail tells it. */
export interface SilentSenderChange {
  readonly address: string;
  /** The host name bound to the address in ingest.senders; '' when none is. */
  readonly name: string;
  /** Its last message before the silence. */
  readonly lastSeen: EpochMs;
  /** When it was flagged; for a recovery, when the silence had been noticed. */
  readonly flaggedAt: EpochMs;
}

/** One silent sender for `fleetban status` and `fleetban senders`. */
export interface SilentSenderEntry {
  readonly address: string;
  readonly name: string;
  readonly lastSeen: EpochMs;
  readonly since: EpochMs;
}

export interface SilentSendersDeps {
  /** The per-sender table ingest keeps (only read). */
  readonly senders: {
    get(address: string): Readonly<SenderRecord> | undefined;
    values(): Iterable<Readonly<SenderRecord>>;
  };
  readonly clock: Clock;
  readonly logger: Logger;
  /** The host name bound to an address (ingest.senders), for log lines and mail; '' when none. */
  readonly nameOf?: (address: string) => string;
  /**
   * Hears, at most once per check and kind, of the senders that went silent or spoke again
   * (the server turns each call into one admin alert mail). Never called with an empty list.
   */
  readonly onChange?: (kind: 'silent' | 'back', changes: readonly SilentSenderChange[]) => void;
}

/**
 * An attacker who stops a host's rsyslog first blinds fleetban to that host. Every `check()`
 * (the server calls it on a timer) compares each sender's last message with the clock: a sender
 * that delivered at least one message and has said nothing for `silentAfterMs` is flagged once
 * (warn line, alert), and cleared once (info line, alert) when it speaks again. A sender never
 * heard from is not watched; one the table forgets (its capacity bound) is dropped unannounced.
 */
export class SilentSenders {
  readonly #d: SilentSendersDeps;
  readonly #afterMs: number;
  readonly #silent = new Map<string, SilentSenderEntry>();

  constructor(deps: SilentSendersDeps, silentAfterMs: number) {
    if (!Number.isFinite(silentAfterMs) || silentAfterMs <= 0)
      throw new TypeError(`silentAfterMs must be a positive number, got ${silentAfterMs}`);
    this.#d = deps;
    this.#afterMs = silentAfterMs;
  }

  get silentAfterMs(): number {
    return this.#afterMs;
  }

  /** Senders flagged now (the gauge fleetban_senders_silent). */
  get count(): number {
    return this.#silent.size;
  }

  /** When `address` was flagged silent, or null. */
  silentSince(address: string): EpochMs | null {
    return this.#silent.get(address)?.since ?? null;
  }

  /** The senders flagged now, longest silent first. */
  list(): SilentSenderEntry[] {
    return [...this.#silent.values()].sort(
      (a, b) => a.lastSeen - b.lastSeen || a.address.localeCompare(b.address),
    );
  }

  /** For `fleetban status`. */
  report(): SilentSendersReport {
    return { enabled: true, silentAfterSec: this.#afterMs / 1000, senders: this.list() };
  }

  /** One pass over the table: flags the newly silent, clears those heard again. */
  check(): void {
    const now = this.#d.clock.now();
    const wentSilent: SilentSenderChange[] = [];
    const cameBack: SilentSenderChange[] = [];
    for (const [address, entry] of this.#silent) {
      const record = this.#d.senders.get(address);
      if (record === undefined) {
        // Forgotten by the table's capacity bound: nothing left to clear it, so stop watching.
        this.#silent.delete(address);
        this.#d.logger.info(
          { sender: address, silentSince: entry.since },
          `sender ${label(entry.name, address)} is no longer tracked (ingest.maxSenders): no longer flagged silent`,
        );
      } else if (record.lastSeen > entry.lastSeen) {
        this.#silent.delete(address);
        cameBack.push({ ...entry, lastSeen: record.lastSeen, flaggedAt: entry.since });
        this.#d.logger.info(
          { sender: address, silentFor: record.lastSeen - entry.lastSeen },
          `sender ${label(entry.name, address)} speaks again after ${formatDuration((record.lastSeen - entry.lastSeen) / 1000)} of silence`,
        );
      }
    }
    for (const record of this.#d.senders.values()) {
      if (record.messages === 0 || now - record.lastSeen < this.#afterMs) continue;
      if (this.#silent.has(record.address)) continue;
      const name = this.#d.nameOf?.(record.address) ?? '';
      const entry = { address: record.address, name, lastSeen: record.lastSeen, since: now };
      this.#silent.set(record.address, entry);
      wentSilent.push({ ...entry, flaggedAt: now });
      this.#d.logger.warn(
        { sender: record.address, lastSeen: record.lastSeen },
        `sender ${label(name, record.address)} silent for ${formatDuration(this.#afterMs / 1000)}: its logs no longer reach fleetban`,
      );
    }
    if (wentSilent.length > 0) this.#d.onChange?.('silent', wentSilent);
    if (cameBack.length > 0) this.#d.onChange?.('back', cameBack);
  }
}

/** `web-3 (10.0.0.3)`, or the bare address when no name is bound to it. */
export function label(name: string, address: string): string {
  return name === '' ? address : `${name} (${address})`;
}

/** How often to look: a quarter of silentAfter, at least every 30 s, at most every 100 ms. */
export function silentCheckIntervalMs(silentAfterMs: number): number {
  return Math.min(30_000, Math.max(100, Math.round(silentAfterMs / 4)));
}

/** Stands in for the watch when ingest.silentAfter is 0, so `fleetban status` says it is off. */
export const silentWatchOff = {
  count: 0,
  report: (): SilentSendersReport => ({ enabled: false, silentAfterSec: 0, senders: [] }),
  silentSince: (): null => null,
};
