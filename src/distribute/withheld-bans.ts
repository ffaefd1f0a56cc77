// Bans kept out of agent streams, nftables documents and the blocklist because they cover a never-ban address, and what follows when that set grows.
import { randomBytes } from 'node:crypto';
import { formatCidr, maskAddress, type IpAddress } from '../core/ip.js';
import type { Logger } from '../core/logger.js';
import type { MetricFamily } from '../control/metrics.js';
import type { BanStore } from '../store/store.js';
import type { Withhold } from './withhold.js';

/** Where a withheld ban would have gone. */
export type WithheldOutput = 'stream' | 'nftables' | 'blocklist';

/** Bans withheld since start, per output. */
export type WithheldCounts = Readonly<Record<WithheldOutput, number>>;

/** Distinct withheld targets warned about before the memory of what was said is cleared. */
const WARNED_LIMIT = 4096;

export class WithheldBans {
  readonly #withhold: Withhold | undefined;
  readonly #store: Pick<BanStore, 'activeTargets' | 'get' | 'stats'>;
  readonly #log: Logger;
  readonly #counts = { stream: 0, nftables: 0, blocklist: 0 };
  /** Differs between runs: a list from another run may differ even at the same generation. */
  readonly #run = randomBytes(4).toString('hex');
  #changes = 0;
  /** Targets already reported as withheld (one warning each). */
  readonly #warned = new Set<string>();
  /** Active targets the never-ban list covers, as of its last change. */
  #covered = new Set<string>();
  /** Agents resuming from this seq or before get a snapshot: they may hold a ban withheld since. */
  #snapshotUpTo = 0;

  /** `withhold` undefined: nothing is withheld. */
  constructor(
    withhold: Withhold | undefined,
    store: Pick<BanStore, 'activeTargets' | 'get' | 'stats'>,
    log: Logger,
  ) {
    this.#withhold = withhold;
    this.#store = store;
    this.#log = log;
  }

  /** Whether anything can be withheld at all. */
  get active(): boolean {
    return this.#withhold !== undefined;
  }

  /** Bans withheld since start, per output. */
  get counts(): WithheldCounts {
    return { ...this.#counts };
  }

  /** Changes with each change of the never-ban list (and between runs): part of an ETag. */
  get generation(): string {
    return `${this.#run}.${this.#changes}`;
  }

  /** Whether a ban of `target` must stay out of `output`; counted (and warned once) if so. */
  withheld(output: WithheldOutput, target: string): boolean {
    if (this.#withhold?.covers(target) !== true) return false;
    this.#counts[output]++;
    if (!this.#warned.has(target)) {
      if (this.#warned.size >= WARNED_LIMIT) this.#warned.clear();
      this.#warned.add(target);
      this.#log.warn(
        { target, output },
        `ban of ${target} withheld from agents, nftables documents and the blocklist: it covers a never-ban address`,
      );
    }
    return true;
  }

  /** Whether an agent resuming after `since` needs a full snapshot (it may hold a withheld ban). */
  needsSnapshot(since: number | null): boolean {
    return since !== null && since <= this.#snapshotUpTo;
  }

  /**
   * Agents may already hold a ban that the never-ban list covers (from an older store, or from
   * before the list grew). When the covered set gains a target, every agent that resumes from
   * before now gets a fresh snapshot instead, and `onGrew` ends the live streams so that their
   * agents do so. Returns the function that stops watching.
   */
  watch(onGrew: () => void): () => void {
    const withhold = this.#withhold;
    if (withhold === undefined) return () => undefined;
    const check = (added: readonly IpAddress[] | null): void => {
      this.#changes++;
      let covered: Set<string>;
      if (added === null) {
        // Anything may have changed (start, reload): every active ban is looked at once.
        covered = new Set<string>();
        for (const target of this.#store.activeTargets())
          if (withhold.covers(target)) covered.add(target);
      } else {
        // New single addresses (an agent's peer): only bans containing one of them, by lookup,
        // so that a thousand agents connecting do not scan a million bans a thousand times.
        covered = new Set(this.#covered);
        for (const ip of added)
          for (let len = ip.family === 4 ? 32 : 128; len >= 0; len--) {
            const target = formatCidr(maskAddress(ip, len));
            if (this.#store.get(target) !== undefined) covered.add(target);
          }
      }
      const grew = [...covered].some((t) => !this.#covered.has(t));
      this.#covered = covered;
      if (!grew) return;
      this.#snapshotUpTo = this.#store.stats().lastSeq;
      this.#log.warn(
        { covered: [...covered].slice(0, 20), count: covered.size },
        `${covered.size} active bans cover never-ban addresses: agents get a snapshot without them`,
      );
      onGrew();
    };
    check(null);
    return withhold.onChange(check);
  }

  metrics(): MetricFamily {
    return {
      name: 'fleetban_bans_withheld_total',
      help: 'Bans left out of agent streams, nftables documents and the blocklist because they cover a never-ban address, by output.',
      type: 'counter',
      samples: [
        { labels: { output: 'stream' }, value: this.#counts.stream },
        { labels: { output: 'nftables' }, value: this.#counts.nftables },
        { labels: { output: 'blocklist' }, value: this.#counts.blocklist },
      ],
    };
  }
}
