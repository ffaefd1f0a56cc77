// The agent API listener (HTTP or HTTPS): token check (agent or read-only feed token) and routing to the ban stream, /v1/nftables and /v1/blocklist.txt, per-agent status.
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Clock, EpochMs } from '../core/clock.js';
import { describeError, ErrorCode, FleetbanError } from '../core/errors.js';
import { readTlsFile } from '../core/tls-files.js';
import { listenOrFail } from '../core/listen.js';
import type { Logger } from '../core/logger.js';
import {
  AuthLimiter,
  DEFAULT_AUTH_LIMIT,
  throttledError,
  type AuthLimitOptions,
} from '../control/auth-limiter.js';
import { readJsonObject, sendError } from '../control/http-io.js';
import type { MetricFamily } from '../control/metrics.js';
import type { BanStore } from '../store/store.js';
import type { AgentDirectory, AgentRecord } from './agent-registry.js';
import { AgentStream, StreamEnd } from './agent-stream.js';
import { agentApiMetrics } from './agent-api-metrics.js';
import { serveBlocklist } from './blocklist-route.js';
import { serveNftables } from './nftables-route.js';
import { AgentApiPath, clipAgentError, decodeAgentStatus, StreamQuery } from './protocol.js';
import { readOnlyFeedMessage, type TokenDirectory, type TokenRecord } from './token-registry.js';
import { tokenOf } from './tokens.js';
import type { Withhold } from './withhold.js';
import { WithheldBans, type WithheldCounts } from './withheld-bans.js';

export interface AgentApiOptions {
  readonly store: BanStore;
  readonly registry: AgentDirectory;
  /** Read-only tokens: the two feeds, nothing else. None when absent. */
  readonly feeds?: TokenDirectory;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly address: string;
  readonly port: number;
  /** PEM files; both empty = plain HTTP (for a private network). */
  readonly tls?: { readonly cert: string; readonly key: string };
  readonly pingIntervalMs: number;
  /** Changes a stream may hold undrained before its reader counts as too slow and is cut. */
  readonly maxQueued: number;
  /** The never-ban list: bans covering it reach no stream and no nftables document. */
  readonly withhold?: Withhold;
  /** Told the peer address of every authenticated request (agents' addresses are never banned). */
  readonly onAgentPeer?: (agent: string, address: string) => void;
  /** Failed token attempts per source before it is answered 429. */
  readonly authLimit?: AuthLimitOptions;
}

/** One agent as `fleetban agents list` shows it. */
export interface AgentReport {
  readonly name: string;
  readonly created: EpochMs;
  readonly lastContact: EpochMs | null;
  readonly connected: boolean;
  /** Peer address of the live stream, or of the last one. */
  readonly peer: string | null;
  /** The `since` the agent sent when it last connected: the last seq it had applied. */
  readonly ackSeq: number | null;
  /** The last seq sent on its (last) stream. */
  readonly sentSeq: number | null;
  /** Elements in the agent's sets, as it reported on connecting (`size=`). */
  readonly setSize: number | null;
  /**
   * The agent's last problem as it reported on connecting (`error=`, `errorAt=`): nft refusing a
   * batch, a reconcile or a server that failed. Null when it reported none (or is older than this).
   */
  readonly lastError: AgentError | null;
}

export interface AgentError {
  readonly message: string;
  /** When it happened on the agent, epoch ms; null when the agent did not say. */
  readonly at: EpochMs | null;
}

/** Who presented the token of a request. */
type Caller =
  | { readonly kind: 'agent'; readonly record: AgentRecord }
  | { readonly kind: 'feed'; readonly record: TokenRecord };

/** Told of every stream that ends: for status, and for tests that wait on a drop without sleeping. */
export type StreamEndListener = (agent: string, reason: StreamEnd) => void;

interface Live {
  stream: AgentStream | undefined;
  peer: string | null;
  ackSeq: number | null;
  setSize: number | null;
  sentSeq: number | null;
  lastError: AgentError | null;
}

