// An in-memory firewall that enforces nft 1.0.6's measured rules: for agent tests without root.
import type { Clock, EpochMs } from '../core/clock.js';
import { ErrorCode, FleetbanError } from '../core/errors.js';
import { cidrContains, parseCidr, type IpFamily } from '../core/ip.js';
import { NFT_TABLE, SET_OF_FAMILY, setElement, type SetElement } from './element.js';
import type { Firewall } from './firewall.js';
import type { ListedSet } from './parse-list.js';
import type { NftDocument } from './render.js';

interface State {
  table: boolean;
  chains: Map<string, number>;
  sets: Map<string, Map<string, SetElement>>;
}

/**
 * Models what fleetban relies on and what bit others: a batch is all or nothing; an element that
 * overlaps a present one fails the batch; deleting an absent element fails the batch; re-adding
 * replaces the timeout; the kernel drops expired elements on its own.
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

  list(family: IpFamily): Promise<ListedSet | null> {
    const set = this.#state.sets.get(SET_OF_FAMILY[family]);
    if (!this.#state.table || set === undefined) return Promise.resolve(null);
    const now = this.#clock.now();
    const elements = new Map<string, SetElement>();
    for (const [key, e] of set) if (e.end === null || e.end > now) elements.set(key, e);
    return Promise.resolve({ elements, foreign: 0 });
  }

  /** Someone runs `nft flush set inet fleetban banned_vN` by hand. */
  flushByHand(family: IpFamily): void {
    this.#state.sets.get(SET_OF_FAMILY[family])?.clear();
  }

  /** Rules per chain, for tests of the ruleset. */
  chains(): ReadonlyMap<string, number> {
    return this.#state.chains;
  }
}

function cloneState(s: State): State {
  return {
    table: s.table,
    chains: new Map(s.chains),
    sets: new Map([...s.sets].map(([name, set]) => [name, new Map(set)])),
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
    case 'add set':
      if (!state.sets.has(name)) state.sets.set(name, new Map());
      return;
    case 'flush set':
      setOf(state, name).clear();
      return;
    case 'add chain':
      if (!state.chains.has(name)) state.chains.set(name, 0);
      return;
    case 'delete chain':
    case 'flush chain':
      if (!state.chains.has(name)) throw new Error('No such file or directory');
      if (verb === 'delete') state.chains.delete(name);
      else state.chains.set(name, 0);
      return;
    case 'add rule':
      state.chains.set(name, (state.chains.get(name) ?? 0) + 1);
      return;
    case 'add element':
    case 'delete element': {
      const set = setOf(state, name);
      for (const e of Array.isArray(spec.elem) ? spec.elem : []) {
        const element = toElement(e, now);
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
        for (const other of set.values()) {
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

function setOf(state: State, name: string): Map<string, SetElement> {
  const set = state.sets.get(name);
  if (set === undefined) throw new Error('No such file or directory');
  return set;
}

function toElement(raw: unknown, now: EpochMs): SetElement {
  let val = raw;
  let end: EpochMs | null = null;
  if (typeof raw === 'object' && raw !== null && 'elem' in raw) {
    const elem = (raw as { elem: { val: unknown; timeout?: unknown } }).elem;
    val = elem.val;
    if (typeof elem.timeout === 'number') end = now + elem.timeout * 1000;
  }
  let text = '';
  if (typeof val === 'string') text = val;
  else if (typeof val === 'object' && val !== null && 'prefix' in val) {
    const p = (val as { prefix: { addr: string; len: number } }).prefix;
    text = `${p.addr}/${p.len}`;
  }
  const cidr = parseCidr(text);
  if (cidr === null) throw new Error(`invalid element ${JSON.stringify(raw)}`);
  return setElement(cidr, end);
}
