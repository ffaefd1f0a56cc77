// The never-ban list: addresses no ban may cover (the server's own, its senders, its agents, admin networks).
import { networkInterfaces } from 'node:os';
import {
  CidrSet,
  cidrOverlaps,
  formatCidr,
  isSingleAddress,
  maskAddress,
  parseCidr,
  parseIp,
  type Cidr,
  type IpAddress,
} from '../core/ip.js';
import type { FleetbanConfig } from '../config/load.js';
import type { Withhold } from '../distribute/withhold.js';
import { parseAll } from './options.js';

/** Why an address is protected; shown by `fleetban status` and in logs. */
export const ProtectedSource = {
  /** Loopback, the server's interface addresses and its listen addresses. */
  SELF: 'self',
  /** `ingest.allowedSenders`. */
  SENDER: 'sender',
  /** An address an agent connected from (seen by the agent API). */
  AGENT: 'agent',
  /** `neverBan.adminNetworks`. */
  ADMIN: 'admin',
} as const;
export type ProtectedSource = (typeof ProtectedSource)[keyof typeof ProtectedSource];

export interface ProtectedEntry {
  /** Canonical prefix text (formatCidr). */
  readonly cidr: string;
  readonly source: ProtectedSource;
  /** Where it comes from: an interface name, a config key, an agent name. */
  readonly note: string;
}

interface Entry extends ProtectedEntry {
  readonly prefix: Cidr;
}

/** Most agent peer addresses remembered: agents are few, a bound keeps a token holder from growing it. */
const MAX_AGENT_PEERS = 10_000;

export interface NeverBanSources {
  /** Listen addresses from the config (wildcards and names are skipped). */
  readonly listen: readonly { readonly key: string; readonly address: string }[];
  readonly allowedSenders: readonly Cidr[];
  readonly adminNetworks: readonly Cidr[];
  /** The host's interface addresses; os.networkInterfaces() by default (injected in tests). */
  readonly interfaces?: () => readonly { readonly name: string; readonly address: string }[];
}

/**
 * Holds the list and answers "does this prefix touch a protected address?" without a scan (see
 * `overlaps`), since every ban and every streamed change asks. Interface addresses are read
 * again at each reload. Listeners hear of every change that adds or removes an entry.
 */
export class NeverBanList implements Withhold {
  #fixed: Entry[] = [];
  readonly #agents = new Map<string, Entry>();
  #all: Entry[] = [];
  #set = new CidrSet();
  /** Per family and prefix length asked about (family * 1000 + length): see #maskedAt. */
  readonly #masked = new Map<number, Set<string>>();
  /** Families with an entry wider than one address. */
  #networks = new Set<4 | 6>();
  readonly #listeners = new Set<(added: readonly IpAddress[] | null) => void>();

  constructor(sources: NeverBanSources) {
    this.#fixed = fixedEntries(sources);
    this.#rebuild();
  }

