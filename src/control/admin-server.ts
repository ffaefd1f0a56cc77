// The admin HTTP API on a unix socket (trusted by file permissions) and optionally on TCP with a bearer token.
import { chmod, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeError, ErrorCode, FleetbanError, isFleetbanError } from '../core/errors.js';
import { listenOrFail } from '../core/listen.js';
import type { Logger } from '../core/logger.js';
import {
  AuthLimiter,
  DEFAULT_AUTH_LIMIT,
  throttledError,
  type AuthLimitOptions,
} from './auth-limiter.js';
import { bearerOf, BearerToken } from './bearer.js';
import { readJsonObject, sendError, sendJson, sendText } from './http-io.js';
import type { MetricFamily } from './metrics.js';
import type { ControlPlane } from './plane.js';
import { matchRoute, type AdminExtension, type Route, type RouteDeps } from './routes.js';
import { errnoOf } from './errno.js';
import { prepareSocketPath } from './unix-socket.js';

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

export interface AdminServerOptions {
  readonly plane: ControlPlane;
  readonly logger: Logger;
  /** Unix socket path; omitted = no unix socket. */
  readonly socket?: string;
  /** TCP listener; every request on it must carry `Authorization: Bearer <token>`. */
  readonly http?: {
    readonly address: string;
    readonly port: number;
    readonly token: string;
    /** Failed token attempts per source before it is answered 429. */
    readonly authLimit?: AuthLimitOptions;
    /**
     * Tells a token of another kind (a read-only feed token) from a wrong one: the message of
     * its 403, or undefined. Such a token is not a guess, so it is not counted as a failure.
     */
    readonly foreignToken?: (token: string) => string | undefined;
  };
  readonly maxBodyBytes?: number;
  /** Route tables mounted beside the built-in one. */
  readonly extensions?: readonly AdminExtension[];
}

export interface AdminAddresses {
  socket?: string;
  http?: { address: string; port: number };
}

type Listener = 'unix' | 'tcp';

export class AdminServer {
  readonly #plane: ControlPlane;
  readonly #log: Logger;
  readonly #socketPath: string | undefined;
  readonly #httpOptions: AdminServerOptions['http'];
  readonly #token: BearerToken | undefined;
  readonly #maxBody: number;
  readonly #deps: RouteDeps;
  readonly #extensions: readonly AdminExtension[];
  readonly #extraRoutes: readonly Route[];
  readonly #requests = new Map<string, number>();
  readonly #limiter: AuthLimiter;
  #unixServer: Server | undefined;
  #tcpServer: Server | undefined;

