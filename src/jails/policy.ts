// Ban length for an attacker given its past bans: fail2ban's bantime.increment, without evaluating config as code.
import type { Seconds } from '../core/duration.js';
import type { AttackerHistory } from '../core/types.js';
import type { JailConfig } from './jail-config.js';

/** fail2ban stops doubling after 2^20 so the default formula cannot overflow. */
const MAX_DOUBLINGS = 20;

/** How many earlier bans count for this jail: all jails with `overalljails`, else the jail's own. */
export function previousBans(
  jail: Pick<JailConfig, 'name' | 'increment'>,
  history: AttackerHistory | null,
): number {
  if (history === null) return 0;
  if (jail.increment.overalljails) return history.bans;
  return Object.hasOwn(history.perJail, jail.name) ? (history.perJail[jail.name] ?? 0) : 0;
}

/**
 * Seconds to ban, or null for a permanent ban.
 *
 * Like fail2ban: a first offence (no earlier ban counted) gets `bantime` as is. With n earlier
 * bans the time is `bantime * factor * multipliers[min(n, last)]` when multipliers are set, else
 * `max(bantime, bantime * 2^min(n, 20) * factor)`; then capped at `maxtime`, then a random
 * 0..rndtime is added so that a botnet cannot predict the exact unban time. Whole seconds.
 */
export function computeBantime(
  jail: Pick<JailConfig, 'name' | 'bantime' | 'increment'>,
  history: AttackerHistory | null,
  random: () => number,
): Seconds | null {
  const base = jail.bantime;
  if (base === null) return null;
  const inc = jail.increment;
  if (!inc.enabled) return base;
  const count = previousBans(jail, history);
  if (count <= 0) return base;
  let seconds: number;
  if (inc.multipliers.length > 0) {
    const m = inc.multipliers[Math.min(count, inc.multipliers.length - 1)] ?? 1;
    seconds = base * inc.factor * m;
  } else {
    seconds = Math.max(base, base * 2 ** Math.min(count, MAX_DOUBLINGS) * inc.factor);
  }
  if (inc.maxtime !== null) seconds = Math.min(seconds, inc.maxtime);
  if (inc.rndtime > 0) seconds += random() * inc.rndtime;
  return Math.round(seconds);
}
