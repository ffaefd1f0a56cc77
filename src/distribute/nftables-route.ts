// GET /v1/nftables: the active bans as one libnftables JSON document, for gateways that load it with `nft -j -f`.
import type { ServerResponse } from 'node:http';
import type { Clock } from '../core/clock.js';
import { ErrorCode, FleetbanError } from '../core/errors.js';
import type { BanStore } from '../store/store.js';
import { toBanEntry } from './ban-entry.js';
import { Hook } from '../nft/render.js';
import { NftVerdict, renderNftablesDocument } from './nftables-document.js';
import { NftMode, type BanEntry } from './protocol.js';
import type { WithheldBans } from './withheld-bans.js';

export interface NftablesRouteDeps {
  readonly store: Pick<BanStore, 'active' | 'stats'>;
  readonly clock: Clock;
  readonly withheld: WithheldBans;
}

/**
 * Answers one request (query: `mode`, `verdict`, `hooks`: chains by hook, separated by commas,
 * such as `prerouting` or `input,prerouting`); throws REQUEST_INVALID for a bad query.
 */
export function serveNftables(
  res: ServerResponse,
  query: URLSearchParams,
  deps: NftablesRouteDeps,
): void {
  const mode = oneOf(query, 'mode', Object.values(NftMode), NftMode.HOST);
  const verdict = oneOf(query, 'verdict', Object.values(NftVerdict), NftVerdict.DROP);
  const hooks = hookList(query);
  const entries: BanEntry[] = [];
  for (const ban of deps.store.active())
    if (!deps.withheld.withheld('nftables', ban.target)) entries.push(toBanEntry(ban));
  const report = renderNftablesDocument(entries, {
    mode,
    hooks,
    verdict,
    now: deps.clock.now(),
  });
  const text = `${JSON.stringify(report.document)}\n`;
  res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-fleetban-seq': String(deps.store.stats().lastSeq),
  });
  res.end(text);
}

function oneOf<T extends string>(
  query: URLSearchParams,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const text = query.get(name) ?? fallback;
  const found = allowed.find((a) => a === text);
  if (found === undefined)
    throw new FleetbanError(
      ErrorCode.REQUEST_INVALID,
      `${name} must be one of ${allowed.join(', ')}`,
    );
  return found;
}

/** `hooks=input,prerouting` → the hooks; absent or empty → none (the chains of `mode`). */
function hookList(query: URLSearchParams): Hook[] {
  const allowed: readonly Hook[] = Object.values(Hook);
  const hooks: Hook[] = [];
  for (const text of (query.get('hooks') ?? '').split(',')) {
    if (text === '') continue;
    const found = allowed.find((a) => a === text);
    if (found === undefined)
      throw new FleetbanError(
        ErrorCode.REQUEST_INVALID,
        `hooks must name chains out of ${allowed.join(', ')}, separated by commas; got ${JSON.stringify(text)}`,
      );
    if (!hooks.includes(found)) hooks.push(found);
  }
  return hooks;
}
