// Renders the fleetban table, chains and set changes as a libnftables JSON document (`nft -j -f -`).
import type { EpochMs } from '../core/clock.js';
import { isSingleAddress, type IpFamily } from '../core/ip.js';
import {
  NFT_FAMILY,
  NFT_TABLE,
  SET_OF_FAMILY,
  timeoutSeconds,
  type SetElement,
} from './element.js';

export const EnforceMode = { HOST: 'host', GATEWAY: 'gateway', BOTH: 'both' } as const;
export type EnforceMode = (typeof EnforceMode)[keyof typeof EnforceMode];

export const Verdict = { DROP: 'drop', REJECT: 'reject' } as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/** How banned traffic is matched and refused. */
export interface RulesetOptions {
  readonly mode: EnforceMode;
  readonly verdict: Verdict;
  /** Only these TCP destination ports; empty = all traffic. */
  readonly ports: readonly number[];
  /** Only traffic arriving on this interface; '' = any. */
  readonly interface: string;
}

/** One command of a libnftables JSON batch (man libnftables-json). */
export type NftCommand = Readonly<Record<string, unknown>>;

/** A whole batch: applied as one transaction, all or nothing. */
export interface NftDocument {
  readonly nftables: readonly NftCommand[];
}

const CHAINS = [
  { name: 'input', hook: 'input', modes: [EnforceMode.HOST, EnforceMode.BOTH] },
  { name: 'forward', hook: 'forward', modes: [EnforceMode.GATEWAY, EnforceMode.BOTH] },
] as const;

const PRIORITY = -10;

const table = { family: NFT_FAMILY, name: NFT_TABLE } as const;

function inTable<T extends object>(fields: T): T & { family: string; table: string } {
  return { family: NFT_FAMILY, table: NFT_TABLE, ...fields };
}

/**
 * Table, sets, chains and rules. `fresh` deletes the table first (add-then-delete, because a
 * delete of an absent table fails the batch), which also empties the sets: the full replace that
 * a snapshot is. Without `fresh` the sets keep their elements and only the chains are rebuilt;
 * a chain of the other mode is removed the same add-then-delete way.
 */
export function renderRuleset(options: RulesetOptions, fresh: boolean): NftCommand[] {
  const out: NftCommand[] = [{ add: { table } }];
  if (fresh) out.push({ delete: { table } }, { add: { table } });
  for (const family of [4, 6] as const) {
    out.push({
      add: {
        set: inTable({
          name: SET_OF_FAMILY[family],
          type: family === 4 ? 'ipv4_addr' : 'ipv6_addr',
          flags: ['interval', 'timeout'],
        }),
      },
    });
  }
  for (const chain of CHAINS) {
    const spec = inTable({
      name: chain.name,
      type: 'filter',
      hook: chain.hook,
      prio: PRIORITY,
      policy: 'accept',
    });
    const wanted = (chain.modes as readonly EnforceMode[]).includes(options.mode);
    if (!wanted) {
      if (!fresh)
        out.push({ add: { chain: spec } }, { delete: { chain: inTable({ name: chain.name }) } });
      continue;
    }
    out.push({ add: { chain: spec } });
    if (!fresh) out.push({ flush: { chain: inTable({ name: chain.name }) } });
    for (const family of [4, 6] as const) {
      out.push({ add: { rule: inTable({ chain: chain.name, expr: ruleExpr(options, family) }) } });
    }
  }
  return out;
}

function ruleExpr(options: RulesetOptions, family: IpFamily): NftCommand[] {
  const expr: NftCommand[] = [];
  if (options.interface !== '') {
    expr.push(match({ meta: { key: 'iifname' } }, options.interface));
  }
  if (options.ports.length > 0) {
    const right = options.ports.length === 1 ? options.ports[0] : { set: [...options.ports] };
    expr.push(match({ payload: { protocol: 'tcp', field: 'dport' } }, right));
  }
  expr.push(
    match(
      { payload: { protocol: family === 4 ? 'ip' : 'ip6', field: 'saddr' } },
      `@${SET_OF_FAMILY[family]}`,
    ),
  );
  expr.push(options.verdict === Verdict.REJECT ? { reject: null } : { drop: null });
  return expr;
}

function match(left: unknown, right: unknown): NftCommand {
  return { match: { op: '==', left, right } };
}

/** The element value: a plain address, or `{prefix}` for a wider network. */
function elementValue(element: SetElement): unknown {
  const { cidr } = element;
  return isSingleAddress(cidr)
    ? cidr.address
    : { prefix: { addr: cidr.address, len: cidr.prefix } };
}

function renderElement(element: SetElement, now: EpochMs): unknown {
  const timeout = timeoutSeconds(element.end, now);
  const val = elementValue(element);
  return timeout === null ? val : { elem: { val, timeout } };
}

/** `add element` of these elements with their remaining time as timeout; nothing for none. */
export function renderAdd(
  family: IpFamily,
  elements: readonly SetElement[],
  now: EpochMs,
): NftCommand[] {
  if (elements.length === 0) return [];
  return [
    {
      add: {
        element: inTable({
          name: SET_OF_FAMILY[family],
          elem: elements.map((e) => renderElement(e, now)),
        }),
      },
    },
  ];
}

/** `delete element`; every element must be present, or nft refuses the whole batch. */
export function renderDelete(family: IpFamily, elements: readonly SetElement[]): NftCommand[] {
  if (elements.length === 0) return [];
  return [
    {
      delete: {
        element: inTable({ name: SET_OF_FAMILY[family], elem: elements.map(elementValue) }),
      },
    },
  ];
}

/** Snapshot: a fresh table with both sets filled, in one transaction. */
export function renderReplace(
  options: RulesetOptions,
  sets: Readonly<Record<IpFamily, ReadonlyMap<string, SetElement>>>,
  now: EpochMs,
): NftDocument {
  return {
    nftables: [
      ...renderRuleset(options, true),
      ...renderAdd(4, [...sets[4].values()], now),
      ...renderAdd(6, [...sets[6].values()], now),
    ],
  };
}
