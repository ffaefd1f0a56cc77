// The composition root: builds every part from the config, starts them in order, closes them in reverse.
import { hostname } from 'node:os';
import { writeFile, rename } from 'node:fs/promises';
import type { Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import { CidrSet, type Cidr } from '../core/ip.js';
import { TRANSPORTS } from '../core/types.js';
import type { Logger } from '../core/logger.js';
import type { JailConfig } from '../jails/jail-config.js';
import { loadJails } from '../config/jails-dir.js';
import type { FleetbanConfig } from '../config/load.js';
import { AdminServer } from '../control/admin-server.js';
import { DashboardServer } from '../dashboard/dashboard-server.js';
import { usersAdminExtension } from '../dashboard/users-admin.js';
import type { UserDirectory } from '../dashboard/users.js';
import { AgentApi } from '../distribute/agent-api.js';
import type { AgentDirectory } from '../distribute/agent-registry.js';
import { agentsAdminExtension } from '../distribute/agents-admin.js';
import { feedsAdminExtension } from '../distribute/feeds-admin.js';
import { readOnlyFeedMessage } from '../distribute/token-registry.js';
import { HostBindings } from '../ingest/host-bindings.js';
import { Ingest, type ListeningAddresses } from '../ingest/ingest.js';
import { SenderTable } from '../ingest/senders.js';
import { JailEngine } from '../jails/engine.js';
import { renderBrakeTrip } from '../notify/brake-alert.js';
import { FilterSource } from '../jails/filters/index.js';
import { mailAdminExtension } from '../notify/mail-admin.js';
import { Mailer } from '../notify/mailer.js';
import type { WebhookDeliverer } from '../notify/webhook.js';
import { computeBantime } from '../jails/policy.js';
import { BanLog } from '../log/ban-log.js';
import { SyslogTimeZone } from '../parse/syslog.js';
import type { BanStore } from '../store/store.js';
import { backendFromConfig, type Backend } from './backend.js';
import { ClusterPeers, jailsDigest } from './cluster-peers.js';
import { clusterMetrics } from './cluster-metrics.js';
import type { MetricFamily } from '../control/metrics.js';
import { SharedWindows } from '../cluster/shared-windows.js';
import { fleetbanVersion } from '../core/version.js';
import { BanGuard, neverBanReport } from './ban-guard.js';
import { BanManager } from './ban-manager.js';
import { followBanChanges } from './ban-reactions.js';
import { BanBrake } from './brake.js';
import { silentCheckIntervalMs, SilentSenders, silentWatchOff } from './silent-senders.js';
import { brakeAdminExtension } from './brake-admin.js';
import { ServerControlPlane } from './control-plane.js';
import { ExpiryScheduler } from './expiry.js';
import { NeverBanList, neverBanSources } from './never-ban.js';
import {
  authLimitOptions,
  ingestOptions,
  mailerOptions,
  mailTransport,
  parseAll,
} from './options.js';
import { webhookDeliverers, webhookMetrics } from './webhooks.js';
import { Pipeline } from './pipeline.js';

/** How often idle attacker windows are swept and old history pruned. */
const SWEEP_INTERVAL_MS = 60_000;
const PRUNE_INTERVAL_MS = 6 * 3600_000;
/** How often refused HOSTNAME claims (ingest.senders) are logged, aggregated. */
const SPOOF_REPORT_INTERVAL_MS = 10_000;

/** How often a server on a shared store looks for notices another server left behind. */
const OUTBOX_LOOK_INTERVAL_MS = 10_000;

export interface ServerOptions {
  readonly config: FleetbanConfig;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Loads the config again for `reload` (SIGHUP, `fleetban reload`); throws when it is bad. */
  readonly reloadConfig: () => FleetbanConfig;
  /** Where to write the listening addresses once serving (tests, benchmarks); '' for none. */
  readonly readyFile?: string;
}

/** What `start()` reports, and what the ready file holds. */
export interface ServingAddresses extends ListeningAddresses {
  readonly admin: { readonly socket?: string; readonly http?: { address: string; port: number } };
  /** The agent API listener; absent when agents.enabled is false. */
  readonly agents?: { readonly address: string; readonly port: number };
  /** The web dashboard; absent when dashboard.enabled is false. */
  readonly dashboard?: { readonly address: string; readonly port: number; readonly url: string };
}

export class FleetbanServer {
  readonly #opts: ServerOptions;
  readonly #logger: Logger;
  #config: FleetbanConfig;
  readonly #store: BanStore;
  readonly #backend: Backend;
  /** Failure windows shared through Redis; null on the level store (windows in memory). */
  readonly #sharedWindows: SharedWindows | null;
  /** The other servers on the shared store; null on the level store. */
  readonly #peers: ClusterPeers | null;
  readonly #banLog: BanLog;
  readonly #neverBan: NeverBanList;
  readonly #engine: JailEngine;
  readonly #bans: BanManager;
  readonly #brake: BanBrake;
  readonly #hostBindings: HostBindings;
  readonly #expiry: ExpiryScheduler;
  readonly #senders: SenderTable;
  /** null when ingest.silentAfter is 0. */
  readonly #silent: SilentSenders | null;
  readonly #pipeline: Pipeline;
  readonly #ingest: Ingest;
  readonly #admin: AdminServer;
  readonly #agentRegistry: AgentDirectory;
  readonly #agentApi: AgentApi;
  /** null when mail.enabled is false. */
  readonly #mailer: Mailer | null;
  /** notify.webhooks: each follows the change feed on its own. */
  readonly #webhooks: WebhookDeliverer[];
  /** Dashboard users, beside the store; managed through the admin API even when the dashboard is off. */
  readonly #users: UserDirectory;
  /** null when dashboard.enabled is false. */
  readonly #dashboard: DashboardServer | null;
  readonly #timers: NodeJS.Timeout[] = [];
  #stopReacting: (() => void) | undefined;
  #closing: Promise<void> | null = null;

  /** Builds every part; throws (config, jails) before anything is opened or bound. */
  constructor(opts: ServerOptions) {
    this.#opts = opts;
    this.#config = opts.config;
    const { config, logger, clock } = opts;
    this.#logger = logger;
    const jails = loadJails(config);
    this.#backend = backendFromConfig(config, {
      clock,
      logger,
      onAgentRemoved: (name) => {
        this.#agentApi.dropRemoved(name);
      },
      onUserRemoved: (name) => {
        this.#dashboard?.endUser(name);
      },
    });
    this.#store = this.#backend.store;
    const redis = this.#backend.shared;
    // On Redis an attacker's failures count together whichever server received them.
    this.#sharedWindows =
      redis === null
        ? null
        : new SharedWindows({
            client: redis.client,
            keyPrefix: redis.keyPrefix,
            logger: logger.child({ part: 'windows' }),
            // While Redis is down failures wait in memory (up to their caps) and count when it is back.
            giveUpMs: 10 * 60_000,
          });
    this.#banLog = new BanLog(config.log.banLog, logger.child({ part: 'bans' }), clock);
    this.#neverBan = new NeverBanList(neverBanSources(config));
    // The engine's list is the global ignoreip plus the jail's own, parsed once per (re)load.
    const ignored = (jail: string): Cidr[] => this.#engine.ignoreList(jail);
    const guard = new BanGuard({
      neverBan: this.#neverBan,
      ignored,
      logger: logger.child({ part: 'bans' }),
    });
    this.#bans = new BanManager({
      store: this.#store,
      clock,
      logger: logger.child({ part: 'bans' }),
      banLog: this.#banLog,
      bantime: (jail, history) => {
        const jc = this.#jailConfig(jail);
        return jc === undefined ? MANUAL_BANTIME_SEC : computeBantime(jc, history, Math.random);
      },
      ignored,
      guard,
      notify: (ban, event) => this.#wantsMail(ban.jail, ban.origin, event),
      gate: (request, target) => this.#brake.check(request, target),
    });
    this.#brake = new BanBrake(
      {
        store: this.#store,
        clock,
        logger: logger.child({ part: 'brake' }),
        ban: (request) => {
          this.#bans.request(request, false);
        },
        drain: () => this.#bans.drain(),
        onTrip: (trip) => {
          const o = mailerOptions(this.#config.mail);
          this.#mailer?.alert(renderBrakeTrip(trip, o));
        },
      },
      config.brake,
    );
    this.#engine = new JailEngine({
      jails,
      ignore: new CidrSet(this.#globalIgnore()),
      maxTrackedAttackers: config.jails.maxTrackedAttackers,
      clock,
      isBanned: (target) => this.#bans.isBanned(target),
      ...(this.#sharedWindows !== null ? { sharedWindows: this.#sharedWindows } : {}),
      onBan: (request) => {
        this.#bans.request(request);
      },
    });
    this.#expiry = new ExpiryScheduler(this.#bans, () => this.#store.nextExpiry(), clock, logger);
    this.#senders = new SenderTable({ capacity: config.ingest.maxSenders });
    this.#hostBindings = new HostBindings(config.ingest.senders, (host, peer) => {
      logger.warn(
        { host, peer },
        `a line from ${peer} claimed HOSTNAME ${host}, which ingest.senders binds to other addresses: counted as spoofed, fed to no jail scoped to ${host}; more are summed every ${SPOOF_REPORT_INTERVAL_MS / 1000}s`,
      );
    });
    this.#silent = this.#silentSenders(config);
    this.#pipeline = new Pipeline(
      { maxSkewMs: config.ingest.maxClockSkew * 1000, timeZone: new SyslogTimeZone('local') },
      (event) => {
        this.#engine.process(event);
      },
      this.#hostBindings,
    );
    this.#ingest = new Ingest(ingestOptions(config), {
      sink: this.#pipeline,
      senders: this.#senders,
      clock,
      log: logger.child({ part: 'ingest' }),
    });
    this.#mailer = config.mail.enabled
      ? new Mailer({
          store: this.#store,
          transport: mailTransport(config.mail),
          clock,
          logger: logger.child({ part: 'mail' }),
          options: mailerOptions(config.mail),
          recipients: (jail) => this.#recipients(jail),
        })
      : null;
    this.#webhooks = webhookDeliverers(config, hostname(), {
      store: this.#store,
      clock,
      logger: logger.child({ part: 'webhook' }),
      wants: (jail, origin) => origin === 'jail' && this.#jailConfig(jail)?.notify !== 'off',
      active: () => this.#peers === null || this.#peers.isLeader(),
    });
    const startedAt = clock.now();
    const shared = this.#backend.shared;
    this.#peers =
      shared === null
        ? null
        : new ClusterPeers({
            ...shared,
            clock,
            logger: logger.child({ part: 'cluster' }),
            store: this.#backend.where,
            self: () => ({
              host: hostname(),
              pid: process.pid,
              version: fleetbanVersion(),
              startedAt,
              lastSeq: this.#store.stats().lastSeq,
              // The file a jail came from may differ between servers; what it says must not.
              jails: jailsDigest(this.#engine.configs().map((jail) => ({ ...jail, file: '' }))),
            }),
          });
    const plane = new ServerControlPlane({
      clock,
      store: this.#store,
      engine: this.#engine,
      bans: this.#bans,
      ingest: this.#ingest,
      senders: this.#senders,
      pipeline: this.#pipeline,
      reload: () => this.reload(),
      storeHealth: () => this.#backend.health(),
      ...(this.#peers !== null ? { cluster: this.#peers } : {}),
      moreMetrics: () => [...this.#clusterMetrics(), ...webhookMetrics(this.#webhooks)],
      silent: this.#silent ?? silentWatchOff,
      webhooks: () => this.#webhooks.map((hook) => hook.status()),
      outbox: () =>
        this.#mailer?.status() ?? {
          enabled: false,
          transport: 'none (mail.enabled is false)',
          pending: this.#store.outboxSize(),
          sent: 0,
          failedAttempts: 0,
          lastError: null,
          lastErrorAt: null,
          lastSuccessAt: null,
          nextRetryAt: null,
        },
      brake: () => this.#brake.report(),
      neverBan: () => {
        const withheld = this.#agentApi.withheld;
        return neverBanReport(
          this.#neverBan,
          guard.stats,
          withheld.stream + withheld.nftables + withheld.blocklist,
        );
      },
    });
    this.#agentRegistry = this.#backend.agents;
    this.#agentApi = new AgentApi({
      store: this.#store,
      registry: this.#agentRegistry,
      feeds: this.#backend.feeds,
      clock,
      logger: logger.child({ part: 'agents' }),
      address: config.agents.address,
      port: config.agents.port,
      tls: config.agents.tls,
      pingIntervalMs: config.agents.pingInterval * 1000,
      maxQueued: config.agents.maxQueued,
      withhold: this.#neverBan,
      onAgentPeer: (agent, address) => {
        if (this.#neverBan.addAgentPeer(agent, address))
          logger.info({ agent, address }, `agent ${agent} connects from ${address}: never banned`);
      },
      authLimit: authLimitOptions(config),
    });
    this.#users = this.#backend.users;
    this.#dashboard = config.dashboard.enabled
      ? new DashboardServer(
          {
            address: config.dashboard.address,
            port: config.dashboard.port,
            tls: config.dashboard.tls,
            sessionTtlMs: config.dashboard.sessionTtl * 1000,
            authLimit: authLimitOptions(config),
          },
          {
            plane,
            store: this.#store,
            users: this.#users,
            clock,
            logger: logger.child({ part: 'dashboard' }),
            failures: () => this.#engine.stats().reduce((n, s) => n + s.failures, 0),
            jails: () => this.#engine.configs().map((j) => j.name),
            silentSenders: () => this.#silent?.list() ?? [],
            agents: () => this.#agentApi.agents(),
            foreignToken: this.#feedTokenRefusal('the dashboard (sign in with a user token)'),
            historyRetentionMs: () => this.#config.store.historyRetention * 1000,
          },
        )
      : null;
    this.#admin = new AdminServer({
      plane,
      // Agents are managed through the admin API even when their listener is off.
      extensions: [
        agentsAdminExtension(this.#agentApi),
        feedsAdminExtension(this.#backend.feeds, logger.child({ part: 'feeds' })),
        mailAdminExtension(this.#mailer),
        brakeAdminExtension(this.#brake),
        usersAdminExtension(
          this.#users,
          (name) => this.#dashboard?.endUser(name),
          () => this.#dashboard?.metrics() ?? [],
        ),
      ],
      logger: logger.child({ part: 'admin' }),
      ...(config.control.socket !== '' ? { socket: config.control.socket } : {}),
      ...(config.control.http.enabled
        ? {
            http: {
              address: config.control.http.address,
              port: config.control.http.port,
              token: config.control.http.token,
              authLimit: authLimitOptions(config),
              foreignToken: this.#feedTokenRefusal('the admin API'),
            },
          }
        : {}),
    });
    plane.attachListening(() => this.#listening);
  }

  #listening: ListeningAddresses = {};

  /** The 403 message for a feed token presented to `place`, or undefined for any other token. */
  #feedTokenRefusal(place: string): (token: string) => string | undefined {
    return (token) => {
      const feed = this.#backend.feeds.authenticate(token);
      return feed === undefined ? undefined : readOnlyFeedMessage(feed.name, place);
    };
  }

  /** Opens the store, lifts bans that ended while down, then serves the admin API and ingest. */
  async start(): Promise<ServingAddresses> {
    const started = Date.now();
    await this.#store.open();
    this.#logger.info(
      {
        activeBans: this.#store.stats().activeBans,
        store: this.#backend.where,
        ms: Date.now() - started,
      },
      'ban store opened',
    );
    await this.#expiry.start();
    this.#brake.start();
    this.#stopReacting = followBanChanges({
      store: this.#store,
      engine: this.#engine,
      onBanStored: () => {
        this.#expiry.rearm();
      },
      ...(this.#peers !== null ? { countsBans: () => this.#peers?.isLeader() === true } : {}),
    });
    await this.#replayRecentBans();
    // Before ingest: mail left from the last run goes out; bans restored from the store are not re-mailed.
    this.#mailer?.start();
    let admin: ServingAddresses['admin'];
    let agents: ServingAddresses['agents'];
    let dashboard: ServingAddresses['dashboard'];
    try {
      for (const hook of this.#webhooks) await hook.start();
      await this.#agentRegistry.load();
      await this.#backend.feeds.load();
      await this.#users.load();
      await this.#peers?.start();
      admin = await this.#admin.start();
      if (this.#config.agents.enabled) agents = await this.#agentApi.start();
      dashboard = await this.#dashboard?.start();
      this.#listening = await this.#ingest.start();
    } catch (e) {
      await this.#dashboard?.close().catch(() => undefined);
      await this.#agentApi.close().catch(() => undefined);
      await this.#admin.close().catch(() => undefined);
      await this.#expiry.close();
      await this.#mailer?.close();
      for (const hook of this.#webhooks) await hook.close();
      await this.#peers?.close();
      await this.#sharedWindows?.close();
      await this.#backend.close();
      await this.#store.close();
      throw e;
    }
    this.#every(SWEEP_INTERVAL_MS, () => this.#engine.sweep());
    // On a shared store the server holding the outbox lease mails; when it dies, whoever looks
    // next after its lease runs out takes the pending notices over.
    if (this.#backend.shared !== null && this.#mailer !== null) {
      const mailer = this.#mailer;
      this.#every(OUTBOX_LOOK_INTERVAL_MS, () => {
        if (this.#store.outboxSize() > 0) mailer.kick();
      });
    }
    this.#every(PRUNE_INTERVAL_MS, () => void this.#pruneHistory());
    if (!this.#hostBindings.empty)
      this.#every(SPOOF_REPORT_INTERVAL_MS, () => {
        this.#reportSpoofs();
      });
    const silent = this.#silent;
    if (silent !== null)
      this.#every(silentCheckIntervalMs(silent.silentAfterMs), () => {
        silent.check();
      });
    this.#warnAboutOpenIngest();
    this.#warnAboutUnboundHosts();
    this.#logger.info(
      { neverBan: this.#neverBan.entries() },
      `never banned: ${this.#neverBan
        .entries()
        .map((e) => e.cidr)
        .join(', ')}`,
    );
    this.#logFilterNotices();
    const serving: ServingAddresses = {
      ...this.#listening,
      admin,
      ...(agents !== undefined ? { agents } : {}),
      ...(dashboard !== undefined ? { dashboard } : {}),
    };
    this.#logger.info(
      {
        ...serving,
        jails: this.#engine
          .configs()
          .filter((j) => j.enabled)
          .map((j) => j.name),
      },
      'fleetban serving',
    );
    if (dashboard !== undefined) {
      this.#logger.info(
        { url: dashboard.url },
        `dashboard at ${dashboard.url} (sign in with a token from: fleetban users add NAME --role admin)`,
      );
    }
    if (this.#opts.readyFile !== undefined && this.#opts.readyFile !== '') {
      const tmp = `${this.#opts.readyFile}.tmp`;
      await writeFile(tmp, JSON.stringify(serving));
      await rename(tmp, this.#opts.readyFile);
    }
    return serving;
  }

  /**
   * Loads and checks the whole new config before changing anything; a bad one throws and the
   * old one keeps running. Counters, windows and bans survive. Listener changes need a restart.
   */
  reload(): {
    jails: string[];
    added: string[];
    removed: string[];
    changed: string[];
    warnings: string[];
  } {
    const next = this.#opts.reloadConfig();
    const jails = loadJails(next);
    const ignore = parseAll(next.jails.ignoreip);
    const before = new Map(this.#engine.configs().map((j) => [j.name, j]));
    this.#engine.reload(jails, new CidrSet(ignore));
    this.#brake.configure(next.brake);
    // Admin networks apply now; the listeners and senders they sit beside wait for a restart.
    this.#neverBan.reconfigure(neverBanSources({ ...this.#config, neverBan: next.neverBan }));
    const warnings: string[] = [];
    for (const key of ['ingest', 'store', 'control', 'agents', 'mail', 'dashboard'] as const) {
      if (JSON.stringify(next[key]) !== JSON.stringify(this.#config[key])) {
        warnings.push(`${key}.* changed: it takes effect at the next restart`);
      }
    }
    // Only the jails and brake parts take effect now; keep the rest as running, so that a later reload
    // still warns about what waits for a restart.
    this.#config = {
      ...this.#config,
      jails: next.jails,
      brake: next.brake,
      neverBan: next.neverBan,
    };
    const names = jails.map((j) => j.name);
    const report = {
      jails: names,
      added: names.filter((n) => !before.has(n)),
      removed: [...before.keys()].filter((n) => !names.includes(n)),
      changed: jails
        .filter((j) => before.has(j.name) && !sameJail(before.get(j.name), j))
        .map((j) => j.name),
      warnings,
    };
    this.#logger.info(report, 'configuration reloaded');
    for (const w of warnings) this.#logger.warn(w);
    // Unchanged jails said theirs at start or at the reload that brought them.
    this.#logFilterNotices([...report.added, ...report.changed]);
    return report;
  }

  /** Stops ingest, lets ban writes finish, stops the admin API, closes the store. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const t of this.#timers) clearInterval(t);
      await this.#ingest.close();
      // The last failures reach Redis; a crossing among them is a ban request drained next.
      await this.#sharedWindows?.close();
      this.#bans.stopWaiting();
      await this.#bans.drain();
      await this.#brake.flush();
      this.#stopReacting?.();
      await this.#expiry.close();
      await this.#mailer?.close();
      for (const hook of this.#webhooks) await hook.close();
      await this.#dashboard?.close();
      await this.#agentApi.close();
      await this.#admin.close();
      await this.#users.flush();
      await this.#agentRegistry.flush();
      await this.#backend.feeds.flush();
      await this.#peers?.close();
      await this.#backend.close();
      await this.#store.close();
      await this.#banLog.close();
      // What this run took in, final once ingest is closed: the counters start again at zero.
      const stats = this.#ingest.stats;
      this.#logger.info(
        {
          messages: Object.fromEntries(TRANSPORTS.map((t) => [t, stats.of(t).messages])),
          parsed: this.#pipeline.stats.parsed,
        },
        'fleetban stopped',
      );
    })();
    return this.#closing;
  }

  #jailConfig(name: string): JailConfig | undefined {
    return this.#engine.configs().find((j) => j.name === name);
  }

  /** Jail bans are mailed unless the jail says notify "off"; manual bans never (the admin knows). */
  #wantsMail(jail: string, origin: string, event: 'ban' | 'unban'): boolean {
    const mail = this.#config.mail;
    if (!mail.enabled || origin !== 'jail' || (event === 'unban' && !mail.onUnban)) return false;
    return this.#jailConfig(jail)?.notify !== 'off';
  }

  /** Asked at send time, so a reload's jail recipients apply to mail still waiting. */
  #recipients(jail: string): readonly string[] {
    const notify = this.#jailConfig(jail)?.notify ?? 'default';
    if (notify === 'off') return [];
    return notify === 'default' ? this.#config.mail.to : notify;
  }

  #globalIgnore(): Cidr[] {
    return parseAll(this.#config.jails.ignoreip);
  }

  /**
   * Recidive windows live in memory: before ingest starts they are refilled from the bans of the
   * change feed that fall within the longest recidive findtime, so a restart forgets no repeat
   * offender. At most the last REPLAY_FEED_ENTRIES entries are read.
   */
  async #replayRecentBans(): Promise<void> {
    const findtimes = this.#engine
      .configs()
      .filter((j) => j.enabled && j.source === FilterSource.BANS)
      .map((j) => j.findtime);
    if (findtimes.length === 0) return;
    const since = this.#opts.clock.now() - Math.max(...findtimes) * 1000;
    const depth = Math.min(REPLAY_FEED_ENTRIES, this.#config.store.feedRetention);
    let after = Math.max(0, this.#store.stats().lastSeq - depth);
    let replayed = 0;
    for (;;) {
      const page = await this.#store.changesSince(after, 5000);
      if (page === null || page.length === 0) break;
      for (const c of page) {
        if (c.kind !== 'ban' || c.ban.start < since) continue;
        this.#engine.processBan(c.ban, true);
        replayed++;
      }
      after = page[page.length - 1]?.seq ?? after;
    }
    if (replayed > 0) this.#logger.info({ replayed }, 'recent bans counted again for recidive');
  }

  /** The Redis store's and the shared windows' figures; none on the level store. */
  #clusterMetrics(): MetricFamily[] {
    const health = this.#backend.redisHealth;
    if (health === null || this.#sharedWindows === null) return [];
    return clusterMetrics({
      store: health(),
      windows: this.#sharedWindows.counters,
      windowsQueued: this.#sharedWindows.held,
      cluster: this.#peers?.summary() ?? null,
    });
  }

  /** The silent-sender watch (ingest.silentAfter); its alerts go to mail.to. */
  #silentSenders(config: FleetbanConfig): SilentSenders | null {
    if (config.ingest.silentAfter === 0) return null;
    return new SilentSenders(
      {
        senders: this.#senders,
        clock: this.#opts.clock,
        logger: this.#logger.child({ part: 'senders' }),
        nameOf: (address) => this.#hostBindings.nameOf(address),
        onChange: (kind, changes) => {
          this.#mailer?.silentSenders({
            at: this.#opts.clock.now(),
            kind,
            senders: changes,
            silentAfterMs: config.ingest.silentAfter * 1000,
          });
        },
      },
      config.ingest.silentAfter * 1000,
    );
  }

  #every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.#timers.push(t);
  }

  async #pruneHistory(): Promise<void> {
    try {
      const before = this.#opts.clock.now() - this.#config.store.historyRetention * 1000;
      const pruned = await this.#store.pruneHistory(before);
      if (pruned > 0) this.#logger.info({ pruned }, 'old attacker history pruned');
    } catch (e) {
      this.#logger.error({ err: e }, `cannot prune attacker history: ${describeError(e)}`);
    }
  }

  /** Load-time remarks of fail2ban filters (risky patterns, ignored options): once per load, not per line. */
  #logFilterNotices(jails?: readonly string[]): void {
    for (const { jail, notice } of this.#engine.filterNotices(jails)) {
      this.#logger.warn({ jail }, `jail ${jail}: filter notice: ${notice}`);
    }
  }

  /** One warning per claimed host and peer per interval, however many lines were refused. */
  #reportSpoofs(): void {
    const { pairs, other } = this.#hostBindings.takeReport();
    // A pair seen once was announced when it happened.
    for (const p of pairs.filter((x) => x.count > 1)) {
      this.#logger.warn(
        { host: p.host, peer: p.peer, count: p.count },
        `${p.count} lines from ${p.peer} claimed HOSTNAME ${p.host} in the last ${SPOOF_REPORT_INTERVAL_MS / 1000}s (bound to other addresses by ingest.senders)`,
      );
    }
    if (other > 0)
      this.#logger.warn(
        { count: other },
        `${other} more lines claimed a bound HOSTNAME from another address`,
      );
  }

  /** A jail scoped to host names trusts whatever HOSTNAME a sender writes, unless the name is bound. */
  #warnAboutUnboundHosts(): void {
    const bound = new Set(Object.keys(this.#config.ingest.senders).map((h) => h.toLowerCase()));
    for (const jail of this.#engine.configs()) {
      if (!jail.enabled) continue;
      const unbound = jail.hosts.names.filter((n) => !bound.has(n.toLowerCase()));
      if (unbound.length === 0) continue;
      this.#logger.warn(
        { jail: jail.name, hosts: unbound },
        `jail ${jail.name} is scoped to hosts ${unbound.join(', ')}, which any allowed sender can claim: bind them to their addresses in ingest.senders (and forward over TLS)`,
      );
    }
  }

  #warnAboutOpenIngest(): void {
    if (this.#config.ingest.allowedSenders.length === 0) {
      this.#logger.warn(
        'ingest.allowedSenders is empty: any host that reaches the syslog ports can feed the jails; syslog is easy to forge, so list your servers',
      );
    }
  }
}

/** Most change-feed entries read at start to refill the recidive windows. */
const REPLAY_FEED_ENTRIES = 200_000;

/** Ban time of a manual ban filed under no jail, when the admin gives no --for. */
const MANUAL_BANTIME_SEC = 3600;

function sameJail(a: JailConfig | undefined, b: JailConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
