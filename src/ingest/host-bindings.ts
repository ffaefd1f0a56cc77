// Which sender addresses may claim which HOSTNAME (`ingest.senders`): the check behind hosts-scoped jails.
import { CappedTally } from '../core/capped-tally.js';
import { CidrSet, parseCidr } from '../core/ip.js';

/** Spoofed-hostname drops of one claimed name from one peer since the last report. */
export interface SpoofReport {
  readonly host: string;
  readonly peer: string;
  readonly count: number;
}

/** Distinct (host, peer) pairs remembered between two reports; further ones are only summed. */
const REPORT_PAIRS_LIMIT = 1000;

/**
 * A HOSTNAME is free text written by the sender. Once an admin binds a name to addresses, only
 * those peers may claim it; any other claim is a spoof, counted here for an aggregated log line.
 */
export class HostBindings {
  /** Lower-cased host name → the prefixes allowed to claim it. */
  readonly #bound = new Map<string, CidrSet>();
  /** Refused claims by `host NUL peer`. */
  readonly #pending = new CappedTally<string>(REPORT_PAIRS_LIMIT);
  readonly #onNew: (host: string, peer: string) => void;

  /**
   * `onNew` hears of the first refused claim of each (host, peer) pair since the last report, so
   * the admin learns at once; the rest is summed for `takeReport`.
   */
  constructor(
    bindings: Readonly<Record<string, readonly string[]>>,
    onNew: (host: string, peer: string) => void = () => undefined,
  ) {
    this.#onNew = onNew;
    for (const [host, list] of Object.entries(bindings)) {
      const cidrs = list.map((c) => {
        const cidr = parseCidr(c);
        if (cidr === null) throw new TypeError(`ingest.senders.${host}: "${c}" is not an address`);
        return cidr;
      });
      this.#bound.set(host.toLowerCase(), new CidrSet(cidrs));
    }
  }

  /** No binding at all: the pipeline skips the check. */
  get empty(): boolean {
    return this.#bound.size === 0;
  }

  /** Whether `peer` may claim `hostname`; a refused claim is recorded for `takeReport`. */
  allows(hostname: string, peer: string): boolean {
    // Exact spelling first: the common case costs one lookup and no lower-casing.
    const allowed = this.#bound.get(hostname) ?? this.#bound.get(hostname.toLowerCase());
    if (allowed === undefined || allowed.has(peer)) return true;
    if (this.#pending.add(`${hostname}\u0000${peer}`)) this.#onNew(hostname, peer);
    return false;
  }

  /** The first host name (as lower-cased) bound to prefixes covering `address`; '' when none. */
  nameOf(address: string): string {
    for (const [host, allowed] of this.#bound) if (allowed.has(address)) return host;
    return '';
  }

  /** The refused claims since the last call, per (host, peer), and those beyond the pair limit. */
  takeReport(): { readonly pairs: SpoofReport[]; readonly other: number } {
    const pairs = [...this.#pending.entries()].map(([key, count]): SpoofReport => {
      const [host = '', peer = ''] = key.split('\u0000');
      return { host, peer, count };
    });
    const other = this.#pending.untracked;
    this.#pending.clear();
    return { pairs, other };
  }
}