  constructor(options: AdminServerOptions) {
    this.#plane = options.plane;
    this.#log = options.logger.child({ component: 'admin' });
    this.#socketPath = options.socket;
    this.#httpOptions = options.http;
    if (options.http !== undefined && options.http.token === '') {
      throw new FleetbanError(
        ErrorCode.CONFIG_INVALID,
        'control.http.token must be set when the admin API listens on TCP',
      );
    }
    this.#token = options.http === undefined ? undefined : new BearerToken(options.http.token);
    this.#limiter = new AuthLimiter(
      options.http?.authLimit ?? DEFAULT_AUTH_LIMIT,
      this.#log,
      'admin API (TCP)',
    );
    this.#maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.#extensions = options.extensions ?? [];
    this.#extraRoutes = this.#extensions.flatMap((x) => x.routes);
    this.#deps = { plane: this.#plane, adminMetrics: () => this.#metrics() };
  }

  /**
   * Listens on the unix socket, then on TCP. Throws LISTEN_FAILED (nothing left listening) when a
   * live server already owns the socket or a listener cannot bind.
   */
  async start(): Promise<AdminAddresses> {
    const bound: AdminAddresses = {};
    try {
      if (this.#socketPath !== undefined) {
        const path = this.#socketPath;
        await prepareSocketPath(path);
        this.#unixServer = this.#createServer('unix');
        await listen(this.#unixServer, { path }, path);
        // Group members (the fleetban group) may use the CLI; the 0750 folder bounds the window before this.
        await chmod(path, 0o660);
        bound.socket = path;
      }
      if (this.#httpOptions !== undefined) {
        const { address, port } = this.#httpOptions;
        this.#tcpServer = this.#createServer('tcp');
        await listen(this.#tcpServer, { host: address, port }, `${address}:${port}`);
        const info = this.#tcpServer.address() as AddressInfo;
        bound.http = { address: info.address, port: info.port };
      }
    } catch (e) {
      await this.close();
      throw e;
    }
    this.#log.info(bound, 'admin API listening');
    return bound;
  }

  /** Stops listening, cuts idle and open connections, removes the socket file. Idempotent. */
  async close(): Promise<void> {
    const unix = this.#unixServer;
    const tcp = this.#tcpServer;
    this.#unixServer = undefined;
    this.#tcpServer = undefined;
    this.#limiter.close();
    await Promise.all([stop(tcp), stop(unix)]);
    if (unix !== undefined && this.#socketPath !== undefined) {
      try {
        await unlink(this.#socketPath);
      } catch (e) {
        if (errnoOf(e) !== 'ENOENT')
          this.#log.warn({ err: e }, 'could not remove the admin socket');
      }
    }
  }

  /** Requests refused for a missing or wrong token since start. */
  get unauthorized(): number {
    return this.#limiter.failures;
  }

  #createServer(listener: Listener): Server {
    const server = createServer((req, res) => {
      this.#handle(req, res, listener).catch((e: unknown) => {
        this.#log.error({ err: e }, 'admin API failed to answer');
        res.destroy();
      });
    });
    // Listen failures are reported by start(); this catches anything the socket raises later.
    server.on('error', (e) => {
      this.#log.error({ err: e, listener }, 'admin API listener error');
    });
    server.requestTimeout = 30_000;
    server.headersTimeout = 10_000;
    return server;
  }

  async #handle(req: IncomingMessage, res: ServerResponse, listener: Listener): Promise<void> {
    let routeName = 'none';
    let retryAfter: number | null = null;
    try {
      if (listener === 'tcp') {
        // Checked before the token, at the cost of one lookup: guessing gets no cheaper answer.
        retryAfter = this.#limiter.retryAfter(req.socket.remoteAddress);
        if (retryAfter !== null) {
          throw throttledError(retryAfter);
        }
        if (this.#token?.accepts(req.headers.authorization) !== true) {
          const presented = bearerOf(req.headers.authorization);
          const foreign =
            presented === undefined ? undefined : this.#httpOptions?.foreignToken?.(presented);
          if (foreign !== undefined) throw new FleetbanError(ErrorCode.FORBIDDEN, foreign);
          this.#limiter.failed(
            req.socket.remoteAddress,
            req.headers.authorization === undefined ? 'missing' : 'wrong',
          );
          throw new FleetbanError(ErrorCode.UNAUTHORIZED, 'a valid bearer token is required');
        }
      }
      const url = new URL(`http://admin.invalid${req.url ?? '/'}`);
      const { route, params } = matchRoute(req.method ?? '', url.pathname, this.#extraRoutes);
      routeName = route.name;
      const result = await route.handle(this.#deps, {
        params,
        query: url.searchParams,
        body: () => readJsonObject(req, this.#maxBody),
      });
      if (result.kind === 'json') sendJson(res, result.status, result.body);
      else sendText(res, result.status, result.contentType, result.text);
    } catch (e) {
      const error = isFleetbanError(e) ? e : this.#internal(e, req);
      if (res.headersSent) {
        res.destroy();
      } else {
        const headers: Record<string, string> =
          error.code === ErrorCode.UNAUTHORIZED
            ? { 'www-authenticate': 'Bearer realm="fleetban"' }
            : retryAfter !== null
              ? { 'retry-after': String(retryAfter) }
              : {};
        sendError(res, error, headers);
      }
    } finally {
      this.#count(routeName, res.statusCode);
    }
  }

  #internal(e: unknown, req: IncomingMessage): FleetbanError {
    this.#log.error({ err: e, method: req.method, url: req.url }, 'admin API handler threw');
    return new FleetbanError(
      ErrorCode.INTERNAL,
      `internal error: ${describeError(e)} (see the server log)`,
      { cause: e },
    );
  }

  #count(route: string, status: number): void {
    const key = `${route}\t${status}`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
  }

  #metrics(): MetricFamily[] {
    return [
      {
        name: 'fleetban_admin_requests_total',
        help: 'Admin API requests answered, by route and HTTP status.',
        type: 'counter',
        samples: [...this.#requests].map(([key, value]) => {
          const [route = '', status = ''] = key.split('\t');
          return { labels: { route, status }, value };
        }),
      },
      {
        name: 'fleetban_admin_unauthorized_total',
        help: 'Admin API requests over TCP refused for a missing or wrong bearer token.',
        type: 'counter',
        samples: [{ value: this.#limiter.failures }],
      },
      ...this.#limiter.metrics('fleetban_admin', 'admin API (TCP)'),
      ...this.#extensions.flatMap((x) => x.metrics()),
    ];
  }
}

function listen(
  server: Server,
  options: { path: string } | { host: string; port: number },
  where: string,
): Promise<void> {
  return listenOrFail(server, options, `admin API cannot listen on ${where}`);
}

function stop(server: Server | undefined): Promise<void> {
  if (server === undefined || !server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
    server.closeAllConnections();
  });
}
