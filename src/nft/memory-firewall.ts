// An in-memory firewall that enforces nft 1.0.6's measured rules: for agent tests without root.
import type { Clock, EpochMs } from '../core/clock.js';
import { ErrorCode, FleetbanError } from '../core/errors.js';
import { cidrContains, parseCidr, type Cidr } from '../core/ip.js';
import {
  BAN_SETS,
  cidrOfValue,
  NFT_TABLE,
  setElement,
  type BanSet,
  type SetElement,
} from './element.js';
import type { Firewall } from './firewall.js';
import type { ListedSet } from './parse-list.js';
import type { NftDocument } from './render.js';

interface MemorySet {
  readonly interval: boolean;
  readonly elements: Map<string, SetElement>;
}

interface State {
  table: boolean;
  /** Chain → the set each of its rules looks up ('' for none), in order. */
  chains: Map<string, string[]>;
  sets: Map<string, MemorySet>;
}

/**
 * Models what fleetban relies on and what bit others: a batch is all or nothing; in an `interval`
 * set an element that overlaps a present one fails the batch; a hash set refuses prefixes; a set
 * cannot be re-declared with other flags, nor deleted while a rule looks it up; deleting an
 * absent element fails the batch; re-adding replaces the timeout; the kernel drops expired
 * elements on its own.
 */
export class MemoryFirewall implements Firewall {
  readonly #clock: Clock;
  #state: State = { table: false, chains: new Map(), sets: new Map() };
  /** Every batch applied successfully, in order. */
  readonly applied: NftDocument[] = [];
  /** Batches refused. */
  refused = 0;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  apply(doc: NftDocument): Promise<void> {
    const now = this.#clock.now();
    const next = cloneState(this.#state);
    try {
      for (const command of doc.nftables) applyCommand(next, command, now);
    } catch (e) {
      this.refused++;
      return Promise.reject(
        new FleetbanError(ErrorCode.NFT_FAILED, `nft refused the batch: ${(e as Error).message}`),
      );
    }
    this.#state = next;
    this.applied.push(doc);
    return Promise.resolve();
  }

  list(name: BanSet): Promise<ListedSet | null> {
    const set = this.#state.sets.get(name);
    if (!this.#state.table || set === undefined) return Promise.resolve(null);
    const now = this.#clock.now();
    const elements = new Map<string, SetElement>();
    for (const [key, e] of set.elements) if (e.end === null || e.end > now) elements.set(key, e);
    return Promise.resolve({ elements, foreign: 0, interval: set.interval });
  }

  /** Someone runs `nft flush set inet fleetban SET` by hand. */
  flushByHand(name: BanSet): void {
    this.#state.sets.get(name)?.elements.clear();
  }

  /** Rules per chain, for tests of the ruleset. */
  chains(): ReadonlyMap<string, number> {
    return new Map([...this.#state.chains].map(([name, rules]) => [name, rules.length]));
  }
}

function cloneState(s: State): State {
  return {
    table: s.table,
    chains: new Map([...s.chains].map(([name, rules]) => [name, [...rules]])),
    sets: new Map(
      [...s.sets].map(([name, set]) => [
        name,
        { interval: set.interval, elements: new Map(set.elements) },
      ]),
    ),
  };
}

function applyCommand(
  state: State,
  command: Readonly<Record<string, unknown>>,
  now: EpochMs,
): void {
  const [verb, body] = Object.entries(command)[0] ?? [];
  const [kind, spec] =
    Object.entries((body ?? {}) as Record<string, Record<string, unknown>>)[0] ?? [];
  if (verb === undefined || kind === undefined || spec === undefined)
    throw new Error('empty command');
  const name =
    typeof spec.name === 'string' ? spec.name : typeof spec.chain === 'string' ? spec.chain : '';
  if (kind !== 'table' && (!state.table || spec.table !== NFT_TABLE))
    throw new Error('No such file or directory');
  switch (`${verb} ${kind}`) {
    case 'add table':
      state.table = true;
      return;
    case 'delete table':
      if (!state.table) throw new Error('No such file or directory');
      state.table = false;
      state.chains.clear();
      state.sets.clear();
      return;
    case 'add set': {
      const interval = Array.isArray(spec.flags) && spec.flags.includes('interval');
      const present = state.sets.get(name);
      if (present === undefined) state.sets.set(name, { interval, elements: new Map() });
      else if (present.interval !== interval)
        throw new Error('Could not process rule: File exists');
      return;
    }
    case 'delete set':
      setOf(state, name);
      for (const rules of state.chains.values()) {
        if (rules.includes(name))
          throw new Error('Could not process rule: Device or resource busy');
      }
      state.sets.delete(name);
      return;
    case 'flush set':
      setOf(state, name).elements.clear();
      return;
    case 'add chain':
      if (!state.chains.has(name)) state.chains.set(name, []);
      return;
    case 'delete chain':
    case 'flush chain':
      if (!state.chains.has(name)) throw new Error('No such file or directory');
      if (verb === 'delete') state.chains.delete(name);
      else state.chains.set(name, []);
      return;
    case 'add rule': {
      const lookup = /"right":"@([^"]+)"/.exec(JSON.stringify(spec.expr));
      state.chains.set(name, [...(state.chains.get(name) ?? []), lookup?.[1] ?? '']);
      return;
    }
    case 'add element':
    case 'delete element': {
      const { interval, elements: set } = setOf(state, name);
      for (const e of Array.isArray(spec.elem) ? spec.elem : []) {
        const element = toElement(e, name, interval, now);
        const present = set.get(element.key);
        const alive = present !== undefined && (present.end === null || present.end > now);
        if (verb === 'delete') {
          if (!alive)
            throw new Error(
              'Could not process rule: No such file or directory (element does not exist)',
            );
          set.delete(element.key);
          continue;
        }
        for (const other of interval ? set.values() : []) {
          if (other.key === element.key || (other.end !== null && other.end <= now)) continue;
          if (cidrContains(other.cidr, element.cidr) || cidrContains(element.cidr, other.cidr)) {
            throw new Error('interval overlaps with an existing one');
          }
        }
        set.set(element.key, element);
      }
      return;
    }
    default:
      throw new Error(`unsupported command ${verb} ${kind}`);
  }
}

function setOf(state: State, name: string): MemorySet {
  const set = state.sets.get(name);
  if (set === undefined) throw new Error('No such file or directory');
  return set;
}

function toElement(raw: unknown, name: string, interval: boolean, now: EpochMs): SetElement {
  let val = raw;
  let end: EpochMs | null = null;
  if (typeof raw === 'object' && raw !== null && 'elem' in raw) {
    const elem = (raw as { elem: { val: unknown; timeout?: unknown } }).elem;
    val = elem.val;
    if (typeof elem.timeout === 'number') end = now + elem.timeout * 1000;
  }
  let cidr: Cidr | null = null;
  if (typeof val === 'string') cidr = isBanSet(name) ? cidrOfValue(val, name) : parseCidr(val);
  else if (typeof val === 'object' && val !== null && 'prefix' in val) {
    if (!interval) {
      throw new Error(
        "You must add 'flags interval' to your set declaration if you want to add prefix elements",
      );
    }
    const p = (val as { prefix: { addr: string; len: number } }).prefix;
    cidr = parseCidr(`${p.addr}/${p.len}`);
  }
  if (cidr === null) throw new Error(`invalid element ${JSON.stringify(raw)}`);
  return setElement(cidr, end);
}

function isBanSet(name: string): name is BanSet {
  return (BAN_SETS as readonly string[]).includes(name);
}
