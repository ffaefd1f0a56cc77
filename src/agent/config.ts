// The agent's configuration (/etc/fleetban/agent.json): convict schema, loader, frozen result.
import { existsSync } from 'node:fs';
import convict from 'convict';
import { FleetbanError, describeError } from '../core/errors.js';
import { configInvalid, deepFreeze, readConfigObject } from '../config/config-file.js';
import { allFormats, type ConvictFormat } from '../config/formats.js';
import { Hook } from '../nft/render.js';
import { valuesOf, type CustomFormatValues, type SchemaValues } from '../config/schema.js';

export const DEFAULT_AGENT_CONFIG_FILE = '/etc/fleetban/agent.json';

/** Text separated by commas or spaces (the environment) → a list; anything else unchanged. */
function listOf(value: unknown): unknown {
  return typeof value === 'string' ? value.split(/[\s,]+/).filter((s) => s !== '') : value;
}

function portListFormat(name: string, protocol: string, example: string): ConvictFormat {
  return {
    name,
    coerce: (value: unknown) =>
      typeof value === 'string'
        ? (listOf(value) as string[]).map((s) => (/^\d+$/.test(s) ? Number(s) : s))
        : value,
    validate: (value: unknown) => {
      if (
        !Array.isArray(value) ||
        !value.every((p) => Number.isInteger(p) && p >= 1 && p <= 65535)
      ) {
        throw new Error(`must be a list of ${protocol} ports from 1 to 65535, such as ${example}`);
      }
    },
  };
}

const HOOKS: readonly string[] = Object.values(Hook);

/** The chains by hook: a list out of input, forward, prerouting, each once; empty = by mode. */
const hookListFormat: ConvictFormat = {
  name: 'hook-list',
  coerce: listOf,
  validate: (value: unknown) => {
    const example = 'such as ["input", "prerouting"]';
    if (!Array.isArray(value))
      throw new Error(`must be a list of chains out of ${HOOKS.join(', ')}, ${example}`);
    const seen = new Set<unknown>();
    for (const hook of value as unknown[]) {
      if (typeof hook !== 'string' || !HOOKS.includes(hook))
        throw new Error(
          `${JSON.stringify(hook)} is not a chain: use ${HOOKS.join(', ')}, ${example}`,
        );
      if (seen.has(hook)) throw new Error(`${JSON.stringify(hook)} is listed twice`);
      seen.add(hook);
    }
  },
};

/** One server URL, or several to fail over between: a list, or text separated by commas or spaces. */
const serverListFormat: ConvictFormat = {
  name: 'agent-server-list',
  coerce: (value: unknown) =>
    typeof value === 'string' ? value.split(/[\s,]+/).filter((s) => s !== '') : value,
  validate: (value: unknown) => {
    const list = Array.isArray(value) ? (value as unknown[]) : [value];
    if (list.length === 0) {
      throw new Error('must name at least one server, such as "https://fleetban.example.net:5515"');
    }
    const seen = new Map<string, string>();
    for (const item of list) {
      const href = serverHref(item);
      if (href === null) {
        throw new Error(
          `${JSON.stringify(item)} is not an http:// or https:// URL such as "https://fleetban.example.net:5515"`,
        );
      }
      const earlier = seen.get(href);
      if (earlier !== undefined) {
        throw new Error(
          `${JSON.stringify(item)} is the same server as ${JSON.stringify(earlier)}: list each server once`,
        );
      }
      seen.set(href, String(item));
    }
  },
};

