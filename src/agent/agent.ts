// `fleetban agent`: follows the server's ban stream and keeps this machine's nftables sets in step.
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { readTlsFile } from '../core/tls-files.js';
import type { DecodeError, StreamMessage } from '../distribute/protocol.js';
import type { Firewall } from '../nft/firewall.js';
import { NftFirewall } from '../nft/nft.js';
import type { RulesetOptions } from '../nft/render.js';
import { Backoff } from './backoff.js';
import { parseListen, type AgentConfig } from './config.js';
import { Enforcer, type ReconcileResult } from './enforcer.js';
import { Guard, allowList, ownAddresses } from './guard.js';
import { AgentCounter, AgentGauge, AgentMetrics } from './metrics.js';
import { MetricsServer } from './metrics-server.js';
import { ServerAddresses, type Resolve } from './server-addresses.js';
import { ServerRotation } from './server-rotation.js';
import { describeStreamEnd, logStreamEnd } from './stream-end-log.js';
import { sendReport } from './report-client.js';
import { openStream, type StreamHandle } from './stream-client.js';
import { readAgentState, writeAgentState } from './state-file.js';

export interface AgentOptions {
  readonly config: AgentConfig;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Defaults to the real nft named by the config. */
  readonly firewall?: Firewall;
  /** For the backoff jitter; Math.random by default. */
  readonly random?: () => number;
  /** Resolves the servers' host names (to keep them out of the bans); DNS by default. */
  readonly resolve?: Resolve;
}

/** The keys a reload (SIGHUP) applies; any other needs a restart. */
export const RELOADABLE_KEYS = [
  'mode',
  'hooks',
  'verdict',
  'ports',
  'udpPorts',
  'interface',
  'allow',
] as const satisfies readonly (keyof AgentConfig)[];

/** The chains and rules the config asks for. */
function rulesetOf(c: AgentConfig): RulesetOptions {
  return {
    mode: c.mode,
    hooks: c.hooks,
    verdict: c.verdict,
    ports: c.ports,
    udpPorts: c.udpPorts,
    interface: c.interface,
  };
}

/** Problems within this long of one another go to the server in one report. */
const REPORT_DELAY_MS = 1000;

/** How long changes may sit in memory before the state file is rewritten. */
const STATE_WRITE_DELAY_MS = 1000;

/**
 * Follows one server at a time out of its list: when the stream cannot open or drops, the next
 * server is tried at once, and the backoff delay is waited only after a full round of failures.
 * Sequence numbers are valid on every server of one store, so the agent resumes where it was.
 * Events: `connected` (arg: the server URL), `switched` (args: to, from), `synced` (snapshot
 * applied or resume accepted; arg: 'snapshot'|'resume'), `disconnected` (arg: StreamEnd),
 * `reconciled` (arg: ReconcileResult), `reported` (a problem the open stream's server took;
 * arg: the error and its time); `error` is never emitted.
 * When the server is gone the kernel sets keep enforcing (each element carries its own timeout)
 * and the agent keeps retrying; it never flushes the sets on its way out.
 */
export class Agent extends EventEmitter {
  readonly metrics = new AgentMetrics();
  #config: AgentConfig;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #rotation: ServerRotation;
  readonly #serverAddresses: ServerAddresses;
  readonly #enforcer: Enforcer;
  /** The server followed: of the open or the last stream; the first listed before any. */
  #server: string;
  /** Since when the agent has no stream, the first failure and how many; null while one is open. */
  #outage: { since: number; first: string; attempts: number } | null = null;
  #ca: Buffer | undefined;
  #lastSeq = 0;
  #stream: StreamHandle | null = null;
  #retryTimer: NodeJS.Timeout | undefined;
  #reconcileTimer: NodeJS.Timeout | undefined;
  #stateTimer: NodeJS.Timeout | undefined;
  #stateWrite: Promise<void> = Promise.resolve();
  #metricsServer: MetricsServer | null = null;
  #metricsAddress: AddressInfo | null = null;
  #running = false;
  /** The last problem, sent to the server on each connection for `fleetban agents list`. */
  #lastError: { message: string; at: number } | null = null;
  /** The server whose stream is open now; null between streams. */
  #openServer: string | null = null;
  #reportTimer: NodeJS.Timeout | undefined;
  #reporting = false;
  #loop: Promise<void> = Promise.resolve();

