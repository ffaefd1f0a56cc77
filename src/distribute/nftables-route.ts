// GET /v1/nftables: the active bans as one libnftables JSON document, for gateways that load it with `nft -j -f`.
import type { ServerResponse } from 'node:http';
import { pipeline, Readable } from 'node:stream';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { ErrorCode, FleetbanError } from '../core/errors.js';
import type { BanStore } from '../store/store.js';
import { Hook } from '../nft/render.js';
import { NftVerdict, renderNftablesText } from './nftables-document.js';
import { NftMode } from './protocol.js';
import type { WithheldBans } from './withheld-bans.js';

export interface NftablesRouteDeps {
  readonly store: Pick<BanStore, 'activeTargets' | 'endOf' | 'stats'>;
  readonly clock: Clock;
  readonly withheld: WithheldBans;
  readonly log: Logger;
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
  const { store, withheld } = deps;
  const bans = {
    *targets(): Generator<string> {
      for (const target of store.activeTargets())
        if (!withheld.withheld('nftables', target)) yield target;
    },
    endOf: (target: string) => store.endOf(target),
  };
  res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-fleetban-seq': String(deps.store.stats().lastSeq),
  });
  // Streamed: Readable.from pulls the next piece only when the response has drained.
  const body = Readable.from(
    batched(renderNftablesText(bans, { mode, hooks, verdict, now: deps.clock.now() })),
    { objectMode: false },
  );
  pipeline(body, res, (e?: NodeJS.ErrnoException | null) => {
    // A client that hangs up mid-document is not an error of the server's.
    if (e === undefined || e === null || e.code === 'ERR_STREAM_PREMATURE_CLOSE') return;
    deps.log.error({ err: e }, 'nftables response failed');
  });
}

/** Joins small pieces into chunks of about CHUNK_CHARS: few writes, little held. */
function* batched(pieces: Iterable<string>): Generator<string> {
  let chunk = '';
  for (const piece of pieces) {
    chunk += piece;
    if (chunk.length >= CHUNK_CHARS) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
}

const CHUNK_CHARS = 64 * 1024;

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
