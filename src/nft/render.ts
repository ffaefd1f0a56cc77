// Renders the fleetban table, chains and set changes as a libnftables JSON document (`nft -j -f -`).
import type { EpochMs } from '../core/clock.js';
import {
  BAN_SET_SPECS,
  BAN_SETS,
  NFT_FAMILY,
  NFT_TABLE,
  timeoutSeconds,
  type BanSet,
  type PerSet,
  type SetElement,
} from './element.js';

export const EnforceMode = { HOST: 'host', GATEWAY: 'gateway', BOTH: 'both' } as const;
export type EnforceMode = (typeof EnforceMode)[keyof typeof EnforceMode];

/** The netfilter hooks fleetban can hang a chain on; each chain is named after its hook. */
export const Hook = { INPUT: 'input', FORWARD: 'forward', PREROUTING: 'prerouting' } as const;
export type Hook = (typeof Hook)[keyof typeof Hook];

export const Verdict = { DROP: 'drop', REJECT: 'reject' } as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/** How banned traffic is matched and refused. */
export interface RulesetOptions {
  readonly mode: EnforceMode;
  /** The chains to keep, by hook; empty = those of `mode` (see chainsOf). */
  readonly hooks: readonly Hook[];
  readonly verdict: Verdict;
  /** Only these TCP destination ports (with udpPorts); both empty = all traffic. */
  readonly ports: readonly number[];
  /** Only these UDP destination ports (with ports); both empty = all traffic. */
  readonly udpPorts: readonly number[];
  /** Only traffic arriving on this interface; '' = any. */
  readonly interface: string;
}

/** One command of a libnftables JSON batch (man libnftables-json). */
export type NftCommand = Readonly<Record<string, unknown>>;

/** A whole batch: applied as one transaction, all or nothing. */
export interface NftDocument {
  readonly nftables: readonly NftCommand[];
}

/**
 * `input` and `forward` run after NAT and conntrack (filter priority -10). `prerouting` runs at
 * raw priority (-300): before conntrack and DNAT, so a banned source is dropped before a
 * published port (Docker's `-p 8080:80`, any DNAT) turns its packets into forwarded traffic that
 * `input` never sees, and before a conntrack entry is made for it.
 */
const CHAINS = [
  { name: 'input', hook: Hook.INPUT, prio: -10, modes: [EnforceMode.HOST, EnforceMode.BOTH] },
  {
    name: 'forward',
    hook: Hook.FORWARD,
    prio: -10,
    modes: [EnforceMode.GATEWAY, EnforceMode.BOTH],
  },
  { name: 'prerouting', hook: Hook.PREROUTING, prio: -300, modes: [] },
] as const;

type Chain = (typeof CHAINS)[number];

/** The hooks a ruleset hangs chains on: `hooks` when given, else those of `mode`. */
export function chainsOf(options: Pick<RulesetOptions, 'mode' | 'hooks'>): Hook[] {
  if (options.hooks.length > 0)
    return CHAINS.map((c) => c.hook).filter((h) => options.hooks.includes(h));
  return CHAINS.filter((c) => (c.modes as readonly EnforceMode[]).includes(options.mode)).map(
    (c) => c.hook,
  );
}

const table = { family: NFT_FAMILY, name: NFT_TABLE } as const;

function inTable<T extends object>(fields: T): T & { family: string; table: string } {
  return { family: NFT_FAMILY, table: NFT_TABLE, ...fields };
}

/**
 * Table, sets, chains and rules. `fresh` deletes the table first (add-then-delete, because a
 * delete of an absent table fails the batch), which also empties the sets: the full replace that
 * a snapshot is. Without `fresh` the sets keep their elements and only the chains are rebuilt;
 * a chain no longer wanted is removed the same add-then-delete way. Flushing and refilling a
 * chain in one transaction leaves no moment without its rules: that is how a reload changes
 * hooks, ports or verdict while the bans keep dropping.
 */
