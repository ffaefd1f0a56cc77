// GET /v1/blocklist.txt: the active bans as plain text, one address or prefix per line, streamed, for gateways that poll a URL.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline, Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { JAIL_NAME } from '../core/types.js';
import { ErrorCode, FleetbanError } from '../core/errors.js';
import type { IpFamily } from '../core/ip.js';
import type { Logger } from '../core/logger.js';
import type { BanStore } from '../store/store.js';
import { BlocklistQuery } from './protocol.js';
import type { WithheldBans } from './withheld-bans.js';

export interface BlocklistRouteDeps {
  readonly store: Pick<BanStore, 'activeTargets' | 'get' | 'stats'>;
  readonly withheld: WithheldBans;
  readonly log: Logger;
}

/** Which bans a request asks for; null = any. */
interface BlocklistFilter {
  readonly family: IpFamily | null;
  readonly jail: string | null;
}

/** Text gathered before it is handed on: few writes, and never more than this held per chunk. */
const CHUNK_CHARS = 16 * 1024;

/**
 * Answers one request (query: `family`, `jail`); throws REQUEST_INVALID for a bad query. The
 * ETag names the store's last sequence number, the never-ban list's generation and the filters,
 * so it changes whenever the body can; a matching If-None-Match gets 304 and no body.
 */
export function serveBlocklist(
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  deps: BlocklistRouteDeps,
): void {
  const filter = filterOf(query);
  const tag = [
    deps.store.stats().lastSeq,
    deps.withheld.generation,
    filter.family ?? 'all',
    filter.jail ?? '*',
  ].join('.');
  const plainTag = `"${tag}"`;
  const gzipTag = `"${tag}.gz"`;
  const gzip = acceptsGzip(req.headers['accept-encoding']);
  const headers = {
    etag: gzip ? gzipTag : plainTag,
    'cache-control': 'no-cache',
    vary: 'accept-encoding',
  };
  // Either encoding's tag: the client's copy holds the same lines.
  if (matchesAny(req.headers['if-none-match'], [plainTag, gzipTag])) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, {
    ...headers,
    'content-type': 'text/plain; charset=utf-8',
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
  });
  // Readable.from pulls the next chunk only when the response has drained: backpressure end to end.
  const body = Readable.from(chunks(deps, filter), { objectMode: false });
  // Called with no error (undefined, not null) once the last byte is out.
  const done = (e?: NodeJS.ErrnoException | null): void => {
    // A client that hangs up mid-list is not an error of the server's.
    if (e === undefined || e === null || e.code === 'ERR_STREAM_PREMATURE_CLOSE') return;
    deps.log.error({ err: e }, 'blocklist response failed');
  };
  if (gzip) pipeline(body, createGzip(), res, done);
  else pipeline(body, res, done);
}

/** The body, a chunk at a time, walking the store's targets without making ban objects. */
function* chunks(deps: BlocklistRouteDeps, filter: BlocklistFilter): Generator<string> {
  let chunk = '';
  for (const target of deps.store.activeTargets()) {
    if (filter.family !== null && familyOf(target) !== filter.family) continue;
    if (filter.jail !== null && deps.store.get(target)?.jail !== filter.jail) continue;
    if (deps.withheld.withheld('blocklist', target)) continue;
    chunk += `${target}\n`;
    if (chunk.length >= CHUNK_CHARS) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
}

/** Canonical target text: only IPv6 holds a colon. */
function familyOf(target: string): IpFamily {
  return target.includes(':') ? 6 : 4;
}

function filterOf(query: URLSearchParams): BlocklistFilter {
  const family = query.get(BlocklistQuery.FAMILY);
  if (family !== null && family !== '4' && family !== '6')
    throw new FleetbanError(ErrorCode.REQUEST_INVALID, `${BlocklistQuery.FAMILY} must be 4 or 6`);
  const jail = query.get(BlocklistQuery.JAIL);
  if (jail !== null && !JAIL_NAME.test(jail))
    throw new FleetbanError(
      ErrorCode.REQUEST_INVALID,
      `${BlocklistQuery.JAIL} must be a jail name: 1-64 letters, digits, '_', '.' or '-'`,
    );
  return { family: family === null ? null : family === '4' ? 4 : 6, jail };
}

/** Whether an If-None-Match header names one of `tags` (or `*`); weak tags compare as strong. */
function matchesAny(header: string | undefined, tags: readonly string[]): boolean {
  if (header === undefined) return false;
  return header.split(',').some((raw) => {
    const tag = raw.trim().replace(/^W\//, '');
    return tag === '*' || tags.includes(tag);
  });
}

/** Whether Accept-Encoding allows gzip (listed without q=0). */
function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false;
  return header.split(',').some((part) => {
    const [coding = '', ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    if (coding !== 'gzip' && coding !== 'x-gzip') return false;
    const q = params.find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}
