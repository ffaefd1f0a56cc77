// The contract of failure windows shared by several servers (store.backend redis): what JailEngine hands over, and what it hears back.
import type { Cidr } from '../core/ip.js';
import type { BanRequest, Failure } from '../core/types.js';

/** A jail's counting rule, sent with each failure (a reload may change it between two). */
export interface WindowRule {
  readonly findtimeMs: number;
  readonly maxretry: number;
  /**
   * How long a crossing keeps the target "just decided" on every server: long enough for every
   * server's ban mirror to show the ban, no longer than the ban itself.
   */
  readonly decidedTtlMs: number;
}

/** How some failures of one jail ended once the shared windows had them. */
export interface CountOutcome {
  /** Counted towards maxretry (JailCounters.failures). */
  readonly counted: number;
  /** Older than findtime before the attacker's newest failure (JailCounters.staleFailures). */
  readonly stale: number;
  /** The attacker had just been decided, here or on another server (JailCounters.alreadyBanned). */
  readonly decided: number;
}

/** Who hears what the shared windows decided: the JailEngine that owns them. */
export interface SharedCountListener {
  /**
   * One crossing of maxretry, heard by exactly one server of the fleet; the window is reset.
   * Called outside the caller of `add` (later, from the flush): a throw is the listener's to
   * catch, the counter swallows it.
   */
  crossed(request: BanRequest): void;
  /** Outcomes per jail, reported once per batch; never for failures that were dropped. */
  counted(jail: string, outcome: CountOutcome): void;
}

/**
 * Failure windows kept outside this process, shared by every server. `add` is on the ingest hot
 * path: it queues and returns, never throws, never waits for a round trip. The counter, not the
 * caller, retries when its storage fails, and drops (and counts, and logs) what it cannot keep.
 */
export interface SharedFailureCounter {
  add(target: Cidr, failure: Failure, rule: WindowRule): void;
  /**
   * Drops a target's windows in these jails (a ban, an unban): later failures count anew. One
   * call per target, all its jails at once: the counter may drop them in one step.
   */
  forget(target: Cidr, jails: readonly string[]): void;
  /** Sets the one listener (a later call replaces it). */
  listen(listener: SharedCountListener): void;
}
