// The admin API's route table: method + path → facade call; the only place URLs are spelt out.
import { ErrorCode, FleetbanError } from '../core/errors.js';
import { parseBanBody } from './ban-body.js';
import { METRICS_CONTENT_TYPE, renderMetrics, type MetricFamily } from './metrics.js';
import type { ControlPlane } from './plane.js';

export interface RouteContext {
  /** Decoded path captures, in order. */
  readonly params: readonly string[];
  readonly query: URLSearchParams;
  /** The request body as a JSON object (bounded; `{}` when empty). */
  body(): Promise<Record<string, unknown>>;
}

export type RouteResult =
  | { readonly kind: 'json'; readonly status: number; readonly body: unknown }
  | {
      readonly kind: 'text';
      readonly status: number;
      readonly contentType: string;
      readonly text: string;
    };

export interface RouteDeps {
  readonly plane: ControlPlane;
  /** The admin server's own metrics, appended to the facade's on /metrics. */
  readonly adminMetrics: () => MetricFamily[];
}

export interface Route {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** Matched against the raw (still percent-encoded) path, so an encoded '/' stays in a capture. */
  readonly path: RegExp;
  /** Stable label for request metrics. */
  readonly name: string;
  handle(deps: RouteDeps, ctx: RouteContext): RouteResult | Promise<RouteResult>;
}

const json = (body: unknown, status = 200): RouteResult => ({ kind: 'json', status, body });

export const routes: readonly Route[] = [
  {
    method: 'GET',
    path: /^\/v1\/status$/,
    name: 'status',
    handle: ({ plane }) => json(plane.status()),
  },
  {
    method: 'GET',
    path: /^\/v1\/cluster$/,
    name: 'cluster',
    handle: async ({ plane }) => json(await plane.cluster()),
  },
  {
    method: 'GET',
    path: /^\/v1\/jails\/([^/]+)$/,
    name: 'jail',
    handle: ({ plane }, { params }) => json(plane.jailStatus(params[0] ?? '')),
  },
  {
    method: 'GET',
    path: /^\/v1\/bans$/,
    name: 'bans',
    handle: async ({ plane }, { query }) => {
      const jail = query.get('jail');
      return json({ bans: await plane.bans(jail === null || jail === '' ? {} : { jail }) });
    },
  },
  {
    method: 'POST',
    path: /^\/v1\/bans$/,
    name: 'ban',
    handle: async ({ plane }, ctx) =>
      json({ ban: await plane.ban(parseBanBody(await ctx.body())) }, 201),
  },
  {
    method: 'DELETE',
    // CIDR targets arrive either encoded (%2F) or as a literal second segment.
    path: /^\/v1\/bans\/(.+)$/,
    name: 'unban',
    handle: async ({ plane }, { params }) =>
      json({ unbanned: await plane.unban({ target: params[0] ?? '' }) }),
  },
  {
    method: 'DELETE',
    path: /^\/v1\/bans$/,
    name: 'unban_all',
    handle: async ({ plane }, { query }) => {
      if (query.get('all') !== 'true') {
        throw new FleetbanError(
          ErrorCode.REQUEST_INVALID,
          'to lift every ban, send DELETE /v1/bans?all=true; to lift one, DELETE /v1/bans/TARGET',
        );
      }
      return json({ unbanned: await plane.unban({ all: true }) });
    },
  },
  {
    method: 'POST',
    path: /^\/v1\/reload$/,
    name: 'reload',
    handle: async ({ plane }) => json(await plane.reload()),
  },
  {
    method: 'GET',
    path: /^\/v1\/senders$/,
    name: 'senders',
    handle: ({ plane }) => json({ senders: plane.senders() }),
  },
  {
    method: 'GET',
    path: /^\/metrics$/,
    name: 'metrics',
    handle: ({ plane, adminMetrics }) => ({
      kind: 'text',
      status: 200,
      contentType: METRICS_CONTENT_TYPE,
      text: renderMetrics([...plane.metrics(), ...adminMetrics()]),
    }),
  },
  {
    method: 'GET',
    path: /^\/healthz$/,
    name: 'healthz',
    handle: ({ plane }) => {
      const report = plane.health();
      return json(report, report.ok ? 200 : 503);
    },
  },
];

/**
 * A route table mounted beside the built-in one by the composition root (e.g. the agent
 * registry's routes), with the metrics it adds to /metrics. Its routes ignore `RouteDeps`.
 */
export interface AdminExtension {
  readonly routes: readonly Route[];
  metrics(): MetricFamily[];
}

export interface RouteMatch {
  readonly route: Route;
  readonly params: readonly string[];
}

/** Finds the route for a request; throws NOT_FOUND (one status for unknown paths and methods). */
export function matchRoute(
  method: string,
  rawPath: string,
  extra: readonly Route[] = [],
): RouteMatch {
  for (const route of [...routes, ...extra]) {
    if (route.method !== method) continue;
    const m = route.path.exec(rawPath);
    if (m === null) continue;
    return { route, params: m.slice(1).map((p) => decodeParam(p)) };
  }
  throw new FleetbanError(ErrorCode.NOT_FOUND, `no such endpoint: ${method} ${rawPath}`);
}

function decodeParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch (e) {
    throw new FleetbanError(ErrorCode.REQUEST_INVALID, `bad percent-encoding in ${raw}`, {
      cause: e,
    });
  }
}
