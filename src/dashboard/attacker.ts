// The Attacker page's data: every active ban covering one address, with its evidence, and the address's history.
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
  /** What the store remembers across bans (bantime.increment); null: never banned by a jail. */
  readonly history: AttackerHistory | null;
}

/**
 * Looks up at most one target per prefix length (33 for IPv4, 129 for IPv6), never a scan of
 * the active bans: fast with a million of them.
 */
export async function attackerReport(store: BanStore, raw: string): Promise<AttackerReport> {
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
  return { address, bans, history: await store.history(address) };
}
