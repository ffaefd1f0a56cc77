// The admin API's feed token routes (POST/GET /v1/feeds, DELETE /v1/feeds/NAME): read-only tokens for the gateway feeds.
import type { EpochMs } from '../core/clock.js';
import { ErrorCode, FleetbanError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { AdminExtension, Route, RouteResult } from '../control/routes.js';
import type { TokenDirectory, TokenRecord } from './token-registry.js';

/** One feed token as `fleetban feeds list` shows it: never the digest. */
export interface FeedReport {
  readonly name: string;
  readonly created: EpochMs;
  /** Last time a feed was read with this token; null = never. */
  readonly lastContact: EpochMs | null;
}

/** The answer to `POST /v1/feeds`: the only time the token is ever shown. */
export interface AddedFeed {
  readonly feed: FeedReport;
  readonly token: string;
}

const json = (body: unknown, status = 200): RouteResult => ({ kind: 'json', status, body });

function reportOf(r: TokenRecord): FeedReport {
  return { name: r.name, created: r.created, lastContact: r.lastContact };
}

/** Mounted even when the agent API is off, as the agents' routes are. */
export function feedsAdminExtension(feeds: TokenDirectory, logger: Logger): AdminExtension {
  const routes: readonly Route[] = [
    {
      method: 'POST',
      path: /^\/v1\/feeds$/,
      name: 'feed_add',
      handle: async (_deps, ctx) => {
        const { name } = await ctx.body();
        if (typeof name !== 'string') {
          throw new FleetbanError(ErrorCode.REQUEST_INVALID, 'body must be {"name": "FEED"}');
        }
        const { record, token } = await feeds.add(name);
        logger.info({ feed: name }, 'feed token added');
        const added: AddedFeed = { feed: reportOf(record), token };
        return json(added, 201);
      },
    },
    {
      method: 'GET',
      path: /^\/v1\/feeds$/,
      name: 'feeds',
      handle: () => json({ feeds: feeds.list().map(reportOf) }),
    },
    {
      method: 'DELETE',
      path: /^\/v1\/feeds\/([^/]+)$/,
      name: 'feed_remove',
      handle: async (_deps, { params }) => {
        const removed = await feeds.remove(params[0] ?? '');
        logger.info({ feed: removed.name }, 'feed token removed');
        return json({ removed: removed.name });
      },
    },
  ];
  return { routes, metrics: () => [] };
}
