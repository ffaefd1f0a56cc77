// Custom convict formats: durations in seconds, CIDR lists, sizes; each error says what is allowed.
import { parseDuration } from '../core/duration.js';
import { parseCidr } from '../core/ip.js';

export interface ConvictFormat {
  name: string;
  validate: (value: unknown) => void;
  coerce?: (value: unknown) => unknown;
}

/** A duration: seconds, or a string like `10m`, `1h30m`, `7d`; stored as seconds. */
export const durationFormat: ConvictFormat = {
  name: 'duration-seconds',
  coerce: (value: unknown) => parseDuration(value) ?? value,
  validate: (value: unknown) => {
    if (typeof value !== 'number' || parseDuration(value) === undefined) {
      throw new Error(`must be a duration such as 600, "10m", "1h" or "7d"`);
    }
  },
};

/** A list of IP addresses or CIDR prefixes; from the environment, comma or space separated. */
export const cidrListFormat: ConvictFormat = {
  name: 'cidr-list',
  coerce: (value: unknown) =>
    typeof value === 'string' ? value.split(/[\s,]+/).filter((s) => s !== '') : value,
  validate: (value: unknown) => {
    if (!Array.isArray(value)) {
      throw new Error(`must be a list of IP addresses or CIDR prefixes`);
    }
    for (const item of value) {
      if (typeof item !== 'string' || parseCidr(item) === null) {
        throw new Error(
          `must hold IP addresses or CIDR prefixes such as "192.0.2.0/24" or "2001:db8::/32"`,
        );
      }
    }
  },
};

/** Host name → the addresses and prefixes allowed to claim it (`ingest.senders`). */
export const hostBindingsFormat: ConvictFormat = {
  name: 'host-bindings',
  validate: (value: unknown) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new Error(`must map host names to lists of addresses, e.g. {"web-a": ["192.0.2.10"]}`);
    }
    for (const [host, list] of Object.entries(value)) {
      if (!/^[A-Za-z0-9._-]+$/.test(host)) {
        throw new Error(`"${host}" is not a host name (letters, digits, ".", "-", "_")`);
      }
      if (
        !Array.isArray(list) ||
        list.length === 0 ||
        !list.every((c) => typeof c === 'string' && parseCidr(c) !== null)
      ) {
        throw new Error(
          `"${host}" must list one or more IP addresses or CIDR prefixes such as "192.0.2.10" or "2001:db8::/64"`,
        );
      }
    }
  },
};

/** A TCP/UDP port; 0 lets the kernel choose (tests). */
export const portFormat: ConvictFormat = {
  name: 'port-or-zero',
  coerce: (value: unknown) =>
    typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value,
  validate: (value: unknown) => {
    if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 65535) {
      throw new Error(`must be a port number from 0 to 65535`);
    }
  },
};

/** A positive whole number (sizes, limits). */
export const positiveIntFormat: ConvictFormat = {
  name: 'positive-int',
  coerce: (value: unknown) =>
    typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value,
  validate: (value: unknown) => {
    if (!Number.isInteger(value) || (value as number) < 1) {
      throw new Error(`must be a whole number greater than 0`);
    }
  },
};

const TRUE_TEXT = new Set(['true', 'yes', 'on', '1']);
const FALSE_TEXT = new Set(['false', 'no', 'off', '0']);

/**
 * Booleans written as text (environment variables, YAML-ish habits). convict's own coercion makes
 * every string but "false" true, so FLEETBAN_STORE_SYNC=no or =0 meant true. convict consults a
 * custom coercion registered under the lowercased built-in name before its own, hence the name;
 * text that is no boolean stays a string and fails the schema's Boolean check.
 */
export const booleanTextFormat: ConvictFormat = {
  name: 'boolean',
  coerce: (value: unknown) => {
    if (typeof value !== 'string') return value;
    const text = value.trim().toLowerCase();
    return TRUE_TEXT.has(text) ? true : FALSE_TEXT.has(text) ? false : value;
  },
  validate: (value: unknown) => {
    if (typeof value !== 'boolean') throw new Error('must be true or false');
  },
};

/** "host:port" (IPv6 as [addr]:port). */
const HOST_PORT = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

function isHostPort(text: string): boolean {
  const m = HOST_PORT.exec(text);
  return m !== null && Number(m[1]) >= 1 && Number(m[1]) <= 65535;
}

/** Redis Cluster seed nodes: "host:port" each; the environment gives them comma or space separated. */
export const redisNodesFormat: ConvictFormat = {
  name: 'redis-nodes',
  coerce: (value: unknown) =>
    typeof value === 'string' ? value.split(/[\s,]+/).filter((s) => s !== '') : value,
  validate: (value: unknown) => {
    if (!Array.isArray(value)) throw new Error('must be a list of "host:port" seed nodes');
    for (const node of value)
      if (typeof node !== 'string' || !isHostPort(node))
        throw new Error(`"${String(node)}" is not a "host:port" node such as "10.0.0.5:6379"`);
  },
};