export class AgentApi {
  readonly #o: AgentApiOptions;
  readonly #log: Logger;
  readonly #live = new Map<string, Live>();
  readonly #streams = new Set<AgentStream>();
  readonly #ended = new Map<StreamEnd, number>();
  readonly #endListeners = new Set<StreamEndListener>();
  readonly #limiter: AuthLimiter;
  #server: Server | undefined;
  #started = { snapshot: 0, resume: 0 };
  #messages = 0;
  #nftRequests = 0;
  /** Requests refused with 403 for carrying a feed token where it does not reach. */
  #feedRefused = 0;
  readonly #feedsWarned = new Set<string>();
  readonly #withheld: WithheldBans;
  #unwatch: (() => void) | undefined;

  constructor(options: AgentApiOptions) {
    this.#o = options;
    this.#log = options.logger;
    this.#limiter = new AuthLimiter(
      options.authLimit ?? DEFAULT_AUTH_LIMIT,
      options.logger,
      'agent API',
    );
    this.#withheld = new WithheldBans(options.withhold, options.store, options.logger);
  }

  /** Bans withheld from agents, nftables documents and the blocklist since start (status, metrics). */
  get withheld(): WithheldCounts {
    return this.#withheld.counts;
  }

  /** Binds; resolves with the bound address. Rejects with TLS_CONFIG_INVALID or LISTEN_FAILED. */
  async start(): Promise<{ address: string; port: number }> {
    const tls = this.#o.tls;
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      this.#handle(req, res);
    };
    let server: Server;
    if (tls !== undefined && (tls.cert !== '' || tls.key !== '')) {
      const [cert, key] = await Promise.all([readPem(tls.cert, 'cert'), readPem(tls.key, 'key')]);
      server = createHttpsServer({ cert, key }, handler);
    } else {
      server = createHttpServer(handler);
    }
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    server.on('error', (e) => {
      this.#log.error({ err: e }, 'agent API listener error');
    });
    await listenOrFail(
      server,
      { host: this.#o.address, port: this.#o.port },
      `agent API cannot listen on ${this.#o.address}:${this.#o.port}`,
    );
    this.#server = server;
    this.#unwatch = this.#withheld.watch(() => {
      for (const s of [...this.#streams]) s.end(StreamEnd.NEVER_BAN);
    });
    const info = server.address() as AddressInfo;
    const bound = { address: info.address, port: info.port };
    this.#log.info({ ...bound, tls: tls !== undefined && tls.cert !== '' }, 'agent API listening');
    return bound;
  }

  /** Ends every stream, stops listening. Idempotent. */
  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    this.#unwatch?.();
    this.#unwatch = undefined;
    this.#limiter.close();
    for (const s of [...this.#streams]) s.end(StreamEnd.SHUTDOWN);
    if (server === undefined) return;
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
      server.closeAllConnections();
    });
  }

  /** Removes an agent and closes its live stream. Throws NOT_FOUND. */
  async removeAgent(name: string): Promise<AgentRecord> {
    const removed = await this.#o.registry.remove(name);
    const live = this.#live.get(name);
    live?.stream?.end(StreamEnd.REMOVED);
    this.#live.delete(name);
    this.#log.info({ agent: name }, 'agent removed');
    return removed;
  }

  /** Closes the live stream of an agent another server removed (shared directory). */
  dropRemoved(name: string): void {
    const live = this.#live.get(name);
    if (live === undefined) return;
    live.stream?.end(StreamEnd.REMOVED);
    this.#live.delete(name);
    this.#log.info({ agent: name }, 'agent removed on another server: its stream is closed');
  }

  async addAgent(name: string): Promise<{ agent: AgentReport; token: string }> {
    const { record, token } = await this.#o.registry.add(name);
    this.#log.info({ agent: name }, 'agent added');
    return { agent: this.#report(record), token };
  }

  agents(): AgentReport[] {
    return this.#o.registry.list().map((a) => this.#report(a));
  }

  metrics(): MetricFamily[] {
    return [
      ...agentApiMetrics({
        authFailures: this.#limiter.failures,
        registered: this.#o.registry.list().length,
        streamsOpen: this.#streams.size,
        started: this.#started,
        ended: this.#ended,
        messages: this.#messages + this.#liveMessages(),
        nftRequests: this.#nftRequests,
        feedsRegistered: this.#o.feeds?.list().length ?? 0,
        feedRefused: this.#feedRefused,
      }),
      this.#withheld.metrics(),
      ...this.#limiter.metrics('fleetban_agent', 'agent API'),
    ];
  }

  /** Calls `listener` whenever a stream ends; returns the unsubscribe function. */
  onStreamEnd(listener: StreamEndListener): () => void {
    this.#endListeners.add(listener);
    return () => {
      this.#endListeners.delete(listener);
    };
  }

  /** Streams ended for `reason` since start (tests and status). */
  endedCount(reason: StreamEnd): number {
    return this.#ended.get(reason) ?? 0;
  }

  get authFailures(): number {
    return this.#limiter.failures;
  }

  #report(a: AgentRecord): AgentReport {
    const live = this.#live.get(a.name);
    const stream = live?.stream;
    return {
      name: a.name,
      created: a.created,
      lastContact: a.lastContact,
      connected: stream !== undefined && !stream.ended,
      peer: live?.peer ?? null,
      ackSeq: live?.ackSeq ?? null,
      sentSeq: stream !== undefined ? stream.lastSent : (live?.sentSeq ?? null),
      setSize: live?.setSize ?? null,
      lastError: live?.lastError ?? null,
    };
  }

  #liveMessages(): number {
    let n = 0;
    for (const s of this.#streams) n += s.messages;
    return n;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    // Before anything else, and without looking at the token: a guessing source costs one lookup.
    const wait = this.#limiter.retryAfter(req.socket.remoteAddress);
    if (wait !== null) {
      sendError(res, throttledError(wait), { 'retry-after': String(wait) });
      return;
    }
    try {
      const url = new URL(`http://agent.invalid${req.url ?? '/'}`);
      const method = url.pathname === AgentApiPath.REPORT ? 'POST' : 'GET';
      const route = req.method === method ? url.pathname : '';
      const feed = route === AgentApiPath.NFTABLES || route === AgentApiPath.BLOCKLIST;
      if (route !== AgentApiPath.STREAM && route !== AgentApiPath.REPORT && !feed) {
        // A feed token is told what it may read rather than that the path does not exist.
        const holder = this.#feedHolder(req);
        if (holder !== undefined) throw this.#feedOnly(holder, req, url.pathname);
        throw new FleetbanError(
          ErrorCode.NOT_FOUND,
          `no such endpoint: ${req.method ?? ''} ${url.pathname}`,
        );
      }
      const caller = this.#authenticate(req);
      if (caller.kind === 'feed') {
        if (!feed) throw this.#feedOnly(caller.record, req, url.pathname);
        this.#o.feeds?.touch(caller.record.name, (e) => {
          this.#log.warn({ err: e }, `cannot save the feed token registry: ${describeError(e)}`);
        });
      } else {
        const peer = req.socket.remoteAddress;
        // Before the stream starts: a new address may withhold bans from this very snapshot.
        if (peer !== undefined) this.#o.onAgentPeer?.(caller.record.name, peer);
        this.#o.registry.touch(caller.record.name, (e) => {
          this.#log.warn({ err: e }, `cannot save the agent registry: ${describeError(e)}`);
        });
      }
      if (route === AgentApiPath.STREAM) this.#stream(caller.record, req, res, url.searchParams);
      else if (route === AgentApiPath.REPORT) void this.#receiveReport(caller.record, req, res);
      else if (route === AgentApiPath.BLOCKLIST)
        serveBlocklist(req, res, url.searchParams, {
          store: this.#o.store,
          withheld: this.#withheld,
          log: this.#log,
        });
      else {
        serveNftables(res, url.searchParams, {
          store: this.#o.store,
          clock: this.#o.clock,
          withheld: this.#withheld,
          log: this.#log,
        });
        this.#nftRequests++;
      }
    } catch (e) {
      const error =
        e instanceof FleetbanError
          ? e
          : new FleetbanError(ErrorCode.INTERNAL, `internal error: ${describeError(e)}`, {
              cause: e,
            });
      if (error.code === ErrorCode.INTERNAL) this.#log.error({ err: e }, 'agent API handler threw');
      const challenge: Record<string, string> =
        error.code === ErrorCode.UNAUTHORIZED
          ? { 'www-authenticate': 'Bearer realm="fleetban-agents", Basic realm="fleetban-agents"' }
          : {};
      sendError(res, error, challenge);
    }
  }

  /** An agent token first, then a feed token; anything else counts as a failed attempt. */
  #authenticate(req: IncomingMessage): Caller {
    const token = tokenOf(req.headers.authorization);
    if (token !== null) {
      const agent = this.#o.registry.authenticate(token);
      if (agent !== undefined) return { kind: 'agent', record: agent };
      const feed = this.#o.feeds?.authenticate(token);
      if (feed !== undefined) return { kind: 'feed', record: feed };
    }
    this.#limiter.failed(req.socket.remoteAddress, token === null ? 'missing' : 'unknown');
    throw new FleetbanError(ErrorCode.UNAUTHORIZED, 'a valid agent or feed token is required');
  }

  /** The feed whose token a request carries, or undefined (no token, or another kind). */
  #feedHolder(req: IncomingMessage): TokenRecord | undefined {
    const token = tokenOf(req.headers.authorization);
    return token === null ? undefined : this.#o.feeds?.authenticate(token);
  }

  /** The 403 for a feed token beyond the feeds; counted, and logged once per feed and run. */
  #feedOnly(feed: TokenRecord, req: IncomingMessage, path: string): FleetbanError {
    this.#feedRefused++;
    const method = req.method ?? '';
    if (!this.#feedsWarned.has(feed.name)) {
      this.#feedsWarned.add(feed.name);
      this.#log.warn(
        { feed: feed.name, method, path, remote: req.socket.remoteAddress },
        `feed token ${feed.name} refused for ${method} ${path} (feed tokens read only the two feeds; further refusals are counted, not logged)`,
      );
    }
    const refused =
      path === AgentApiPath.STREAM
        ? `the agent stream (that takes an agent token: fleetban agents add NAME)`
        : `${method} ${path}`;
    return new FleetbanError(ErrorCode.FORBIDDEN, readOnlyFeedMessage(feed.name, refused));
  }

  /** `POST /v1/agent/report`: a problem met while connected, shown before the next reconnect. */
  async #receiveReport(
    agent: AgentRecord,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    try {
      const body = decodeAgentStatus(await readJsonObject(req, REPORT_BODY_LIMIT));
      if (typeof body === 'string') throw new FleetbanError(ErrorCode.REQUEST_INVALID, body);
      const live = this.#live.get(agent.name) ?? {
        stream: undefined,
        peer: req.socket.remoteAddress ?? null,
        ackSeq: null,
        setSize: null,
        sentSeq: null,
        lastError: null,
      };
      live.setSize = body.size;
      live.lastError = body.error === null ? null : { message: body.error, at: body.errorAt };
      this.#live.set(agent.name, live);
      if (body.error !== null)
        this.#log.warn(
          { agent: agent.name, error: body.error },
          `agent ${agent.name} reports: ${body.error}`,
        );
      res.writeHead(204).end();
    } catch (e) {
      sendError(
        res,
        e instanceof FleetbanError
          ? e
          : new FleetbanError(ErrorCode.INTERNAL, `internal error: ${describeError(e)}`, {
              cause: e,
            }),
      );
    }
  }

  #stream(
    agent: AgentRecord,
    req: IncomingMessage,
    res: ServerResponse,
    query: URLSearchParams,
  ): void {
    const since = optionalCount(query, StreamQuery.SINCE);
    const size = optionalCount(query, StreamQuery.SIZE);
    const lastError = reportedError(query);
    const previous = this.#live.get(agent.name)?.stream;
    // The newer connection wins: the older one is most likely dead without knowing it yet.
    previous?.end(StreamEnd.REPLACED);
    const socket: Socket = req.socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, this.#o.pingIntervalMs);
    const live: Live = {
      stream: undefined,
      peer: socket.remoteAddress ?? null,
      ackSeq: since,
      setSize: size,
      sentSeq: null,
      lastError,
    };
    const withheld = this.#withheld;
    const stream = new AgentStream({
      store: this.#o.store,
      res,
      since,
      forceSnapshot: withheld.needsSnapshot(since),
      ...(withheld.active
        ? { withhold: (target: string) => withheld.withheld('stream', target) }
        : {}),
      maxQueued: this.#o.maxQueued,
      pingIntervalMs: this.#o.pingIntervalMs,
      onEnd: (reason, error) => {
        this.#streams.delete(stream);
        this.#messages += stream.messages;
        this.#ended.set(reason, (this.#ended.get(reason) ?? 0) + 1);
        live.sentSeq = stream.lastSent;
        if (live.stream === stream) live.stream = undefined;
        const fields = { agent: agent.name, reason, sentSeq: stream.lastSent, remote: live.peer };
        if (reason === StreamEnd.ERROR)
          this.#log.error({ ...fields, err: error }, 'agent stream failed');
        else if (reason === StreamEnd.SLOW || reason === StreamEnd.STALLED)
          this.#log.warn(
            fields,
            'agent stream dropped: the agent does not keep up; it will catch up on reconnect',
          );
        else this.#log.info(fields, 'agent stream ended');
        for (const listener of this.#endListeners) listener(agent.name, reason);
      },
    });
    live.stream = stream;
    this.#live.set(agent.name, live);
    this.#streams.add(stream);
    void stream.run().then(() => {
      const start = stream.start;
      if (start !== undefined) this.#started[start]++;
      if (!stream.ended) {
        this.#log.info(
          { agent: agent.name, start, since, sentSeq: stream.lastSent, remote: live.peer },
          'agent stream open',
        );
      }
    });
  }
}

/** A report is a number and one clipped line: 4 KiB is plenty. */
const REPORT_BODY_LIMIT = 4096;

function optionalCount(query: URLSearchParams, name: string): number | null {
  const raw = query.get(name);
  if (raw === null || raw === '') return null;
  if (!/^\d{1,15}$/.test(raw)) {
    throw new FleetbanError(ErrorCode.REQUEST_INVALID, `${name} must be a non-negative integer`);
  }
  return Number(raw);
}

/** `error=TEXT&errorAt=MS`: the agent's last problem; an empty or absent `error` is none. */
function reportedError(query: URLSearchParams): AgentError | null {
  const at = optionalCount(query, StreamQuery.ERROR_AT);
  const message = clipAgentError(query.get(StreamQuery.ERROR) ?? '');
  if (message === '') return null;
  return { message, at };
}

function readPem(path: string, what: string): Promise<Buffer> {
  if (path === '') {
    throw new FleetbanError(
      ErrorCode.TLS_CONFIG_INVALID,
      `agents.tls.${what} is empty: set both agents.tls.cert and agents.tls.key, or neither for plain HTTP`,
    );
  }
  return readTlsFile(`agents.tls.${what}`, path);
}