export function renderRuleset(options: RulesetOptions, fresh: boolean): NftCommand[] {
  const out: NftCommand[] = [{ add: { table } }];
  if (fresh) out.push({ delete: { table } }, { add: { table } });
  out.push(...renderSets(BAN_SETS));
  const hooks = chainsOf(options);
  for (const chain of CHAINS) {
    if (!hooks.includes(chain.hook)) {
      if (!fresh) out.push({ add: { chain: chainSpec(chain) } }, deleteChain(chain.name));
      continue;
    }
    out.push({ add: { chain: chainSpec(chain) } });
    if (!fresh) out.push(flushChain(chain.name));
    out.push(...renderRules(options, chain.name, BAN_SETS));
  }
  return out;
}

/** `add set` of these sets, with the type and flags of their kind. */
export function renderSets(sets: readonly BanSet[]): NftCommand[] {
  return sets.map((set) => ({ add: { set: setSpec(set) } }));
}

/**
 * The wanted chains (created if missing, kept if present) with rules for these sets appended:
 * nothing is removed, so what the chains matched before they still match.
 */
export function renderAddedRules(options: RulesetOptions, sets: readonly BanSet[]): NftCommand[] {
  const hooks = chainsOf(options);
  return CHAINS.filter((c) => hooks.includes(c.hook)).flatMap((chain) => [
    { add: { chain: chainSpec(chain) } },
    ...renderRules(options, chain.name, sets),
  ]);
}

/** Every fleetban chain emptied of its rules (created empty first, so a missing one cannot fail the batch). */
export function renderEmptyChains(): NftCommand[] {
  return CHAINS.flatMap((chain) => [{ add: { chain: chainSpec(chain) } }, flushChain(chain.name)]);
}

function chainSpec(chain: Chain): NftCommand {
  return inTable({
    name: chain.name,
    type: 'filter',
    hook: chain.hook,
    prio: chain.prio,
    policy: 'accept',
  });
}

function flushChain(name: string): NftCommand {
  return { flush: { chain: inTable({ name }) } };
}

function deleteChain(name: string): NftCommand {
  return { delete: { chain: inTable({ name }) } };
}

/** One rule per set, or per set and protocol when ports are scoped (`tcp dport`, `udp dport`). */
function renderRules(
  options: RulesetOptions,
  chain: string,
  sets: readonly BanSet[],
): NftCommand[] {
  const scopes = portScopes(options);
  return sets.flatMap((set) =>
    scopes.map((scope) => ({
      add: { rule: inTable({ chain, expr: ruleExpr(options, set, scope) }) },
    })),
  );
}

/** A port match of one protocol; null = every packet. */
type PortScope = { readonly protocol: 'tcp' | 'udp'; readonly ports: readonly number[] } | null;

function portScopes(options: RulesetOptions): PortScope[] {
  const scopes: PortScope[] = [];
  if (options.ports.length > 0) scopes.push({ protocol: 'tcp', ports: options.ports });
  if (options.udpPorts.length > 0) scopes.push({ protocol: 'udp', ports: options.udpPorts });
  return scopes.length > 0 ? scopes : [null];
}

function setSpec(set: BanSet): NftCommand {
  const { family, interval } = BAN_SET_SPECS[set];
  return inTable({
    name: set,
    type: family === 4 ? 'ipv4_addr' : 'ipv6_addr',
    flags: interval ? ['interval', 'timeout'] : ['timeout'],
  });
}

/** The `ffff:…::` mask that keeps the first `bits` bits of an IPv6 address. */
function v6Mask(bits: number): string {
  const groups = Array.from({ length: bits / 16 }, () => 'ffff');
  return `${groups.join(':')}::`;
}

function ruleExpr(options: RulesetOptions, set: BanSet, scope: PortScope): NftCommand[] {
  const { family, masked } = BAN_SET_SPECS[set];
  const expr: NftCommand[] = [];
  if (options.interface !== '') {
    expr.push(match({ meta: { key: 'iifname' } }, options.interface));
  }
  if (scope !== null) {
    const right = scope.ports.length === 1 ? scope.ports[0] : { set: [...scope.ports] };
    expr.push(match({ payload: { protocol: scope.protocol, field: 'dport' } }, right));
  }
  const saddr = { payload: { protocol: family === 4 ? 'ip' : 'ip6', field: 'saddr' } };
  // `ip6 saddr & ffff:ffff:ffff:ffff:: @banned_v6_64`: one hash lookup of the source's /64.
  const source = masked === null ? saddr : { '&': [saddr, v6Mask(masked)] };
  expr.push(match(source, `@${set}`));
  expr.push(options.verdict === Verdict.REJECT ? { reject: null } : { drop: null });
  return expr;
}