  constructor(options: AgentOptions) {
    super();
    this.#config = options.config;
    this.#logger = options.logger;
    this.#clock = options.clock;
    const c = options.config;
    this.#rotation = new ServerRotation({
      servers: c.server,
      backoff: new Backoff({
        minMs: c.reconnect.min * 1000,
        maxMs: c.reconnect.max * 1000,
        ...(options.random === undefined ? {} : { random: options.random }),
      }),
      stableAfterMs: c.reconnect.max * 1000,
    });
    this.#server = this.#rotation.current;
    this.metrics.setServer(this.#server);
    this.#serverAddresses = new ServerAddresses(c.server, options.logger, options.resolve);
    const firewall =
      options.firewall ??
      new NftFirewall({ nftPath: c.nftPath, timeoutMs: c.nftTimeout * 1000, clock: options.clock });
    this.#enforcer = new Enforcer({
      firewall,
      ruleset: rulesetOf(c),
      clock: options.clock,
      logger: options.logger,
      metrics: this.metrics,
      guard: this.#guard(),
      batchWindowMs: c.batchWindowMs,
      batchMax: c.batchMax,
      toleranceMs: c.timeoutTolerance * 1000,
      onError: (message) => {
        this.#problem(message);
      },
    });
  }

  /** The last problem (nft, reconcile, state file, a server's stream) and when; null before any. */
  get lastError(): { readonly message: string; readonly at: number } | null {
    return this.#lastError;
  }

  /**
   * Records a problem. It goes with the next connection; while a stream is open it is also
   * posted to that server shortly, so that the admin sees it without waiting for a reconnect.
   */
  #problem(message: string): void {
    this.#lastError = { message, at: this.#clock.now() };
    this.#scheduleReport();
  }

  #scheduleReport(): void {
    if (this.#openServer === null || this.#reportTimer !== undefined || !this.#running) return;
    this.#reportTimer = setTimeout(() => {
      this.#reportTimer = undefined;
      void this.#report();
    }, REPORT_DELAY_MS);
  }

  /** One report at a time; a problem met meanwhile waits for the next one. */
  async #report(): Promise<void> {
    const server = this.#openServer;
    const e = this.#lastError;
    if (server === null || e === null || this.#reporting) return;
    this.#reporting = true;
    try {
      const status = await sendReport({
        server,
        token: this.#config.token,
        ca: this.#ca,
        body: { size: this.#enforcer.knownSize, error: e.message, errorAt: e.at },
        timeoutMs: this.#config.pingInterval * 1000,
      });
      if (status !== 204)
        this.#logger.debug({ server, status }, 'the server did not take the problem report');
      else this.emit('reported', e);
    } catch (err) {
      this.#logger.debug(
        { server, err: describeError(err) },
        `cannot report the problem to ${server}: ${describeError(err)}`,
      );
    } finally {
      this.#reporting = false;
    }
    if (this.#lastError !== e) this.#scheduleReport();
  }

  /** The last sequence number received (what a reconnect resumes from). */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** The server followed: that of the open (or last) stream; the first listed before any. */
  get server(): string {
    return this.#server;
  }

  /** The enforced bans and the kernel picture, for tests and diagnostics. */
  get enforcer(): Enforcer {
    return this.#enforcer;
  }

  /** Where GET /metrics listens, when enabled. */
  get metricsAddress(): AddressInfo | null {
    return this.#metricsAddress;
  }

  /**
   * Loads the CA and the state file, adopts remembered bans, starts metrics and reconcile, and
   * begins connecting. Resolves before the first connection succeeds: the server may be down.
   */
  async start(): Promise<void> {
    const c = this.#config;
    if (c.ca !== '') this.#ca = await readTlsFile('ca', c.ca);
    await this.#serverAddresses.refresh();
    this.#enforcer.setGuard(this.#guard());
    if (c.stateFile !== '') {
      const state = await readAgentState(c.stateFile);
      if (state !== null) {
        this.#lastSeq = state.seq;
        this.metrics.set(AgentGauge.LAST_SEQ, state.seq);
        this.#logger.info(
          { seq: state.seq, bans: state.bans.length },
          'resuming from the state file',
        );
        await this.#enforcer.adopt(state.bans).catch((e: unknown) => {
          this.#logger.error(
            { err: describeError(e) },
            `cannot adopt the remembered bans: ${describeError(e)}`,
          );
          this.#problem(`cannot adopt the remembered bans: ${describeError(e)}`);
        });
      }
    }
    if (c.metrics.listen !== '') {
      const where = parseListen(c.metrics.listen);
      if (where !== null) {
        this.#metricsServer = new MetricsServer(this.metrics);
        this.#metricsAddress = await this.#metricsServer.start(where.address, where.port);
      }
    }
    this.#running = true;
    this.#scheduleReconcile();
    this.#loop = this.#connectLoop();
  }

  /** Stops connecting, finishes nft work, writes the state file. The kernel sets stay. */
  async close(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#reconcileTimer);
    clearTimeout(this.#stateTimer);
    clearTimeout(this.#reportTimer);
    this.#wakeRetry?.();
    this.#stream?.close();
    await this.#loop;
    this.#enforcer.close();
    await this.#enforcer.idle();
    await this.#saveState();
    await this.#metricsServer?.close();
  }

  /**
   * SIGHUP: takes the keys that can change while running (RELOADABLE_KEYS) from `next`, a config
   * loaded and validated by the caller. The chains are replaced in one transaction over the kept
   * sets, so enforcement has no gap; the allow list applies with the batch that follows. Other
   * keys that changed are returned (and logged): they need a restart and keep their old value.
   */
  async reload(next: AgentConfig): Promise<{ applied: string[]; needRestart: string[] }> {
    const old = this.#config;
    const changed = (key: keyof AgentConfig): boolean =>
      JSON.stringify(old[key]) !== JSON.stringify(next[key]);
    const applied = RELOADABLE_KEYS.filter(changed);
    const needRestart = (Object.keys(next) as (keyof AgentConfig)[])
      .filter((key) => key !== 'file' && !(RELOADABLE_KEYS as readonly string[]).includes(key))
      .filter(changed);
    const taken: Partial<Record<keyof AgentConfig, unknown>> = {};
    for (const key of RELOADABLE_KEYS) taken[key] = next[key];
    this.#config = Object.freeze({ ...old, ...taken }) as AgentConfig;
    await this.#enforcer.reconfigure(rulesetOf(this.#config), this.#guard());
    this.#logger.info(
      { applied, ruleset: rulesetOf(this.#config) },
      applied.length === 0
        ? 'configuration reloaded: nothing to change'
        : `configuration reloaded: ${applied.join(', ')} applied`,
    );
    if (needRestart.length > 0) {
      this.#logger.warn(
        { keys: needRestart },
        `configuration reloaded, but ${needRestart.join(', ')} changed: restart the agent to apply ${needRestart.length === 1 ? 'it' : 'them'}`,
      );
    }
    return { applied, needRestart };
  }

  /** Runs a reconcile now (tests; the timer does it every reconcileInterval). */
  reconcileNow(): Promise<ReconcileResult> {
    return this.#reconcile();
  }

  #wakeRetry: (() => void) | undefined;

  /** A method, not the field: close() flips #running while the loop awaits. */
  #stopping(): boolean {
    return !this.#running;
  }

  async #connectLoop(): Promise<void> {
    while (this.#running) {
      const server = this.#rotation.current;
      const opened: { at: number | null } = { at: null };
      this.#stream = openStream({
        server,
        token: this.#config.token,
        ca: this.#ca,
        since: this.#lastSeq,
        size: this.#enforcer.knownSize,
        lastError: this.#lastError,
        idleTimeoutMs: this.#config.pingInterval * 3000,
        onOpen: () => {
          opened.at = this.#clock.now();
          this.#onOpen(server);
        },
        onMessage: (m) => {
          this.#onMessage(m);
        },
        onBadLine: (e) => {
          this.#onBadLine(e);
        },
      });
      const end = await this.#stream.done;
      this.#stream = null;
      this.#openServer = null;
      this.metrics.set(AgentGauge.CONNECTED, 0);
      if (this.#stopping()) return;
      this.metrics.inc(AgentCounter.DISCONNECTS);
      const now = this.#clock.now();
      // A server that throttles this address says when it will listen again: not before.
      const delay = this.#rotation.advance(
        {
          openedForMs: opened.at === null ? null : now - opened.at,
          retryAfterMs: end.kind === 'refused' ? end.retryAfterMs : null,
        },
        now,
      );
      this.#outage ??= { since: now, first: '', attempts: 0 };
      this.#outage.attempts++;
      if (this.#outage.first === '') this.#outage.first = `${server} ${describeStreamEnd(end)}`;
      // The server closing its end is routine (a restart, a slow reader cut); the rest is a problem.
      if (end.kind === 'refused' || end.kind === 'failed' || end.kind === 'idle') {
        this.#problem(`the server ${server} ${describeStreamEnd(end)}`);
      }
      logStreamEnd(this.#logger, this.metrics, {
        server,
        end,
        next: this.#rotation.current,
        delay,
      });
      this.emit('disconnected', end);
      if (delay === 0) continue;
      await new Promise<void>((resolve) => {
        this.#wakeRetry = resolve;
        this.#retryTimer = setTimeout(resolve, delay);
      });
      this.#wakeRetry = undefined;
    }
  }

  #onOpen(server: string): void {
    this.#openServer = server;
    this.metrics.inc(AgentCounter.CONNECTS);
    this.metrics.set(AgentGauge.CONNECTED, 1);
    const outage = this.#outage;
    this.#outage = null;
    this.#logger.info({ server, since: this.#lastSeq }, `connected to the server ${server}`);
    if (server !== this.#server) {
      const from = this.#server;
      this.#server = server;
      this.metrics.setServer(server);
      this.metrics.inc(AgentCounter.SERVER_SWITCHES);
      const downMs = outage === null ? 0 : this.#clock.now() - outage.since;
      const attempts = `${outage?.attempts ?? 0} failed attempt${outage?.attempts === 1 ? '' : 's'}`;
      const after =
        outage === null
          ? `leaving ${from}`
          : `${outage.first} (${attempts} in ${(downMs / 1000).toFixed(1)} s)`;
      this.#logger.warn(
        { server, from, since: this.#lastSeq, downMs, attempts: outage?.attempts ?? 0 },
        `switched to ${server} after ${after}`,
      );
      this.emit('switched', server, from);
    }
    this.emit('connected', server);
  }

  #onMessage(m: StreamMessage): void {
    switch (m.type) {
      case 'snapshot':
        this.metrics.inc(AgentCounter.SNAPSHOTS);
        this.#setSeq(m.seq);
        this.#logger.info({ seq: m.seq, bans: m.bans.length }, 'snapshot received');
        this.#enforcer.replaceAll(m.bans).then(
          () => {
            this.#logger.info(
              { seq: m.seq, elements: this.#enforcer.knownSize },
              'snapshot applied',
            );
            this.emit('synced', 'snapshot');
          },
          (e: unknown) => {
            this.#logger.error(
              { err: describeError(e) },
              `cannot apply the snapshot: ${describeError(e)}`,
            );
            this.#problem(`cannot apply the snapshot: ${describeError(e)}`);
          },
        );
        return;
      case 'resume':
        this.#logger.info({ seq: m.seq }, 'resuming the change feed');
        this.emit('synced', 'resume');
        return;
      case 'ban':
      case 'unban':
        // A change at or below what we hold is a repeat (a resume overlapping what was applied).
        if (m.seq <= this.#lastSeq) return;
        this.metrics.inc(AgentCounter.CHANGES);
        this.#setSeq(m.seq);
        if (m.type === 'ban') this.#enforcer.ban(m.ban);
        else this.#enforcer.unban(m.target);
        return;
      case 'ping':
        return;
    }
  }

  #onBadLine(e: DecodeError): void {
    this.metrics.inc(AgentCounter.BAD_LINES);
    this.#logger.warn({ error: e.error, line: e.line }, 'skipped a bad stream line');
  }

  #setSeq(seq: number): void {
    this.#lastSeq = seq;
    this.metrics.set(AgentGauge.LAST_SEQ, seq);
    if (this.#config.stateFile !== '' && this.#stateTimer === undefined) {
      this.#stateTimer = setTimeout(() => {
        this.#stateTimer = undefined;
        void this.#saveState();
      }, STATE_WRITE_DELAY_MS);
    }
  }

  #saveState(): Promise<void> {
    const file = this.#config.stateFile;
    if (file === '') return Promise.resolve();
    const state = { seq: this.#lastSeq, bans: this.#enforcer.wantedBans() };
    this.#stateWrite = this.#stateWrite.then(() =>
      writeAgentState(file, state).catch((e: unknown) => {
        this.#logger.warn(
          { err: describeError(e), file },
          `cannot write the state file: ${describeError(e)}`,
        );
        this.#problem(`cannot write the state file: ${describeError(e)}`);
      }),
    );
    return this.#stateWrite;
  }

  #scheduleReconcile(): void {
    if (!this.#running) return;
    this.#reconcileTimer = setTimeout(() => {
      void this.#reconcile().finally(() => {
        this.#scheduleReconcile();
      });
    }, this.#config.reconcileInterval * 1000);
  }

  async #reconcile(): Promise<ReconcileResult> {
    await this.#serverAddresses.refresh();
    try {
      const result = await this.#enforcer.reconcile(this.#guard());
      const level = result.added + result.removed > 0 || result.rebuilt ? 'warn' : 'debug';
      this.#logger[level](
        { ...result, server: this.#server, counters: this.metrics.snapshot() },
        'reconciled the nft sets with the kernel',
      );
      this.emit('reconciled', result);
      return result;
    } catch (e) {
      this.#logger.error({ err: describeError(e) }, `reconcile failed: ${describeError(e)}`);
      this.#problem(`reconcile failed: ${describeError(e)}`);
      const result = { added: 0, removed: 0, rebuilt: false };
      this.emit('reconciled', result);
      return result;
    }
  }

  #guard(): Guard {
    return new Guard({
      'own address': ownAddresses(),
      'server address': this.#serverAddresses.cidrs,
      allowlist: allowList(this.#config.allow),
    });
  }
}
