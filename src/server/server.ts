// The composition root: builds every part from the config, starts them in order, closes them in reverse.
import { writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import { CidrSet, type Cidr } from '../core/ip.js';
import type { Logger } from '../core/logger.js';
import type { JailConfig } from '../config/jail-options.js';
import { loadJails } from '../config/jails-dir.js';
import type { FleetbanConfig } from '../config/load.js';
import { AdminServer } from '../control/admin-server.js';
import { AgentApi } from '../distribute/agent-api.js';
import { AgentRegistry } from '../distribute/agent-registry.js';
import { agentsAdminExtension } from '../distribute/agents-admin.js';
import { Ingest, type ListeningAddresses } from '../ingest/ingest.js';
import { SenderTable } from '../ingest/senders.js';
import { JailEngine } from '../jails/engine.js';
import { mailAdminExtension } from '../notify/mail-admin.js';
import { Mailer } from '../notify/mailer.js';
import { computeBantime } from '../jails/policy.js';
import { BanLog } from '../log/ban-log.js';
import { SyslogTimeZone } from '../parse/syslog.js';
import { LevelBanStore } from '../store/level-store.js';
import type { BanStore } from '../store/store.js';
import { BanManager } from './ban-manager.js';
import { ServerControlPlane } from './control-plane.js';
import { ExpiryScheduler } from './expiry.js';
import {
  authLimitOptions,
  ingestOptions,
  mailerOptions,
  mailTransport,
  parseAll,
} from './options.js';
import { Pipeline } from './pipeline.js';

/** How often idle attacker windows are swept and old history pruned. */
const SWEEP_INTERVAL_MS = 60_000;
const PRUNE_INTERVAL_MS = 6 * 3600_000;

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
}

export class FleetbanServer {
  readonly #opts: ServerOptions;
  readonly #logger: Logger;
  #config: FleetbanConfig;
  readonly #store: BanStore;
  readonly #banLog: BanLog;
  readonly #engine: JailEngine;
  readonly #bans: BanManager;
  readonly #expiry: ExpiryScheduler;
  readonly #senders: SenderTable;
  readonly #pipeline: Pipeline;
  readonly #ingest: Ingest;
  readonly #admin: AdminServer;
  readonly #agentRegistry: AgentRegistry;
  readonly #agentApi: AgentApi;
  /** null when mail.enabled is false. */
  readonly #mailer: Mailer | null;
  readonly #timers: NodeJS.Timeout[] = [];
  #closing: Promise<void> | null = null;