function match(left: unknown, right: unknown): NftCommand {
  return { match: { op: '==', left, right } };
}

/** The element value: the (network) address in a hash set, `{prefix}` in an interval set. */
function elementValue(set: BanSet, element: SetElement): unknown {
  const { cidr } = element;
  return BAN_SET_SPECS[set].interval
    ? { prefix: { addr: cidr.address, len: cidr.prefix } }
    : cidr.address;
}

function renderElement(set: BanSet, element: SetElement, now: EpochMs): unknown {
  const timeout = timeoutSeconds(element.end, now);
  const val = elementValue(set, element);
  return timeout === null ? val : { elem: { val, timeout } };
}

/** `add element` of these elements with their remaining time as timeout; nothing for none. */
export function renderAdd(
  set: BanSet,
  elements: readonly SetElement[],
  now: EpochMs,
): NftCommand[] {
  if (elements.length === 0) return [];
  return [
    {
      add: {
        element: inTable({ name: set, elem: elements.map((e) => renderElement(set, e, now)) }),
      },
    },
  ];
}

/**
 * `add element` as JSON text around elements already rendered as text (hashSetElementText): for
 * documents too large to build as objects. Parses to what renderAdd makes of the same elements.
 */
export function renderAddText(set: BanSet, elements: readonly string[]): string {
  const empty = JSON.stringify({ add: { element: inTable({ name: set, elem: [] }) } });
  return empty.replace('"elem":[]', `"elem":[${elements.join(',')}]`);
}

/** One element of a hash set (address values: banned_v4, banned_v6, banned_v6_64) as JSON text. */
export function hashSetElementText(address: string, end: EpochMs | null, now: EpochMs): string {
  const timeout = timeoutSeconds(end, now);
  const val = JSON.stringify(address);
  return timeout === null ? val : `{"elem":{"val":${val},"timeout":${timeout}}}`;
}

/** `delete element`; every element must be present, or nft refuses the whole batch. */
export function renderDelete(set: BanSet, elements: readonly SetElement[]): NftCommand[] {
  if (elements.length === 0) return [];
  return [
    {
      delete: { element: inTable({ name: set, elem: elements.map((e) => elementValue(set, e)) }) },
    },
  ];
}

/**
 * Snapshot over a table of this layout: chains rebuilt, every set flushed and refilled, in one
 * transaction. The sets are kept, so their elements never stop matching in between.
 */
export function renderRefill(
  options: RulesetOptions,
  sets: Readonly<PerSet<ReadonlyMap<string, SetElement>>>,
  now: EpochMs,
): NftDocument {
  return {
    nftables: [
      ...renderRuleset(options, false),
      ...BAN_SETS.map((name) => ({ flush: { set: inTable({ name }) } })),
      ...BAN_SETS.flatMap((set) => renderAdd(set, [...sets[set].values()], now)),
    ],
  };
}

/**
 * Snapshot: a fresh table with every set filled, in one transaction, whatever the table held
 * before (another layout included): for where there is no table of ours to keep, and for
 * `GET /v1/nftables`, which cannot know. Over a present table an element of a new interval set
 * may miss a packet or so around the commit (measured on Linux 6.18): renderRefill does not.
 */
export function renderReplace(
  options: RulesetOptions,
  sets: Readonly<PerSet<ReadonlyMap<string, SetElement>>>,
  now: EpochMs,
): NftDocument {
  return {
    nftables: [
      ...renderRuleset(options, true),
      ...BAN_SETS.flatMap((set) => renderAdd(set, [...sets[set].values()], now)),
    ],
  };
}
