// The addresses an agent must never ban: its own, the central server's, and its local allowlist.
import { networkInterfaces } from 'node:os';
import {
  cidrContains,
  formatCidr,
  isSingleAddress,
  maskAddress,
  parseCidr,
  parseIp,
  type Cidr,
  type IpFamily,
} from '../core/ip.js';

/** Why a target was refused, for the log line. */
export type Protection = 'own address' | 'server address' | 'allowlist';

/**
 * A ban that covers a protected address would cut the agent off from its own machine or from the
 * server that could lift it again: such targets are refused whole, never trimmed.
 * Lookups are by key (one mask per protected prefix length), because a snapshot checks 100,000
 * targets and node:net's BlockList costs ~27 µs per check.
 */
export class Guard {
  readonly #groups: {
    readonly why: Protection;
    readonly cidrs: readonly Cidr[];
    readonly keys: ReadonlySet<string>;
    readonly lengths: Readonly<Record<IpFamily, readonly number[]>>;
  }[];

  constructor(protect: Readonly<Record<Protection, readonly Cidr[]>>) {
    this.#groups = (Object.keys(protect) as Protection[]).map((why) => {
      const cidrs = protect[why];
      const lengths = { 4: new Set<number>(), 6: new Set<number>() };
      for (const c of cidrs) lengths[c.family].add(c.prefix);
      return {
        why,
        cidrs,
        keys: new Set(cidrs.map(formatCidr)),
        lengths: { 4: [...lengths[4]], 6: [...lengths[6]] },
      };
    });
  }

  /** Why `target` must not be banned, or null when it may. Invalid text is the caller's business. */
  protects(target: string): Protection | null {
    const cidr = parseCidr(target);
    return cidr === null ? null : this.protectsCidr(cidr);
  }

  protectsCidr(cidr: Cidr): Protection | null {
    const ip = { family: cidr.family, text: cidr.address };
    for (const group of this.#groups) {
      // Inside a protected prefix (or equal to a protected address)?
      for (const length of group.lengths[cidr.family]) {
        if (length > cidr.prefix) continue;
        const key = length === cidr.prefix ? formatCidr(cidr) : formatCidr(maskAddress(ip, length));
        if (group.keys.has(key)) return group.why;
      }
      // A wider ban that contains a protected prefix or address.
      if (!isSingleAddress(cidr)) {
        for (const p of group.cidrs) if (cidrContains(cidr, p)) return group.why;
      }
    }
    return null;
  }
}

/** Every address of this machine's interfaces, loopback included. */
export function ownAddresses(): Cidr[] {
  const out: Cidr[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) {
      const ip = parseIp(info.address);
      if (ip !== null)
        out.push({ family: ip.family, address: ip.text, prefix: ip.family === 4 ? 32 : 128 });
    }
  }
  return out;
}

/** Parses the config's allow list (validated already by the schema). */
export function allowList(items: readonly string[]): Cidr[] {
  return items.map((t) => parseCidr(t)).filter((c): c is Cidr => c !== null);
}