/** One Redis server, "host:port"; empty for none. */
export const redisAddressFormat: ConvictFormat = {
  name: 'redis-address',
  validate: (value: unknown) => {
    if (typeof value !== 'string' || (value !== '' && !isHostPort(value)))
      throw new Error(`"${String(value)}" is not a "host:port" address such as "127.0.0.1:6379"`);
  },
};

/** A key prefix that can stand in a Redis hash tag: letters, digits, ".", "_", "-". */
export const keyPrefixFormat: ConvictFormat = {
  name: 'redis-key-prefix',
  validate: (value: unknown) => {
    if (typeof value !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(value))
      throw new Error('must be 1 to 64 letters, digits, ".", "_" or "-" (no braces or colons)');
  },
};

/** "auto" or a whole number of replicas, 0 or more. */
export const replicaCountFormat: ConvictFormat = {
  name: 'replica-count',
  coerce: (value: unknown) =>
    typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value,
  validate: (value: unknown) => {
    if (value !== 'auto' && (!Number.isInteger(value) || (value as number) < 0))
      throw new Error('must be "auto" or a whole number of replicas, 0 or more');
  },
};

/** One entry of `notify.webhooks`, as the `webhook-list` format leaves it. */
export interface WebhookConfig {
  readonly url: string;
  readonly format: 'json' | 'slack' | 'mattermost';
  readonly secret: string;
  readonly hmac: string;
  /** PEM file of a private CA for an https:// receiver; '' = the system CAs. */
  readonly ca: string;
  readonly events: readonly ('ban' | 'unban')[];
}

const WEBHOOK_KEYS = ['url', 'format', 'secret', 'hmac', 'ca', 'events'];
const WEBHOOK_FORMATS = ['json', 'slack', 'mattermost'];
const WEBHOOK_EVENTS = ['ban', 'unban'];

/** Webhook entries: `{url, format?, secret?, hmac?, ca?, events?}`, filled with their defaults. */
export const webhookListFormat: ConvictFormat = {
  name: 'webhook-list',
  coerce: (value: unknown): unknown =>
    typeof value === 'string' ? (JSON.parse(value) as unknown) : value,
  validate: (value: unknown) => {
    if (!Array.isArray(value))
      throw new Error('must be a list of webhooks such as [{"url": "https://example.net/hook"}]');
    const seen = new Set<string>();
    value.forEach((entry: unknown, i) => {
      const at = `webhook ${i + 1}`;
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
        throw new Error(`${at} must be an object with at least "url"`);
      const w = entry as Record<string, unknown>;
      const unknownKey = Object.keys(w).find((k) => !WEBHOOK_KEYS.includes(k));
      if (unknownKey !== undefined)
        throw new Error(`${at}: unknown key "${unknownKey}" (known: ${WEBHOOK_KEYS.join(', ')})`);
      let url: URL;
      try {
        url = new URL(String(w['url']));
      } catch {
        throw new Error(`${at}: url "${String(w['url'])}" is not an http:// or https:// URL`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        throw new Error(`${at}: url "${String(w['url'])}" is not an http:// or https:// URL`);
      if (seen.has(url.href)) throw new Error(`${at}: url ${url.href} is listed twice`);
      seen.add(url.href);
      if (w['format'] !== undefined && !WEBHOOK_FORMATS.includes(w['format'] as string))
        throw new Error(`${at}: format must be one of ${WEBHOOK_FORMATS.join(', ')}`);
      for (const key of ['secret', 'hmac', 'ca'])
        if (w[key] !== undefined && typeof w[key] !== 'string')
          throw new Error(`${at}: ${key} must be a string`);
      if (typeof w['ca'] === 'string' && w['ca'] !== '' && url.protocol !== 'https:')
        throw new Error(
          `${at}: ca is for https:// receivers, and url ${url.href} is http://: drop ca or use https`,
        );
      const events = w['events'];
      if (
        events !== undefined &&
        (!Array.isArray(events) ||
          events.length === 0 ||
          !events.every((e) => WEBHOOK_EVENTS.includes(e as string)))
      )
        throw new Error(`${at}: events must list "ban", "unban" or both`);
    });
  },
};

/** A validated `notify.webhooks` entry with every field present. */
export function webhookConfig(entry: Readonly<Record<string, unknown>>): WebhookConfig {
  return {
    url: String(entry['url']),
    format: (entry['format'] as WebhookConfig['format'] | undefined) ?? 'json',
    secret: (entry['secret'] as string | undefined) ?? '',
    hmac: (entry['hmac'] as string | undefined) ?? '',
    ca: (entry['ca'] as string | undefined) ?? '',
    events: (entry['events'] as WebhookConfig['events'] | undefined) ?? ['ban'],
  };
}

export const allFormats: readonly ConvictFormat[] = [
  webhookListFormat,
  redisNodesFormat,
  redisAddressFormat,
  keyPrefixFormat,
  replicaCountFormat,
  hostBindingsFormat,
  booleanTextFormat,
  durationFormat,
  cidrListFormat,
  portFormat,
  positiveIntFormat,
];
