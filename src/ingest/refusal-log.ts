// Sums a stream listener's refused and cut-short connections (protocol errors included) into one warning per interval, so a flood cannot flood the log too.
import { CappedTally } from '../core/capped-tally.js';
import type { Logger } from '../core/logger.js';

export const REFUSALS = [
  'notAllowed',
  'perSender',
  'full',
  'evicted',
  'firstFrameTimeout',
  'handshakeTimeout',
  'handshakeFailed',
  'clientCertRefused',
  'protocolError',
] as const;

/** Why a connection was turned away: refused at connect, or closed before it delivered anything. */
export type Refusal = (typeof REFUSALS)[number];

/** Distinct peers counted per interval at most (spoofed IPv6 sources are endless); the rest only add to the total. */
const MAX_PEERS_TRACKED = 1000;
const PEERS_SHOWN = 5;

/**
 * The interval starts at the first refusal after a quiet spell, so a listener nobody attacks
 * holds no timer; the timer is unref'd, and `close()` writes what is pending.
 */
export class RefusalLog {
  readonly #log: Logger;
  readonly #transport: string;
  readonly #intervalMs: number;
  #counts = new Map<Refusal, number>();
  readonly #peers = new CappedTally<string>(MAX_PEERS_TRACKED);
  #lastError: string | null = null;
  #lastProtocolError: string | null = null;
  #timer: NodeJS.Timeout | null = null;

  constructor(log: Logger, transport: string, intervalMs: number) {
    this.#log = log;
    this.#transport = transport;
    this.#intervalMs = intervalMs;
  }

  /**
   * Records one refusal; `error` is a TLS failure reason or, for `protocolError`, what the peer
   * got wrong: the last one of each is kept for the summary.
   */
  note(kind: Refusal, peer: string, error?: string): void {
    this.#counts.set(kind, (this.#counts.get(kind) ?? 0) + 1);
    this.#peers.add(peer);
    if (error !== undefined) {
      if (kind === 'protocolError') this.#lastProtocolError = error;
      else this.#lastError = error;
    }
    if (this.#timer === null) {
      this.#timer = setTimeout(() => {
        this.#flush();
      }, this.#intervalMs);
      this.#timer.unref();
    }
  }

  /** Writes the pending summary, if any, and stops the timer. */
  close(): void {
    this.#flush();
  }

  #flush(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#counts.size === 0) return;
    let total = 0;
    const counts: Partial<Record<Refusal, number>> = {};
    for (const kind of REFUSALS) {
      const n = this.#counts.get(kind);
      if (n === undefined) continue;
      counts[kind] = n;
      total += n;
    }
    const busiest = this.#peers.busiest(PEERS_SHOWN);
    const shown = busiest.reduce((sum, [, n]) => sum + n, 0);
    this.#log.warn(
      {
        transport: this.#transport,
        counts,
        peers: Object.fromEntries(busiest),
        ...(total > shown ? { fromOtherPeers: total - shown } : {}),
        ...(this.#lastError === null ? {} : { lastTlsError: this.#lastError }),
        ...(this.#lastProtocolError === null ? {} : { lastProtocolError: this.#lastProtocolError }),
      },
      `${this.#transport} listener refused or cut short ${total} connections within ${formatSeconds(this.#intervalMs)}`,
    );
    this.#counts = new Map();
    this.#peers.clear();
    this.#lastError = null;
    this.#lastProtocolError = null;
  }
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
