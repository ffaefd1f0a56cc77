// Keeps every ban off ignored and protected addresses: narrows a jail's ban around them, refuses an admin's.
import { ErrorCode, FleetbanError } from '../core/errors.js';
import { cidrOverlaps, formatCidr, narrowAround, parseIp, type Cidr } from '../core/ip.js';
import type { Logger } from '../core/logger.js';
import type { BanRequest } from '../core/types.js';
import type { MetricFamily } from '../control/metrics.js';
import type { NeverBanReport } from '../control/plane.js';
import type { NeverBanList } from './never-ban.js';

export interface BanGuardStats {
  /** Jail bans made narrower (a longer prefix) so that they spare an ignored or protected address. */
  narrowed: number;
  /** Jail bans dropped because the attacker's own address is protected. */
  refused: number;
  /** Admin bans refused because they cover a protected address. */
  manualRefused: number;
}

export interface BanGuardDeps {
  readonly neverBan: NeverBanList;
  /** The jail's ignore list (global ignoreip plus its own). */
  readonly ignored: (jail: string) => readonly Cidr[];
  readonly logger: Logger;
}

/** Distinct warnings remembered before the memory of what was said is cleared. */
const WARNED_LIMIT = 4096;

/**
 * A jail bans a prefix (banmask) around the attacker's address, but `ignoreip` and the
 * never-ban list are about addresses: a /64 around 2001:db8::dead would also cut off the
 * ignored 2001:db8::1. The guard bans the widest prefix around the attacker that spares every
 * such address (down to the attacker alone), so the attacker is still stopped and nobody
 * protected is; only an attacker whose own address is protected goes unbanned.
 */
export class BanGuard {
  readonly #d: BanGuardDeps;
  readonly #warned = new Set<string>();
  readonly stats: BanGuardStats = { narrowed: 0, refused: 0, manualRefused: 0 };

  constructor(deps: BanGuardDeps) {
    this.#d = deps;
  }

  /** The request to store (target narrowed when needed), or null when it must not be stored. */
  jail(req: BanRequest): BanRequest | null {
    const ignored = this.#d.ignored(req.jail);
    const clear =
      !this.#d.neverBan.overlaps(req.target) && !ignored.some((k) => cidrOverlaps(k, req.target));
    if (clear) return req;
    const keep = [...ignored, ...this.#d.neverBan.prefixes()];
    const attacker = parseIp(req.attacker);
    const narrowed = attacker === null ? null : narrowAround(req.target, attacker, keep);
    const wide = formatCidr(req.target);
    const spared = [...new Set(keep.filter((k) => cidrOverlaps(k, req.target)).map(formatCidr))];
    if (narrowed === null) {
      this.stats.refused++;
      this.#warn(
        `refused:${req.jail}:${req.attacker}`,
        { jail: req.jail, attacker: req.attacker, target: wide, spared },
        `jail ${req.jail}: not banning ${req.attacker}: it is on the ignore or never-ban list (${spared.join(', ')})`,
      );
      return null;
    }
    this.stats.narrowed++;
    const target = formatCidr(narrowed);
    this.#warn(
      `narrowed:${req.jail}:${wide}:${target}`,
      { jail: req.jail, attacker: req.attacker, target, banmask: wide, spared },
      `jail ${req.jail}: banning ${target} instead of ${wide}, which holds ignored or never-ban addresses (${spared.join(', ')})`,
    );
    return { ...req, target: narrowed };
  }

  /** Throws BAN_PROTECTED when an admin's ban covers a never-ban address. */
  manual(target: Cidr): void {
    const hit = this.#d.neverBan.covering(target);
    if (hit === undefined) return;
    this.stats.manualRefused++;
    throw new FleetbanError(
      ErrorCode.BAN_PROTECTED,
      `${formatCidr(target)} covers ${hit.cidr}, which fleetban never bans (${hit.source}: ${hit.note}); see neverBan.adminNetworks in fleetban.conf(5)`,
    );
  }

  /** Warns once per distinct event: a flood from one prefix would otherwise repeat it per request. */
  #warn(key: string, fields: object, message: string): void {
    if (this.#warned.has(key)) return;
    if (this.#warned.size >= WARNED_LIMIT) this.#warned.clear();
    this.#warned.add(key);
    this.#d.logger.warn(fields, message);
  }
}

/** `fleetban status`'s view of the list, with the guard's counters and the agent API's withheld count. */
export function neverBanReport(
  list: NeverBanList,
  stats: BanGuardStats,
  withheld: number,
): NeverBanReport {
  return { entries: list.entries(), ...stats, withheld };
}

export function neverBanMetrics(r: NeverBanReport): MetricFamily[] {
  const counter = (name: string, help: string, value: number): MetricFamily => ({
    name: `fleetban_${name}`,
    help,
    type: 'counter',
    samples: [{ value }],
  });
  const bySource = new Map<string, number>();
  for (const e of r.entries) bySource.set(e.source, (bySource.get(e.source) ?? 0) + 1);
  return [
    {
      name: 'fleetban_never_ban_entries',
      help: 'Addresses and prefixes no ban may cover, by source (self, sender, agent, admin).',
      type: 'gauge',
      samples: [...bySource].map(([source, value]) => ({ labels: { source }, value })),
    },
    counter(
      'bans_narrowed_total',
      'Jail bans narrowed to a longer prefix to spare an ignored or never-ban address.',
      r.narrowed,
    ),
    counter(
      'bans_refused_total',
      'Jail bans not stored because the attacker itself is ignored or on the never-ban list.',
      r.refused,
    ),
    counter(
      'manual_bans_refused_total',
      'Admin bans refused because they cover a never-ban address.',
      r.manualRefused,
    ),
  ];
}
