// The server side of the admin API: answers status, bans, ban/unban and reload from the live parts.
import type { Clock } from '../core/clock.js';
import { ErrorCode, FleetbanError } from '../core/errors.js';
import { TRANSPORTS, type Ban } from '../core/types.js';
import { fleetbanVersion } from '../core/version.js';
import type {
  BanCommand,
  BrakeReport,
  ClusterDetail,
  ControlPlane,
  HealthReport,
  JailStatusReport,
  OutboxReport,
  WebhookReport,
  ListedBan,
  ListenerReport,
  NeverBanReport,
  ReloadReport,
  SenderReport,
  SilentSendersReport,
  StatusReport,
  UnbanCommand,
} from '../control/plane.js';
import type { MetricFamily } from '../control/metrics.js';
import type { Ingest, ListeningAddresses } from '../ingest/ingest.js';
import { formatEndpoint } from '../ingest/options.js';
import type { SenderTable } from '../ingest/senders.js';
import type { JailEngine, JailStats } from '../jails/engine.js';
import type { BanStore } from '../store/store.js';
import type { StoreHealth } from './backend.js';
import type { ClusterPeers } from './cluster-peers.js';
import type { BanManager } from './ban-manager.js';
import { neverBanMetrics } from './ban-guard.js';
import { collectMetrics } from './metrics.js';
import type { Pipeline } from './pipeline.js';

export interface ControlPlaneParts {
  readonly clock: Clock;
  readonly store: BanStore;
  readonly engine: JailEngine;
  readonly bans: BanManager;
  readonly ingest: Ingest;
  readonly senders: SenderTable;
  readonly pipeline: Pipeline;
  readonly reload: () => ReloadReport;
  /** The mail outbox for `fleetban status`. */
  readonly outbox?: () => OutboxReport;
  /** notify.webhooks for `fleetban status`; absent: none configured. */
  readonly webhooks?: () => readonly WebhookReport[];
  /** The ban brake for `fleetban status`. */
  readonly brake?: () => BrakeReport;
  /** The never-ban list and its counters. */
  readonly neverBan?: () => NeverBanReport;
  /** The ban store's health line; absent: always ok, with the active ban count. */
  readonly storeHealth?: () => StoreHealth;
  /** The servers sharing a Redis store; absent on the level store. */
  readonly cluster?: ClusterPeers;
  /** More metric families (the Redis store's, the shared windows'); absent: none. */
  readonly moreMetrics?: () => MetricFamily[];
  /** Senders flagged silent (ingest.silentAfter); absent: never flagged. */
  readonly silent?: {
    report(): SilentSendersReport;
    silentSince(address: string): number | null;
    readonly count: number;
  };
}

export class ServerControlPlane implements ControlPlane {
  readonly #p: ControlPlaneParts;
  readonly #startedAt: number;
  readonly #version = fleetbanVersion();
  #listening: () => ListeningAddresses = () => ({});

  constructor(parts: ControlPlaneParts) {
    this.#p = parts;
    this.#startedAt = parts.clock.now();
  }

  attachListening(listening: () => ListeningAddresses): void {
    this.#listening = listening;
  }