  /** Replaces the configured parts (reload); agent peers stay. */
  reconfigure(sources: NeverBanSources): void {
    const next = fixedEntries(sources);
    const same =
      next.length === this.#fixed.length &&
      next.every((e, i) => e.cidr === this.#fixed[i]?.cidr && e.source === this.#fixed[i].source);
    this.#fixed = next;
    this.#rebuild();
    if (!same) this.#changed(null);
  }

  /** An authenticated agent connected from `address`: protect it. Returns whether it was new. */
  addAgentPeer(agent: string, address: string): boolean {
    const prefix = parseCidr(address);
    if (prefix === null || this.#set.has(prefix.address)) return false;
    if (this.#agents.size >= MAX_AGENT_PEERS) return false;
    this.#agents.set(prefix.address, entry(prefix, ProtectedSource.AGENT, `agent ${agent}`));
    this.#rebuild();
    this.#changed([{ family: prefix.family, text: prefix.address }]);
    return true;
  }

  entries(): readonly ProtectedEntry[] {
    return this.#all.map(({ cidr, source, note }) => ({ cidr, source, note }));
  }

  /** The prefixes, for narrowing a ban around them. */
  prefixes(): readonly Cidr[] {
    return this.#all.map((e) => e.prefix);
  }

  /** The first protected entry that shares an address with `target`, if any. */
  covering(target: Cidr): ProtectedEntry | undefined {
    if (!this.overlaps(target)) return undefined;
    return this.#all.find((e) => cidrOverlaps(e.prefix, target));
  }

  /**
   * Whether `target` shares an address with an entry, without a scan (every ban and every
   * streamed change asks). Prefixes are nested or disjoint, so either an entry holds the
   * target's first address, or an entry lies inside the target and, masked to the target's
   * length, is the target's address.
   */
  overlaps(target: Cidr): boolean {
    if (this.#set.has(target.address)) return true;
    if (isSingleAddress(target)) return false;
    return this.#maskedAt(target.family, target.prefix).has(target.address);
  }

  /**
   * Same as `overlaps` for a canonical target text; unparsable text is not protected. Asked for
   * every ban of every agent snapshot, so the common texts are answered without parsing.
   */
  covers(target: string): boolean {
    const slash = target.indexOf('/');
    // A single address overlaps exactly when an entry holds it.
    if (slash < 0) return this.#set.has(target);
    const address = target.slice(0, slash);
    const family = address.includes(':') ? 6 : 4;
    if (!this.#networks.has(family)) {
      // Every entry of this family is one address: it overlaps the prefix exactly when it lies
      // inside, i.e. masked to the prefix's length it is the prefix's (canonical) address.
      return this.#maskedAt(family, Number(target.slice(slash + 1))).has(address);
    }
    const cidr = parseCidr(target);
    return cidr !== null && this.overlaps(cidr);
  }

  /** The network addresses, at the target's length, of the entries narrower than it. */
  #maskedAt(family: 4 | 6, prefix: number): ReadonlySet<string> {
    const key = family * 1000 + prefix;
    let set = this.#masked.get(key);
    if (set === undefined) {
      set = new Set();
      for (const { prefix: e } of this.#all) {
        if (e.family !== family || e.prefix <= prefix) continue;
        set.add(maskAddress({ family: e.family, text: e.address }, prefix).address);
      }
      this.#masked.set(key, set);
    }
    return set;
  }

  /** Calls `listener` after every change of the list; returns the unsubscribe function. */
  onChange(listener: (added: readonly IpAddress[] | null) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  #rebuild(): void {
    this.#all = [...this.#fixed, ...this.#agents.values()];
    this.#set = new CidrSet(this.#all.map((e) => e.prefix));
    this.#networks = new Set(
      this.#all.filter((e) => !isSingleAddress(e.prefix)).map((e) => e.prefix.family),
    );
    this.#masked.clear();
  }

  #changed(added: readonly IpAddress[] | null): void {
    for (const listener of [...this.#listeners]) listener(added);
  }
}

function entry(prefix: Cidr, source: ProtectedSource, note: string): Entry {
  return { prefix, cidr: formatCidr(prefix), source, note };
}

const LOOPBACK: readonly Cidr[] = [
  { family: 4, address: '127.0.0.0', prefix: 8 },
  { family: 6, address: '::1', prefix: 128 },
];

function fixedEntries(s: NeverBanSources): Entry[] {
  const out: Entry[] = LOOPBACK.map((c) => entry(c, ProtectedSource.SELF, 'loopback'));
  const interfaces = s.interfaces ?? hostInterfaces;
  for (const { name, address } of interfaces()) {
    const ip = parseIp(address);
    if (ip !== null) out.push(entry(single(ip), ProtectedSource.SELF, name));
  }
  for (const { key, address } of s.listen) {
    const ip = parseIp(address);
    // A wildcard listen address means "every interface", and those are listed already.
    if (ip === null || ip.text === '0.0.0.0' || ip.text === '::') continue;
    out.push(entry(single(ip), ProtectedSource.SELF, key));
  }
  for (const c of s.allowedSenders) {
    // A catch-all entry means "anyone may send", not "these are our servers": it protects nobody.
    if (c.prefix === 0) continue;
    out.push(entry(c, ProtectedSource.SENDER, 'ingest.allowedSenders'));
  }
  for (const c of s.adminNetworks)
    out.push(entry(c, ProtectedSource.ADMIN, 'neverBan.adminNetworks'));
  // One entry per prefix: the first source named wins (self before sender before admin).
  const byCidr = new Map<string, Entry>();
  for (const e of out) if (!byCidr.has(e.cidr)) byCidr.set(e.cidr, e);
  return [...byCidr.values()];
}

function single(ip: IpAddress): Cidr {
  return { family: ip.family, address: ip.text, prefix: ip.family === 4 ? 32 : 128 };
}

function hostInterfaces(): { name: string; address: string }[] {
  const out: { name: string; address: string }[] = [];
  for (const [name, list] of Object.entries(networkInterfaces())) {
    for (const info of list ?? []) out.push({ name, address: info.address });
  }
  return out;
}

/** The list's inputs as the config gives them (the composition root builds it from these). */
export function neverBanSources(c: FleetbanConfig): NeverBanSources {
  const listen: { key: string; address: string }[] = [];
  const i = c.ingest;
  if (i.udp.enabled) listen.push({ key: 'ingest.udp.address', address: i.udp.address });
  if (i.tcp.enabled) listen.push({ key: 'ingest.tcp.address', address: i.tcp.address });
  if (i.tls.enabled) listen.push({ key: 'ingest.tls.address', address: i.tls.address });
  if (i.relp.enabled) listen.push({ key: 'ingest.relp.address', address: i.relp.address });
  if (i.journal.enabled) listen.push({ key: 'ingest.journal.address', address: i.journal.address });
  if (c.agents.enabled) listen.push({ key: 'agents.address', address: c.agents.address });
  if (c.control.http.enabled)
    listen.push({ key: 'control.http.address', address: c.control.http.address });
  return {
    listen,
    allowedSenders: parseAll(i.allowedSenders),
    adminNetworks: parseAll(c.neverBan.adminNetworks),
  };
}
