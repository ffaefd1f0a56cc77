// The JSON API the dashboard pages call (/api/…): reads for every user, bans and unbans for admins only.
import { ErrorCode, FleetbanError } from '../core/errors.js';
import type { Ban } from '../core/types.js';
import { parseBanBody } from '../control/ban-body.js';
import type { ControlPlane } from '../control/plane.js';
import type { AgentReport } from '../distribute/agent-api.js';
import type { BanStore } from '../store/store.js';
import { attackerReport } from './attacker.js';
import type { BanIndex } from './ban-index.js';
import type { OverviewReport } from './overview.js';
import type { Session } from './sessions.js';

export interface ApiDeps {
  readonly plane: ControlPlane;
  readonly store: BanStore;
  readonly index: BanIndex;
  readonly jails: () => string[];
  readonly overview: () => OverviewReport;
  /** The agents as `fleetban agents list` shows them; absent: the server has no agent API. */
  readonly agents?: () => AgentReport[];
  /** store.historyRetention in ms, for when an attacker's history is forgotten; absent: not shown. */
  readonly historyRetentionMs?: () => number;
  /** Who banned or unbanned what from the dashboard: one log line each. */
  readonly audit: (fields: Record<string, unknown>, message: string) => void;
}

export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly session: Session;
  body(): Promise<Record<string, unknown>>;
}

export interface ApiResult {
  readonly status: number;
  readonly body: unknown;
}

/** Rows per page of /api/bans when the page asks for none, and at most. */
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;

export async function handleApi(d: ApiDeps, r: ApiRequest): Promise<ApiResult> {
  const route = `${r.method} ${r.path}`;
  switch (route) {
    case 'GET /api/session':
      return ok({ user: r.session.user, role: r.session.role, expires: r.session.expires });
    case 'GET /api/overview':
      return ok(d.overview());
    case 'GET /api/jails':
      return ok({ jails: d.jails() });
    case 'GET /api/bans':
      return ok(bansPage(d, r.query));
    case 'GET /api/attacker':
      return ok(await attackerReport(d.store, r.query.get('ip') ?? '', d.historyRetentionMs?.()));
    case 'GET /api/jails/status':
      return ok({ jails: d.plane.status().jails });
    case 'GET /api/agents':
      return ok({ lastSeq: d.store.stats().lastSeq, agents: d.agents?.() ?? [] });
    case 'GET /api/senders':
      return ok({ senders: d.plane.senders() });
    case 'POST /api/bans': {
      admin(r.session, 'ban');
      const ban = await d.plane.ban(parseBanBody(await r.body()));
      d.audit(
        { user: r.session.user, target: ban.target, jail: ban.jail, end: ban.end },
        `dashboard: ${r.session.user} banned ${ban.target}`,
      );
      return { status: 201, body: { ban } };
    }
    case 'POST /api/unban': {
      admin(r.session, 'unban');
      const { target } = await r.body();
      if (typeof target !== 'string' || target === '') {
        throw new FleetbanError(ErrorCode.REQUEST_INVALID, 'body must be {"target": "IP or CIDR"}');
      }
      const unbanned = await d.plane.unban({ target });
      d.audit(
        { user: r.session.user, targets: unbanned.map((b) => b.target) },
        `dashboard: ${r.session.user} unbanned ${unbanned.map((b) => b.target).join(', ')}`,
      );
      return ok({ unbanned });
    }
    default:
      throw new FleetbanError(ErrorCode.NOT_FOUND, `no such endpoint: ${route}`);
  }
}

function ok(body: unknown): ApiResult {
  return { status: 200, body };
}

function admin(session: Session, what: string): void {
  if (session.role !== 'admin') {
    throw new FleetbanError(
      ErrorCode.FORBIDDEN,
      `${session.user} is a viewer: only admins may ${what}`,
    );
  }
}

/** `?jail=J&prefix=P&before=SEQ&limit=N`: one page, newest first, with the total and the next cursor. */
function bansPage(
  d: ApiDeps,
  q: URLSearchParams,
): { bans: Ban[]; next: number | null; total: number } {
  const jail = q.get('jail') ?? '';
  const prefix = (q.get('prefix') ?? '').trim();
  const before = q.get('before');
  const limitText = q.get('limit');
  const limit = limitText === null ? DEFAULT_LIMIT : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new FleetbanError(ErrorCode.REQUEST_INVALID, `limit must be 1 to ${MAX_LIMIT}`);
  }
  if (before !== null && !/^\d+$/.test(before)) {
    throw new FleetbanError(ErrorCode.REQUEST_INVALID, 'before must be a sequence number');
  }
  if (prefix.length > 64) {
    throw new FleetbanError(ErrorCode.REQUEST_INVALID, 'prefix is longer than 64 characters');
  }
  const page = d.index.page({
    limit,
    ...(jail !== '' ? { jail } : {}),
    ...(prefix !== '' ? { prefix } : {}),
    ...(before !== null ? { before: Number(before) } : {}),
  });
  const bans: Ban[] = [];
  for (const target of page.targets) {
    const ban = d.store.get(target);
    if (ban !== undefined) bans.push(ban);
  }
  return { bans, next: page.next, total: page.total };
}
