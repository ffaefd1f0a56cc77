// The dashboard listener: sign-in, sessions, CSRF and Origin checks, CSP, static assets, pages, JSON API and live events.
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../core/clock.js';
import { describeError, ErrorCode, FleetbanError, isFleetbanError } from '../core/errors.js';
import { listenOrFail } from '../core/listen.js';
import type { Logger } from '../core/logger.js';
import { readTlsFile } from '../core/tls-files.js';
import { AuthLimiter, throttledError, type AuthLimitOptions } from '../control/auth-limiter.js';
import { readJsonObject, sendError, sendJson } from '../control/http-io.js';
import type { MetricFamily } from '../control/metrics.js';
import type { ControlPlane } from '../control/plane.js';
import type { AgentReport } from '../distribute/agent-api.js';
import type { BanStore } from '../store/store.js';
import { handleApi } from './api.js';
import { loadAssets, type Asset } from './assets.js';
import { BanIndex } from './ban-index.js';
import { EventHub } from './events.js';
import { FAILURE_SAMPLE_MS, OverviewFigures, type OverviewReport } from './overview.js';
import { BanTops, START_DETAILS } from './overview-tops.js';
import { appPage, loginPage, PAGES, type PageName } from './pages.js';
import { cookieValue, csrfMatches, Sessions, type Session } from './sessions.js';
import type { UserDirectory } from './users.js';

export interface DashboardOptions {
  readonly address: string;
  readonly port: number;
  readonly tls: { readonly cert: string; readonly key: string };
  readonly sessionTtlMs: number;
  readonly authLimit: AuthLimitOptions;
}

export interface DashboardDeps {
  /** The same facade the admin API uses: bans and unbans go through it. */
  readonly plane: ControlPlane;
  readonly store: BanStore;
  readonly users: UserDirectory;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Failures the jails counted since start (all jails): a cheap counter read. */
  readonly failures: () => number;
  /** Jail names, for the filter and ban form. */
  readonly jails: () => string[];
  /** Senders flagged silent now (ingest.silentAfter); absent: none. */
  readonly silentSenders?: () => OverviewReport['silentSenders'];
  /** The agents and their feed positions (the agent API's report); absent: none. */
  readonly agents?: () => AgentReport[];
  /** Tells a token of another kind (a read-only feed token) from a wrong one: its 403 message. */
  readonly foreignToken?: (token: string) => string | undefined;
  /** store.historyRetention in ms, read per request (a reload may change it); absent: not shown. */
  readonly historyRetentionMs?: () => number;
}

/** Login and API bodies are small. */
const BODY_LIMIT = 16 * 1024;

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const COOKIE = 'fleetban_session';

/**
 * Who may do what: no session → only the sign-in page, its script and assets; a viewer reads;
 * an admin also posts bans and unbans. Every POST needs a same-origin `Origin` header, and
 * every POST but the sign-in itself the session's CSRF token in `x-csrf-token`.
 */
export class DashboardServer {
  readonly #o: DashboardOptions;
  readonly #d: DashboardDeps;
  readonly #log: Logger;
  readonly #sessions: Sessions;
  readonly #limiter: AuthLimiter;
  readonly #index = new BanIndex();
  readonly #figures: OverviewFigures;
  readonly #tops: BanTops;
  readonly #events: EventHub;
  #assets = new Map<string, Asset>();
  #server: Server | undefined;
  #sampler: NodeJS.Timeout | undefined;
  #secure = false;

