// The Attacker page's data: every active ban covering one address, with its evidence, and what the store keeps of its past bans.
import type { EpochMs } from '../core/clock.js';
import { ErrorCode, FleetbanError } from '../core/errors.js';
import { formatCidr, maskAddress, parseCidr } from '../core/ip.js';
import type { AttackerHistory, DetailedBan } from '../core/types.js';
import type { BanStore } from '../store/store.js';

export interface AttackerReport {
  /** The address (or prefix) asked for, canonical. */
  readonly address: string;
  /**
   * Active bans covering it, narrowest first: the ban of the address itself and any prefix ban
   * (banmask, manual) containing it, each with the hosts and matched lines the store keeps.
   */
  readonly bans: readonly DetailedBan[];
  /**
   * What the store remembers of past bans (for bantime.increment and recidive): counts per jail,
   * the last ban's time and length. Null: never banned by a jail, or forgotten. The evidence of a
   * ban (hosts, matched lines) is deleted with the ban when it expires or is lifted: this record
   * is all that is left of a past ban.
   */
  readonly history: AttackerHistory | null;
  /** When the history is forgotten (its last ban + store.historyRetention); null: no history, or the retention is not known. */
  readonly historyKeptUntil: EpochMs | null;
}

/**
 * Looks up at most one target per prefix length (33 for IPv4, 129 for IPv6), never a scan of
 * the active bans: fast with a million of them.
 */
export async function attackerReport(
  store: BanStore,
  raw: string,
  historyRetentionMs?: number,
): Promise<AttackerReport> {
  const cidr = parseCidr(raw.trim());
  if (cidr === null) {
    throw new FleetbanError(
      ErrorCode.REQUEST_INVALID,
      `ip must be an IP address or CIDR prefix, not '${raw.slice(0, 64)}'`,
    );
  }
  const address = formatCidr(cidr);
  const bans: DetailedBan[] = [];
  for (let prefix = cidr.prefix; prefix >= 0; prefix--) {
    const target = formatCidr(maskAddress({ family: cidr.family, text: cidr.address }, prefix));
    const ban = store.get(target);
    if (ban === undefined) continue;
    const details = await store.details(target);
    bans.push({ ...ban, hosts: details?.hosts ?? {}, lines: details?.lines ?? [] });
  }
  const history = await store.history(address);
  const historyKeptUntil =
    history === null || historyRetentionMs === undefined
      ? null
      : history.lastBanAt + historyRetentionMs;
  return { address, bans, history, historyKeptUntil };
}