  status(): StatusReport {
    const now = this.#p.clock.now();
    const perJail = this.#activeBansPerJail();
    const jails = this.#p.engine.stats().map((s) => jailReport(s, perJail.get(s.name) ?? 0));
    const store = this.#p.store.stats();
    const counters = TRANSPORTS.map((t) => this.#p.ingest.stats.of(t));
    const sum = (pick: (c: (typeof counters)[number]) => number) =>
      counters.reduce((n, c) => n + pick(c), 0);
    const listening = this.#listening();
    const { udpSockets } = this.#p.ingest.stats;
    return {
      version: this.#version,
      startedAt: this.#startedAt,
      uptimeSec: Math.round((now - this.#startedAt) / 1000),
      jails,
      activeBans: store.activeBans,
      ingest: {
        listening: TRANSPORTS.flatMap((t): ListenerReport[] => {
          const e = listening[t];
          if (e === undefined) return [];
          const reader =
            t === 'udp' ? udpSockets[formatEndpoint(e.address, e.port)]?.reader : undefined;
          return [
            { transport: t, address: e.address, port: e.port, ...(reader ? { reader } : {}) },
          ];
        }),
        messages: sum((c) => c.messages),
        bytes: sum((c) => c.bytes),
        dropped: sum((c) => c.droppedNotAllowed),
        oversized: sum((c) => c.oversized),
        framingErrors: sum((c) => c.framingErrors),
        invalidUtf8: sum((c) => c.invalidUtf8),
        parseErrors: this.#p.pipeline.stats.parseErrors,
        parsed: this.#p.pipeline.stats.parsed,
        backlogDropped: this.#p.ingest.stats.udpReceiver.backlogDropped,
        connectionsOpen: sum((c) => c.connectionsOpen),
      },
      store: { activeBans: store.activeBans, lastSeq: store.lastSeq },
      ...(this.#p.outbox !== undefined ? { outbox: this.#p.outbox() } : {}),
      ...(this.#p.brake !== undefined ? { brake: this.#p.brake() } : {}),
      ...(this.#p.neverBan !== undefined ? { neverBan: this.#p.neverBan() } : {}),
      ...(this.#p.cluster !== undefined ? { cluster: this.#p.cluster.summary() } : {}),
      ...(this.#p.silent !== undefined ? { silentSenders: this.#p.silent.report() } : {}),
      ...(this.#p.webhooks !== undefined ? { webhooks: this.#p.webhooks() } : {}),
    };
  }

  jailStatus(name: string): JailStatusReport {
    const s = this.#p.engine.stats().find((j) => j.name === name);
    if (s === undefined)
      throw unknownJail(
        name,
        this.#p.engine.stats().map((j) => j.name),
      );
    return jailReport(s, this.#activeBansPerJail().get(name) ?? 0);
  }

  async bans(query: { readonly jail?: string }): Promise<ListedBan[]> {
    const listed: Ban[] = [];
    for (const b of this.#p.store.active())
      if (query.jail === undefined || b.jail === query.jail) listed.push(b);
    listed.sort((a, b) => a.start - b.start || a.target.localeCompare(b.target));
    return Promise.all(
      listed.map(async (b) => ({
        ...b,
        hosts: (await this.#p.store.details(b.target))?.hosts ?? {},
      })),
    );
  }

  async ban(req: BanCommand): Promise<Ban> {
    if (req.jail !== undefined && !this.#p.engine.configs().some((j) => j.name === req.jail)) {
      throw unknownJail(
        req.jail,
        this.#p.engine.configs().map((j) => j.name),
      );
    }
    const ban = await this.#p.bans.ban(req);
    return ban;
  }

  unban(req: UnbanCommand): Promise<Ban[]> {
    // The server's change-feed reaction clears the counting of what was lifted.
    return this.#p.bans.unban(req, 'all' in req ? 'manual: --all' : 'manual');
  }

  reload(): Promise<ReloadReport> {
    return Promise.resolve().then(() => this.#p.reload());
  }

  senders(): SenderReport[] {
    return this.#p.senders.snapshot().map((s) => ({
      address: s.address,
      messages: s.messages,
      bytes: s.bytes,
      parseErrors: s.parseErrors,
      dropped: s.dropped,
      invalidUtf8: s.invalidUtf8,
      oversized: s.oversized,
      spoofedHostname: s.spoofedHostname,
      firstSeen: s.firstSeen,
      lastSeen: s.lastSeen,
      transports: TRANSPORTS.filter((t) => s.transports[t] > 0),
      silentSince: this.#p.silent?.silentSince(s.address) ?? null,
    }));
  }

  metrics(): MetricFamily[] {
    const neverBan = this.#p.neverBan === undefined ? [] : neverBanMetrics(this.#p.neverBan());
    return [...this.#collect(), ...neverBan, ...(this.#p.moreMetrics?.() ?? [])];
  }

  #collect(): MetricFamily[] {
    return collectMetrics({
      ingest: this.#p.ingest.stats,
      pipeline: this.#p.pipeline.stats,
      jails: this.#p.engine.stats(),
      engineTotals: this.#p.engine.totals(),
      store: this.#p.store.stats(),
      bans: this.#p.bans.stats,
      senders: this.#p.senders.size,
      silentSenders: this.#p.silent?.count ?? 0,
    });
  }

  async cluster(): Promise<ClusterDetail> {
    if (this.#p.cluster === undefined)
      throw new FleetbanError(
        ErrorCode.NOT_FOUND,
        'this server keeps its bans in LevelDB (store.backend is level): it is not part of a cluster (see docs/cluster.md)',
      );
    return this.#p.cluster.detail();
  }

  health(): HealthReport {
    const listening = this.#listening();
    const ingestUp = TRANSPORTS.some((t) => listening[t] !== undefined);
    const store = this.#p.storeHealth?.() ?? {
      ok: true,
      text: `${this.#p.store.stats().activeBans} active bans`,
    };
    return {
      ok: ingestUp && store.ok,
      checks: {
        ingest: ingestUp ? 'listening' : 'not listening',
        store: store.text,
      },
    };
  }

  #activeBansPerJail(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const b of this.#p.store.active()) counts.set(b.jail, (counts.get(b.jail) ?? 0) + 1);
    return counts;
  }
}

function jailReport(s: JailStats, activeBans: number): JailStatusReport {
  return {
    name: s.name,
    enabled: s.enabled,
    filter: s.filter,
    maxretry: s.maxretry,
    findtime: s.findtime,
    bantime: s.bantime,
    linesSeen: s.linesSeen,
    matched: s.matched,
    ignored: s.ignored,
    failures: s.failures,
    banRequests: s.banRequests,
    activeBans,
    trackedAttackers: s.trackedAttackers,
  };
}

function unknownJail(name: string, known: readonly string[]): FleetbanError {
  return new FleetbanError(
    ErrorCode.JAIL_UNKNOWN,
    `no jail named "${name}" (jails: ${known.join(', ') || 'none'})`,
  );
}