/** The URL in canonical form (so `http://a:5515` and `http://a:5515/` are one server), or null. */
function serverHref(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

for (const format of [
  ...allFormats,
  portListFormat('port-list', 'TCP', '[22, 443]'),
  portListFormat('udp-port-list', 'UDP', '[53, 51820]'),
  hookListFormat,
  serverListFormat,
])
  convict.addFormat(format);

export const agentSchema = {
  server: {
    doc: "The central server's agent API: http:// on a private network, https:// otherwise. A list (in the environment: separated by commas or spaces) names the servers of one cluster, sharing one store: the agent follows the first it reaches, in order, and fails over to the next.",
    format: 'agent-server-list',
    default: 'http://127.0.0.1:5515',
    env: 'FLEETBAN_AGENT_SERVER',
  },
  token: {
    doc: "This agent's bearer token, as printed once by `fleetban agents add NAME`.",
    format: String,
    default: '',
    sensitive: true,
    env: 'FLEETBAN_AGENT_TOKEN',
  },
  ca: {
    doc: "PEM file of the CA that signed the server's certificate (https only); empty = the system CAs.",
    format: String,
    default: '',
    env: 'FLEETBAN_AGENT_CA',
  },
  mode: {
    doc: 'host: drop banned traffic to this machine (input chain); gateway: traffic routed through it (forward chain); both.',
    format: ['host', 'gateway', 'both'],
    default: 'host',
    env: 'FLEETBAN_AGENT_MODE',
  },
  hooks: {
    doc: 'The chains, by netfilter hook, out of input, forward and prerouting; empty = those of mode. prerouting runs at raw priority (-300), before DNAT: it also drops banned traffic to Docker-published ports and other forwarded services, which input never sees. Set, this list replaces what mode chooses, e.g. ["input", "prerouting"].',
    format: 'hook-list',
    default: [] as string[],
    env: 'FLEETBAN_AGENT_HOOKS',
  },
  verdict: {
    doc: 'What happens to banned packets: drop (silently) or reject (ICMP / TCP reset).',
    format: ['drop', 'reject'],
    default: 'drop',
    env: 'FLEETBAN_AGENT_VERDICT',
  },
  ports: {
    doc: 'Only these TCP destination ports are closed to banned addresses (with udpPorts); both empty = all traffic. In the prerouting chain these are the ports before DNAT (the published ones).',
    format: 'port-list',
    default: [] as number[],
    env: 'FLEETBAN_AGENT_PORTS',
  },
  udpPorts: {
    doc: 'Only these UDP destination ports are closed to banned addresses (with ports); both empty = all traffic.',
    format: 'udp-port-list',
    default: [] as number[],
    env: 'FLEETBAN_AGENT_UDP_PORTS',
  },
  interface: {
    doc: 'Only traffic arriving on this interface (iifname); empty = any interface.',
    format: String,
    default: '',
    env: 'FLEETBAN_AGENT_INTERFACE',
  },
  allow: {
    doc: 'Addresses and prefixes this agent never bans, whatever the server says (besides its own addresses and those of every listed server).',
    format: 'cidr-list',
    default: [] as string[],
    env: 'FLEETBAN_AGENT_ALLOW',
  },
  reconcileInterval: {
    doc: 'How often the sets are compared with the kernel: lost elements re-added, drifted timeouts re-asserted.',
    format: 'duration-seconds',
    default: '60s',
    env: 'FLEETBAN_AGENT_RECONCILE_INTERVAL',
  },
  timeoutTolerance: {
    doc: "How far an element's kernel expiry may be from the ban's end before reconcile re-asserts it.",
    format: 'duration-seconds',
    default: '10s',
    env: 'FLEETBAN_AGENT_TIMEOUT_TOLERANCE',
  },
  stateFile: {
    doc: 'Where the agent keeps its last sequence number and bans across restarts, to resume instead of resyncing; empty = always resync.',
    format: String,
    default: '',
    env: 'FLEETBAN_AGENT_STATE_FILE',
  },
  nftPath: {
    doc: 'The nft program.',
    format: String,
    default: 'nft',
    env: 'FLEETBAN_AGENT_NFT_PATH',
  },
  nftTimeout: {
    doc: 'How long one nft run may take before it is killed and counted as failed.',
    format: 'duration-seconds',
    default: '30s',
    env: 'FLEETBAN_AGENT_NFT_TIMEOUT',
  },
  batchWindowMs: {
    doc: 'Changes arriving within this many milliseconds go into one nft transaction.',
    format: 'positive-int',
    default: 20,
    env: 'FLEETBAN_AGENT_BATCH_WINDOW_MS',
  },
  batchMax: {
    doc: 'A batch is applied at once when it holds this many changes, without waiting for the window.',
    format: 'positive-int',
    default: 5000,
    env: 'FLEETBAN_AGENT_BATCH_MAX',
  },
  pingInterval: {
    doc: "The server's agents.pingInterval: with no line for 3 times this long, the agent reconnects.",
    format: 'duration-seconds',
    default: '15s',
    env: 'FLEETBAN_AGENT_PING_INTERVAL',
  },
  reconnect: {
    min: {
      doc: 'First delay before reconnecting; doubled (with jitter) after each failure.',
      format: 'duration-seconds',
      default: '1s',
      env: 'FLEETBAN_AGENT_RECONNECT_MIN',
    },
    max: {
      doc: "Longest delay between reconnection attempts; a 429 answer's Retry-After (up to an hour) is waited out even when longer.",
      format: 'duration-seconds',
      default: '60s',
      env: 'FLEETBAN_AGENT_RECONNECT_MAX',
    },
  },
  metrics: {
    listen: {
      doc: 'Serve GET /metrics (Prometheus) on this address:port, e.g. "127.0.0.1:9516"; empty = off.',
      format: String,
      default: '',
      env: 'FLEETBAN_AGENT_METRICS_LISTEN',
    },
  },
  log: {
    level: {
      doc: 'Log level: fatal, error, warn, info, debug, trace.',
      format: ['fatal', 'error', 'warn', 'info', 'debug', 'trace'],
      default: 'info',
      env: 'FLEETBAN_AGENT_LOG_LEVEL',
    },
  },
} as const;

/** What the agent's own formats leave in its config. */
interface AgentFormatValues extends CustomFormatValues {
  /** Always a list once loaded: the format turns text into one. */
  readonly 'agent-server-list': readonly string[];
  readonly 'port-list': readonly number[];
  readonly 'udp-port-list': readonly number[];
  readonly 'hook-list': readonly Hook[];
}

/** The validated agent configuration: typed from agentSchema's formats, and its file. */
export type AgentConfig = SchemaValues<typeof agentSchema, AgentFormatValues> & {
  readonly file: string | null;
};

export interface AgentLoadOptions {
  /** --config; otherwise FLEETBAN_AGENT_CONFIG, then DEFAULT_AGENT_CONFIG_FILE if present. */
  readonly file?: string | undefined;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Keys set by the caller over file and environment (tests). */
  readonly overrides?: Readonly<Record<string, unknown>>;
}

/** Reads, validates (strict) and freezes the agent configuration; errors name the file and key. */
export function loadAgentConfig(options: AgentLoadOptions = {}): AgentConfig {
  const env = options.env ?? process.env;
  const named = options.file ?? env['FLEETBAN_AGENT_CONFIG'];
  const file =
    named !== undefined && named !== ''
      ? named
      : existsSync(DEFAULT_AGENT_CONFIG_FILE)
        ? DEFAULT_AGENT_CONFIG_FILE
        : null;
  const where = file ?? 'built-in defaults';
  const config = convict(agentSchema, { env, args: [] });
  try {
    if (file !== null)
      config.load(readConfigObject(file, 'agent configuration', 'keys (server, token, mode, …)'));
    if (options.overrides !== undefined) config.load(options.overrides);
    config.validate({ allowed: 'strict' });
  } catch (e) {
    if (e instanceof FleetbanError) throw e;
    throw configInvalid(where, describeError(e), e);
  }
  const result = {
    file,
    ...valuesOf<typeof agentSchema, AgentFormatValues>(config),
  };
  if (result.token === '') {
    throw configInvalid(
      where,
      'token: must be set to the token printed by `fleetban agents add NAME`',
    );
  }
  if (result.reconnect.max < result.reconnect.min) {
    throw configInvalid(where, 'reconnect.max must not be smaller than reconnect.min');
  }
  if (result.metrics.listen !== '' && parseListen(result.metrics.listen) === null) {
    throw configInvalid(
      where,
      'metrics.listen: must be ADDRESS:PORT such as "127.0.0.1:9516" or "[::1]:9516"',
    );
  }
  return deepFreeze(result);
}

/** `127.0.0.1:9516` / `[::1]:9516` → address and port. */
export function parseListen(text: string): { address: string; port: number } | null {
  const m = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(text);
  if (m === null || m[1] === undefined || m[2] === undefined) return null;
  const port = Number(m[2]);
  return port <= 65535 && m[1] !== '' ? { address: m[1], port } : null;
}
