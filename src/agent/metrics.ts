// The agent's counters and gauges, rendered in the Prometheus text format for GET /metrics and the log.

export const AgentCounter = {
  CONNECTS: 'fleetban_agent_connects_total',
  SERVER_SWITCHES: 'fleetban_agent_server_switches_total',
  DISCONNECTS: 'fleetban_agent_disconnects_total',
  AUTH_FAILURES: 'fleetban_agent_auth_failures_total',
  PING_TIMEOUTS: 'fleetban_agent_ping_timeouts_total',
  SNAPSHOTS: 'fleetban_agent_snapshots_total',
  CHANGES: 'fleetban_agent_changes_total',
  BAD_LINES: 'fleetban_agent_bad_lines_total',
  PROTECTED_SKIPPED: 'fleetban_agent_protected_skipped_total',
  NFT_BATCHES: 'fleetban_agent_nft_batches_total',
  NFT_FAILURES: 'fleetban_agent_nft_failures_total',
  NFT_REWRITES: 'fleetban_agent_nft_set_rewrites_total',
  RECONCILES: 'fleetban_agent_reconciles_total',
  RECONCILE_REPAIRS: 'fleetban_agent_reconcile_repairs_total',
} as const;
export type AgentCounter = (typeof AgentCounter)[keyof typeof AgentCounter];

export const AgentGauge = {
  CONNECTED: 'fleetban_agent_connected',
  LAST_SEQ: 'fleetban_agent_last_seq',
  ELEMENTS: 'fleetban_agent_set_elements',
  WANTED: 'fleetban_agent_bans',
} as const;
export type AgentGauge = (typeof AgentGauge)[keyof typeof AgentGauge];

const HELP: Readonly<Record<AgentCounter | AgentGauge, string>> = {
  fleetban_agent_connects_total: 'Streams opened to the server.',
  fleetban_agent_server_switches_total:
    'Streams opened on another server than the one followed before (failover; the first listed counts as followed at start).',
  fleetban_agent_disconnects_total: 'Streams lost or refused.',
  fleetban_agent_auth_failures_total: 'Streams refused because the token was wrong.',
  fleetban_agent_ping_timeouts_total:
    'Streams dropped because nothing arrived for 3 ping intervals.',
  fleetban_agent_snapshots_total: 'Full snapshots applied.',
  fleetban_agent_changes_total: 'Ban and unban changes received.',
  fleetban_agent_bad_lines_total: 'Stream lines that were not valid messages (skipped).',
  fleetban_agent_protected_skipped_total:
    'Bans refused because they cover an own, server or allowlisted address.',
  fleetban_agent_nft_batches_total: 'nft transactions applied.',
  fleetban_agent_nft_failures_total: 'nft transactions refused or failed.',
  fleetban_agent_nft_set_rewrites_total:
    'Sets flushed and refilled in one transaction because a batch removed many elements (cheaper than deleting them).',
  fleetban_agent_reconciles_total: 'Reconcile runs against the kernel sets.',
  fleetban_agent_reconcile_repairs_total: 'Elements re-added, re-timed or removed by reconcile.',
  fleetban_agent_connected: '1 while the stream is open.',
  fleetban_agent_last_seq: 'Sequence number of the last change received.',
  fleetban_agent_set_elements: 'Elements the agent believes the kernel sets hold.',
  fleetban_agent_bans: 'Bans the agent enforces (before normalisation).',
};

/** The one labelled series: which server the agent follows (or tries first, before any stream). */
export const AGENT_SERVER_INFO = 'fleetban_agent_server';

export class AgentMetrics {
  readonly #values = new Map<string, number>();
  #server = '';

  /** The server followed now; rendered as fleetban_agent_server{server="URL"} 1. */
  setServer(url: string): void {
    this.#server = url;
  }

  get server(): string {
    return this.#server;
  }

  inc(name: AgentCounter, by = 1): void {
    this.#values.set(name, (this.#values.get(name) ?? 0) + by);
  }

  set(name: AgentGauge, value: number): void {
    this.#values.set(name, value);
  }

  get(name: AgentCounter | AgentGauge): number {
    return this.#values.get(name) ?? 0;
  }

  /** All values by name, for a log line. */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const name of [...Object.values(AgentCounter), ...Object.values(AgentGauge)]) {
      out[name] = this.get(name);
    }
    return out;
  }

  /** Prometheus text exposition format 0.0.4. */
  render(): string {
    const lines: string[] = [];
    const counters = new Set<string>(Object.values(AgentCounter));
    for (const name of [...Object.values(AgentCounter), ...Object.values(AgentGauge)]) {
      lines.push(`# HELP ${name} ${HELP[name]}`);
      lines.push(`# TYPE ${name} ${counters.has(name) ? 'counter' : 'gauge'}`);
      lines.push(`${name} ${this.get(name)}`);
    }
    lines.push(
      `# HELP ${AGENT_SERVER_INFO} The server the agent follows: the one of its stream, or the one it will try first.`,
    );
    lines.push(`# TYPE ${AGENT_SERVER_INFO} gauge`);
    if (this.#server !== '')
      lines.push(`${AGENT_SERVER_INFO}{server="${labelValue(this.#server)}"} 1`);
    return `${lines.join('\n')}\n`;
  }
}

/** Escapes a Prometheus label value: backslash, double quote and line feed. */
function labelValue(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
