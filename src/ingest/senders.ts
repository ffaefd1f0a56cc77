// Per-sender counters for `fleetban senders`: one mutable record per peer address, bounded in number.
import type { EpochMs } from '../core/clock.js';
import { parseIp } from '../core/ip.js';
import type { Transport } from '../core/types.js';

/** Live counters of one peer. Ingest and the parser increment them in place (cheap on the hot path). */
export interface SenderRecord {
  /** Canonical peer address (IPv4-mapped IPv6 reported as IPv4). */
  readonly address: string;
  /** Messages delivered to the sink. */
  messages: number;
  /** Bytes of delivered messages. */
  bytes: number;
  /** Messages the parser could not read; incremented by the pipeline, not by ingest. */
  parseErrors: number;
  /** Messages (UDP) or connections (TCP/TLS) refused because the sender is not allowed. */
  dropped: number;
  /** Messages delivered with replacement characters. */
  invalidUtf8: number;
  /** Messages or frames over the size limit, skipped. */
  oversized: number;
  /**
   * Messages whose HOSTNAME is bound (`ingest.senders`) to other addresses: they feed no jail
   * scoped to that host. Incremented by the pipeline, not by ingest.
   */
  spoofedHostname: number;
  readonly firstSeen: EpochMs;
  lastSeen: EpochMs;
  /** Messages delivered per transport. */
  readonly transports: Record<Transport, number>;
}

/** A copy of a record, safe to serialise and keep. */
export type SenderSnapshot = Readonly<Omit<SenderRecord, 'transports'>> & {
  readonly transports: Readonly<Record<Transport, number>>;
};

export interface SenderTableOptions {
  /** Most records kept; the least recently seen is evicted beyond it. Default 10,000. */
  readonly capacity?: number;
}

/**
 * Reordering a Map on every message costs more than the counters it protects, so a record
 * moves to the young end at most once per this many ms: eviction order is least recently
 * seen to within this granularity.
 */
const REORDER_AFTER_MS = 1000;
const RAW_CACHE_LIMIT = 4096;

/**
 * Holds one record per peer. Spoofed UDP sources can be endless, hence the cap: the table
 * evicts the least recently seen peer and counts evictions rather than growing.
 */
export class SenderTable {
  readonly #capacity: number;
  /** Canonical address → record; Map order is (roughly) least recently seen first. */
  readonly #records = new Map<string, SenderRecord>();
  /** Socket address text → canonical address, so the hot path does not re-parse addresses. */
  readonly #canonical = new Map<string, string>();
  readonly #movedAt = new WeakMap<SenderRecord, EpochMs>();
  #evicted = 0;

  constructor(options: SenderTableOptions = {}) {
    const capacity = options.capacity ?? 10_000;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new TypeError(`sender table capacity must be a positive integer, got ${capacity}`);
    }
    this.#capacity = capacity;
  }

  /** Canonical form of a socket peer address (brackets, zone and ::ffff: mapping removed). */
  canonical(peer: string): string {
    let address = this.#canonical.get(peer);
    if (address === undefined) {
      address = parseIp(peer)?.text ?? peer;
      if (this.#canonical.size >= RAW_CACHE_LIMIT) this.#canonical.clear();
      this.#canonical.set(peer, address);
    }
    return address;
  }

  /** The record of `peer` (socket address text), created if new, marked as seen at `now`. */
  touch(peer: string, now: EpochMs): SenderRecord {
    const address = this.canonical(peer);
    let record = this.#records.get(address);
    if (record === undefined) {
      record = newRecord(address, now);
      if (this.#records.size >= this.#capacity) this.#evictOldest();
      this.#records.set(address, record);
      this.#movedAt.set(record, now);
      return record;
    }
    record.lastSeen = now;
    const movedAt = this.#movedAt.get(record) ?? 0;
    if (now - movedAt >= REORDER_AFTER_MS) {
      this.#records.delete(address);
      this.#records.set(address, record);
      this.#movedAt.set(record, now);
    }
    return record;
  }

  /** The record of a canonical address, if kept. */
  get(address: string): SenderRecord | undefined {
    return this.#records.get(address);
  }

  get size(): number {
    return this.#records.size;
  }

  /** Records dropped to stay within capacity since start. */
  get evicted(): number {
    return this.#evicted;
  }

  /** The live records, roughly least recently seen first; read them, do not keep them. */
  values(): IterableIterator<Readonly<SenderRecord>> {
    return this.#records.values();
  }

  /** Copies of all records, most recently seen first. */
  snapshot(): SenderSnapshot[] {
    const out: SenderSnapshot[] = [];
    for (const r of this.#records.values()) out.push({ ...r, transports: { ...r.transports } });
    return out.sort((a, b) => b.lastSeen - a.lastSeen || a.address.localeCompare(b.address));
  }

  #evictOldest(): void {
    const oldest = this.#records.keys().next();
    if (oldest.done === true) return;
    this.#records.delete(oldest.value);
    this.#evicted++;
  }
}

function newRecord(address: string, now: EpochMs): SenderRecord {
  return {
    address,
    messages: 0,
    bytes: 0,
    parseErrors: 0,
    dropped: 0,
    invalidUtf8: 0,
    oversized: 0,
    spoofedHostname: 0,
    firstSeen: now,
    lastSeen: now,
    transports: { udp: 0, tcp: 0, tls: 0, relp: 0, journal: 0 },
  };
}