  constructor(options: DashboardOptions, deps: DashboardDeps) {
    this.#o = options;
    this.#d = deps;
    this.#log = deps.logger;
    this.#sessions = new Sessions(deps.clock, options.sessionTtlMs);
    this.#limiter = new AuthLimiter(options.authLimit, deps.logger, 'dashboard sign-in');
    this.#figures = new OverviewFigures(deps.clock, deps.failures);
    this.#tops = new BanTops((target) => deps.store.details(target));
    this.#events = new EventHub(
      () => JSON.stringify(this.overview()),
      (id) => this.#sessions.get(id) !== undefined,
    );
  }

  /** The dashboard's part of /metrics. */
  metrics(): MetricFamily[] {
    return [
      {
        name: 'fleetban_dashboard_sessions',
        help: 'Dashboard sessions signed in and not expired or ended (expired ones are counted until next looked at).',
        type: 'gauge',
        samples: [{ value: this.#sessions.size }],
      },
      {
        name: 'fleetban_dashboard_event_streams',
        help: 'Dashboard pages following the live events now.',
        type: 'gauge',
        samples: [{ value: this.#events.size }],
      },
      {
        name: 'fleetban_dashboard_signin_failures_total',
        help: 'Dashboard sign-ins refused for a missing or wrong token.',
        type: 'counter',
        samples: [{ value: this.#limiter.failures }],
      },
      ...this.#limiter.metrics('fleetban_dashboard', 'dashboard sign-in'),
    ];
  }

  /** Ends every session of a removed user. */
  endUser(name: string): void {
    this.#sessions.endUser(name);
  }

  overview(): OverviewReport {
    const tops = this.#tops.top(10);
    return {
      ...this.#figures.report(this.#index.size, this.#index.topJails(5)),
      topHosts: tops.hosts,
      hostsCounted: this.#tops.hostsCounted,
      topNetworks: tops.networks,
      silentSenders: this.#d.silentSenders?.() ?? [],
    };
  }

  get index(): BanIndex {
    return this.#index;
  }

  /** Loads assets, indexes the active bans, then listens. Resolves with the bound address and URL. */
  async start(): Promise<{ address: string; port: number; url: string }> {
    this.#assets = await loadAssets();
    this.#figures.lastSeq = this.#d.store.stats().lastSeq;
    this.#index.start(
      this.#d.store,
      (ban) => {
        this.#figures.countBan(ban.start);
        this.#tops.seen(ban);
      },
      (changes, replaced) => {
        this.#figures.apply(changes);
        this.#tops.apply(changes, replaced);
        this.#events.changed();
      },
    );
    // In the background: the page shows the hosts as they are read (hostsCounted).
    this.#tops
      .readHosts(
        this.#index.page({ limit: START_DETAILS }).targets,
        (t) => this.#d.store.get(t) !== undefined,
      )
      .then(
        () => {
          this.#events.changed();
        },
        (e: unknown) => {
          this.#log.warn({ err: e }, 'dashboard: reading ban hosts failed');
        },
      );
    this.#figures.sample();
    this.#sampler = setInterval(() => {
      this.#figures.sample();
      this.#events.changed();
    }, FAILURE_SAMPLE_MS);
    this.#sampler.unref();
    const { cert, key } = this.#o.tls;
    if ((cert === '') !== (key === '')) {
      throw new FleetbanError(
        ErrorCode.TLS_CONFIG_INVALID,
        'dashboard.tls.cert and dashboard.tls.key go together: set both for HTTPS, or neither for plain HTTP',
      );
    }
    this.#secure = cert !== '';
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      void this.#handle(req, res);
    };
    const server = this.#secure
      ? createHttpsServer(
          {
            cert: await readTlsFile('dashboard.tls.cert', cert),
            key: await readTlsFile('dashboard.tls.key', key),
          },
          handler,
        )
      : createHttpServer(handler);
    server.headersTimeout = 20_000;
    server.requestTimeout = 30_000;
    const where = `${this.#o.address}:${this.#o.port}`;
    await listenOrFail(
      server,
      { host: this.#o.address, port: this.#o.port },
      `dashboard cannot listen on ${where}`,
    );
    this.#server = server;
    const bound = server.address() as AddressInfo;
    const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
    const url = `${this.#secure ? 'https' : 'http'}://${host}:${bound.port}/`;
    return { address: bound.address, port: bound.port, url };
  }

  async close(): Promise<void> {
    clearInterval(this.#sampler);
    this.#index.close();
    this.#events.close();
    this.#limiter.close();
    const server = this.#server;
    if (server === undefined || !server.listening) return;
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
      server.closeAllConnections();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.#route(req, res);
    } catch (e) {
      let error: FleetbanError;
      if (isFleetbanError(e)) error = e;
      else {
        this.#log.error({ err: e, method: req.method, url: req.url }, 'dashboard handler threw');
        error = new FleetbanError(
          ErrorCode.INTERNAL,
          `internal error: ${describeError(e)} (see the server log)`,
          { cause: e },
        );
      }
      sendError(res, error, SECURITY_HEADERS);
    }
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
      throw new FleetbanError(ErrorCode.NOT_FOUND, `no such endpoint: ${method} ${path}`);
    }
    if (method === 'POST') this.#checkOrigin(req);
    if (method !== 'POST') {
      const asset = this.#assets.get(path);
      if (asset !== undefined) {
        this.#sendAsset(req, res, asset);
        return;
      }
    }
    const session = this.#sessions.get(cookieValue(req.headers.cookie, COOKIE));
    if (path === '/login') {
      if (method === 'POST') await this.#login(req, res);
      else if (session !== undefined) this.#redirect(res, '/overview');
      else this.#html(res, loginPage());
      return;
    }
    if (session === undefined) {
      if (path.startsWith('/api/') || method === 'POST') {
        throw new FleetbanError(
          ErrorCode.UNAUTHORIZED,
          'not signed in (or the session has ended): sign in again',
        );
      }
      this.#redirect(res, '/login');
      return;
    }
    if (method === 'POST') this.#checkCsrf(req, session);
    if (path === '/logout' && method === 'POST') {
      this.#sessions.end(session.id);
      this.#events.endSession(session.id);
      sendJson(res, 200, { ok: true }, { ...SECURITY_HEADERS, 'set-cookie': this.#cookie('', 0) });
      return;
    }
    if (path === '/' && method !== 'POST') {
      this.#redirect(res, '/overview');
      return;
    }
    const page = path.slice(1);
    if (method !== 'POST' && (PAGES as readonly string[]).includes(page)) {
      this.#html(res, appPage(page as PageName, session));
      return;
    }
    if (path === '/api/events' && method === 'GET') {
      if (!this.#events.open(res, session.id, SECURITY_HEADERS)) {
        throw new FleetbanError(ErrorCode.BUSY, 'too many open dashboards: close one and retry');
      }
      return;
    }
    if (path.startsWith('/api/')) {
      const began = performance.now();
      const result = await handleApi(
        {
          plane: this.#d.plane,
          store: this.#d.store,
          index: this.#index,
          jails: this.#d.jails,
          overview: () => this.overview(),
          ...(this.#d.agents !== undefined ? { agents: this.#d.agents } : {}),
          ...(this.#d.historyRetentionMs !== undefined
            ? { historyRetentionMs: this.#d.historyRetentionMs }
            : {}),
          audit: (fields, message) => {
            this.#log.info(fields, message);
          },
        },
        {
          method,
          path,
          query: url.searchParams,
          session,
          body: () => readJsonObject(req, BODY_LIMIT),
        },
      );
      // Server time in the answer (Server-Timing): the browser's network panel and bench/ read it.
      const dur = (performance.now() - began).toFixed(1);
      sendJson(res, result.status, result.body, {
        ...SECURITY_HEADERS,
        'server-timing': `app;dur=${dur}`,
      });
      return;
    }
    throw new FleetbanError(ErrorCode.NOT_FOUND, `no such page: ${path}`);
  }

  async #login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const remote = req.socket.remoteAddress;
    const wait = this.#limiter.retryAfter(remote);
    if (wait !== null) {
      sendError(res, throttledError(wait), { ...SECURITY_HEADERS, 'retry-after': String(wait) });
      return;
    }
    const { token } = await readJsonObject(req, BODY_LIMIT);
    const user =
      typeof token === 'string' && token !== '' ? this.#d.users.authenticate(token) : undefined;
    if (user === undefined) {
      // Not a guess: refused as what it is, and not counted against the source.
      const foreign = typeof token === 'string' ? this.#d.foreignToken?.(token) : undefined;
      if (foreign !== undefined) throw new FleetbanError(ErrorCode.FORBIDDEN, foreign);
      this.#limiter.failed(remote, typeof token === 'string' && token !== '' ? 'wrong' : 'missing');
      throw new FleetbanError(ErrorCode.UNAUTHORIZED, 'this token belongs to no dashboard user');
    }
    const session = this.#sessions.create(user.name, user.role);
    this.#log.info(
      { user: user.name, role: user.role, remote },
      `dashboard sign-in: ${user.name} (${user.role})`,
    );
    sendJson(
      res,
      200,
      { user: user.name, role: user.role, expires: session.expires },
      {
        ...SECURITY_HEADERS,
        'set-cookie': this.#cookie(session.id, Math.floor(this.#sessions.ttlMs / 1000)),
      },
    );
  }

  /**
   * Cross-site requests carry their own origin (browsers always send `Origin` on POST): only
   * the dashboard's own is accepted, and `Sec-Fetch-Site`, when sent, must say same-origin.
   */
  #checkOrigin(req: IncomingMessage): void {
    const origin = req.headers.origin;
    const host = req.headers.host;
    const expected = `${this.#secure ? 'https' : 'http'}://${host ?? ''}`;
    if (origin === undefined || host === undefined || origin !== expected) {
      throw new FleetbanError(
        ErrorCode.FORBIDDEN,
        `cross-origin request refused: Origin ${origin ?? '(none)'} is not ${expected}`,
      );
    }
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin') {
      throw new FleetbanError(
        ErrorCode.FORBIDDEN,
        `cross-site request refused (Sec-Fetch-Site: ${site})`,
      );
    }
  }

  #checkCsrf(req: IncomingMessage, session: Session): void {
    const presented = req.headers['x-csrf-token'];
    if (!csrfMatches(session, typeof presented === 'string' ? presented : undefined)) {
      throw new FleetbanError(ErrorCode.FORBIDDEN, 'missing or wrong CSRF token: reload the page');
    }
  }

  #cookie(value: string, maxAgeSec: number): string {
    return `${COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSec}${this.#secure ? '; Secure' : ''}`;
  }

  #html(res: ServerResponse, html: string): void {
    const body = Buffer.from(html);
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/html; charset=utf-8',
      'content-length': body.length,
      'cache-control': 'no-store',
    });
    res.end(body);
  }

  #redirect(res: ServerResponse, to: string): void {
    res.writeHead(303, { ...SECURITY_HEADERS, location: to, 'cache-control': 'no-store' });
    res.end();
  }

  #sendAsset(req: IncomingMessage, res: ServerResponse, asset: Asset): void {
    const gzip = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
    const body = gzip ? asset.gzip : asset.body;
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': asset.type,
      'content-length': body.length,
      'cache-control': 'no-cache',
      vary: 'accept-encoding',
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}