  /** Builds every part; throws (config, jails) before anything is opened or bound. */
  constructor(opts: ServerOptions) {
    this.#opts = opts;
    this.#config = opts.config;
    const { config, logger, clock } = opts;
    this.#logger = logger;
    const jails = loadJails(config);
    this.#store = new LevelBanStore(config.store.path, {
      sync: config.store.sync,
      feedRetention: config.store.feedRetention,
      logger: logger.child({ part: 'store' }),
    });
    this.#banLog = new BanLog(config.log.banLog, logger.child({ part: 'bans' }), clock);
    this.#bans = new BanManager({
      store: this.#store,
      clock,
      logger: logger.child({ part: 'bans' }),
      banLog: this.#banLog,
      bantime: (jail, history) => {
        const jc = this.#jailConfig(jail);
        return jc === undefined ? MANUAL_BANTIME_SEC : computeBantime(jc, history, Math.random);
      },
      ignored: (jail) => [...this.#globalIgnore(), ...this.#engine.ignoreList(jail)],
      onBanned: (ban) => {
        this.#engine.forget(ban.target);
        this.#expiry.rearm();
      },
      notify: (ban, event) => this.#wantsMail(ban.jail, ban.origin, event),
    });
    this.#engine = new JailEngine({
      jails,
      ignore: new CidrSet(this.#globalIgnore()),
      maxTrackedAttackers: config.jails.maxTrackedAttackers,
      clock,
      isBanned: (target) => {
        const ban = this.#store.get(target);
        return ban !== undefined && (ban.end === null || ban.end > clock.now());
      },
      onBan: (request) => {
        this.#bans.request(request);
      },
    });
    this.#expiry = new ExpiryScheduler(this.#bans, () => this.#store.nextExpiry(), clock, logger);
    this.#senders = new SenderTable({ capacity: config.ingest.maxSenders });
    this.#pipeline = new Pipeline(
      { maxSkewMs: config.ingest.maxClockSkew * 1000, timeZone: new SyslogTimeZone('local') },
      (event) => {
        this.#engine.process(event);
      },
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
    const plane = new ServerControlPlane({
      clock,
      store: this.#store,
      engine: this.#engine,
      bans: this.#bans,
      ingest: this.#ingest,
      senders: this.#senders,
      pipeline: this.#pipeline,
      reload: () => this.reload(),
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
    });
    // Next to the LevelDB files: one folder to back up, one owner, one set of permissions.
    this.#agentRegistry = new AgentRegistry(join(config.store.path, 'agents.json'), clock);
    this.#agentApi = new AgentApi({
      store: this.#store,
      registry: this.#agentRegistry,
      clock,
      logger: logger.child({ part: 'agents' }),
      address: config.agents.address,
      port: config.agents.port,
      tls: config.agents.tls,
      pingIntervalMs: config.agents.pingInterval * 1000,
      maxQueued: config.agents.maxQueued,
      authLimit: authLimitOptions(config),
    });
    this.#admin = new AdminServer({
      plane,
      // Agents are managed through the admin API even when their listener is off.
      extensions: [agentsAdminExtension(this.#agentApi), mailAdminExtension(this.#mailer)],
      logger: logger.child({ part: 'admin' }),
      ...(config.control.socket !== '' ? { socket: config.control.socket } : {}),
      ...(config.control.http.enabled
        ? {
            http: {
              address: config.control.http.address,
              port: config.control.http.port,
              token: config.control.http.token,
              authLimit: authLimitOptions(config),
            },
          }
        : {}),
    });
    plane.attachListening(() => this.#listening);
  }

  #listening: ListeningAddresses = {};

  /** Opens the store, lifts bans that ended while down, then serves the admin API and ingest. */
  async start(): Promise<ServingAddresses> {
    const started = Date.now();
    await this.#store.open();
    this.#logger.info(
      {
        activeBans: this.#store.stats().activeBans,
        path: this.#config.store.path,
        ms: Date.now() - started,
      },
      'ban store opened',
    );
    await this.#expiry.start();
    // Before ingest: mail left from the last run goes out; bans restored from the store are not re-mailed.
    this.#mailer?.start();
    let admin: ServingAddresses['admin'];
    let agents: ServingAddresses['agents'];
    try {
      await this.#agentRegistry.load();
      admin = await this.#admin.start();
      if (this.#config.agents.enabled) agents = await this.#agentApi.start();
      this.#listening = await this.#ingest.start();
    } catch (e) {
      await this.#agentApi.close().catch(() => undefined);
      await this.#admin.close().catch(() => undefined);
      await this.#expiry.close();
      await this.#mailer?.close();
      await this.#store.close();
      throw e;
    }
    this.#every(SWEEP_INTERVAL_MS, () => this.#engine.sweep());
    this.#every(PRUNE_INTERVAL_MS, () => void this.#pruneHistory());
    this.#warnAboutOpenIngest();
    this.#logFilterNotices();
    const serving: ServingAddresses = {
      ...this.#listening,
      admin,
      ...(agents !== undefined ? { agents } : {}),
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
    const warnings: string[] = [];
    for (const key of ['ingest', 'store', 'control', 'agents', 'mail'] as const) {
      if (JSON.stringify(next[key]) !== JSON.stringify(this.#config[key])) {
        warnings.push(`${key}.* changed: it takes effect at the next restart`);
      }
    }
    // Only the jails part takes effect now; keep the rest as running, so that a later reload
    // still warns about what waits for a restart.
    this.#config = { ...this.#config, jails: next.jails };
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
      await this.#bans.drain();
      await this.#expiry.close();
      await this.#mailer?.close();
      await this.#agentApi.close();
      await this.#admin.close();
      await this.#agentRegistry.flush();
      await this.#store.close();
      await this.#banLog.close();
      this.#logger.info('fleetban stopped');
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

  #warnAboutOpenIngest(): void {
    if (this.#config.ingest.allowedSenders.length === 0) {
      this.#logger.warn(
        'ingest.allowedSenders is empty: any host that reaches the syslog ports can feed the jails; syslog is easy to forge, so list your servers',
      );
    }
  }
}

/** Ban time of a manual ban filed under no jail, when the admin gives no --for. */
const MANUAL_BANTIME_SEC = 3600;

function sameJail(a: JailConfig | undefined, b: JailConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
