// Loads fleetban.json (or YAML) through the convict schema, once, into a frozen typed config.
import { existsSync } from 'node:fs';
import convict from 'convict';
import { FleetbanError, ErrorCode, describeError } from '../core/errors.js';
import { configInvalid, deepFreeze, readConfigObject } from './config-file.js';
import { allFormats } from './formats.js';
import { DEFAULT_JAIL_OPTIONS, parseJailDefaults } from './jail-defaults.js';
import { schema, valuesOf, type ConfigValues } from './schema.js';

/** Where fleetban looks when neither --config nor FLEETBAN_CONFIG names a file. */
export const DEFAULT_CONFIG_FILE = '/etc/fleetban/fleetban.json';

for (const format of allFormats) convict.addFormat(format);

/**
 * The validated configuration: the schema's values (typed from each key's format, see
 * schema.ts) and the file they came from.
 */
export type FleetbanConfig = ConfigValues & {
  /** The file the config came from; null when running on the embedded defaults. */
  readonly file: string | null;
};

export type MailConfig = FleetbanConfig['mail'];

export interface LoadOptions {
  /** An explicit file (--config); otherwise FLEETBAN_CONFIG, then DEFAULT_CONFIG_FILE if present. */
  readonly file?: string | undefined;
  /** The environment to read overrides from (defaults to process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Which file a command should read, or null for the embedded defaults. */
export function resolveConfigFile(options: LoadOptions = {}): string | null {
  const env = options.env ?? process.env;
  const named = options.file ?? env['FLEETBAN_CONFIG'];
  if (named !== undefined && named !== '') return named;
  return existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : null;
}

/**
 * Reads, validates (strict: unknown keys are errors) and freezes the configuration.
 * Throws FleetbanError CONFIG_NOT_FOUND / CONFIG_INVALID whose message names the file and key.
 */
export function loadConfig(options: LoadOptions = {}): FleetbanConfig {
  const file = resolveConfigFile(options);
  const config = convict(schema, { env: options.env ?? process.env, args: [] });
  const where = file ?? 'built-in defaults';
  // jails.defaults uses fail2ban's dotted option names ("bantime.increment"), which convict would
  // read as paths: it is validated apart, by the jail option rules.
  let jailDefaults: unknown = DEFAULT_JAIL_OPTIONS;
  if (file !== null) {
    const data = readConfigObject(
      file,
      'configuration file',
      'sections (store, ingest, jails, control, log)',
    );
    jailDefaults = takeJailDefaults(data) ?? jailDefaults;
    try {
      config.load(data);
    } catch (e) {
      throw configInvalid(where, describeError(e), e);
    }
  }
  try {
    config.validate({ allowed: 'strict' });
  } catch (e) {
    throw configInvalid(where, describeError(e), e);
  }
  try {
    parseJailDefaults(jailDefaults, `${where}: jails.defaults`);
  } catch (e) {
    throw new FleetbanError(ErrorCode.CONFIG_INVALID, describeError(e), { cause: e });
  }
  const props = valuesOf<typeof schema>(config);
  const result = {
    file,
    ...props,
    jails: { ...props.jails, defaults: jailDefaults as Readonly<Record<string, unknown>> },
  };
  checkCrossKeyRules(where, result);
  return deepFreeze(result);
}

/** What a client command (the CLI) needs of the config: where the admin API is, nothing else. */
export interface ControlConfig {
  readonly file: string | null;
  readonly control: FleetbanConfig['control'];
}

/**
 * Reads only the `control` section of the file the server would read, with the same environment
 * overrides and rules. A client command must not need the server's secrets (an SMTP password
 * given only in the server's environment) nor fail on sections it never uses.
 */
export function loadControlConfig(options: LoadOptions = {}): ControlConfig {
  const file = resolveConfigFile(options);
  const where = file ?? 'built-in defaults';
  const config = convict(
    { control: schema.control },
    { env: options.env ?? process.env, args: [] },
  );
  if (file !== null) {
    const data = readConfigObject(
      file,
      'configuration file',
      'sections (store, ingest, jails, control, log)',
    );
    try {
      config.load({ control: data['control'] ?? {} });
      config.validate({ allowed: 'strict' });
    } catch (e) {
      throw configInvalid(where, describeError(e), e);
    }
  }
  const { control } = valuesOf<{ control: typeof schema.control }>(config);
  checkControlRules(where, control);
  return deepFreeze({ file, control });
}

/** The configuration with secrets replaced, for `fleetban config check` and logs. */
export function redactedConfig(config: FleetbanConfig): unknown {
  // Driven by the schema's `sensitive` marks, so a secret added later is hidden without a change here.
  const copy = structuredClone(config) as unknown as Record<string, unknown>;
  for (const path of sensitivePaths(schema)) {
    const parts = path.split('.');
    const key = parts.pop() ?? '';
    let node: unknown = copy;
    for (const part of parts) node = isRecord(node) ? node[part] : undefined;
    if (isRecord(node) && typeof node[key] === 'string' && node[key] !== '') {
      node[key] = '[redacted]';
    }
  }
  // Webhook secrets sit inside list entries, which the schema cannot mark one by one.
  const notify = copy['notify'];
  if (isRecord(notify) && Array.isArray(notify['webhooks']))
    for (const hook of notify['webhooks'] as unknown[])
      for (const key of ['secret', 'hmac'])
        if (isRecord(hook) && typeof hook[key] === 'string' && hook[key] !== '')
          hook[key] = '[redacted]';
  return copy;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Dotted paths of the schema keys marked `sensitive: true`. */
function sensitivePaths(node: object, prefix = ''): string[] {
  return Object.entries(node).flatMap(([name, child]: [string, unknown]) => {
    if (!isRecord(child)) return [];
    const path = prefix === '' ? name : `${prefix}.${name}`;
    if ('default' in child) return child['sensitive'] === true ? [path] : [];
    return sensitivePaths(child, path);
  });
}

/** Removes and returns `jails.defaults` from a parsed config file, if it has one. */
function takeJailDefaults(data: Record<string, unknown>): unknown {
  const jails = data['jails'];
  if (jails === null || typeof jails !== 'object' || !('defaults' in jails)) return undefined;
  const { defaults, ...rest } = jails as Record<string, unknown>;
  data['jails'] = rest;
  return defaults;
}

function checkCrossKeyRules(where: string, c: Omit<FleetbanConfig, never>): void {
  const tls = c.ingest.tls;
  if (tls.enabled && (tls.cert === '' || tls.key === '')) {
    throw configInvalid(
      where,
      'ingest.tls.enabled is true, so ingest.tls.cert and ingest.tls.key must name PEM files',
    );
  }
  const relp = c.ingest.relp;
  if (relp.enabled && relp.tls && (tls.cert === '' || tls.key === '')) {
    throw configInvalid(
      where,
      'ingest.relp.tls is true, so ingest.tls.cert and ingest.tls.key must name PEM files',
    );
  }
  const journal = c.ingest.journal;
  if (journal.enabled && journal.tls && (tls.cert === '' || tls.key === '')) {
    throw configInvalid(
      where,
      'ingest.journal.tls is true, so ingest.tls.cert and ingest.tls.key must name PEM files',
    );
  }
  if (tls.requireClientCert && tls.ca === '') {
    throw configInvalid(
      where,
      'ingest.tls.requireClientCert is true, so ingest.tls.ca must name the CA bundle that signs client certificates',
    );
  }
  checkControlRules(where, c.control);
  checkRedisRules(where, c.store);
  if (c.ingest.maxConnectionBuffer < c.ingest.maxMessageSize + 16) {
    throw configInvalid(
      where,
      `ingest.maxConnectionBuffer (${c.ingest.maxConnectionBuffer}) must be at least ingest.maxMessageSize + 16 (${c.ingest.maxMessageSize + 16})`,
    );
  }
  checkMailRules(where, c.mail);
}

function checkRedisRules(where: string, store: FleetbanConfig['store']): void {
  const r = store.redis;
  if (store.backend !== 'redis') return;
  if ((r.nodes.length === 0) === (r.address === ''))
    throw configInvalid(
      where,
      'store.backend is redis, so set exactly one of store.redis.nodes (Redis Cluster seed nodes) and store.redis.address (one standalone Redis)',
    );
  if ((r.tls.cert === '') !== (r.tls.key === ''))
    throw configInvalid(
      where,
      'store.redis.tls.cert and store.redis.tls.key go together: set both or neither',
    );
}

function checkControlRules(where: string, control: FleetbanConfig['control']): void {
  if (control.http.enabled && control.http.token.length < 16) {
    throw configInvalid(
      where,
      'control.http.enabled is true, so control.http.token must be set (at least 16 characters)',
    );
  }
}

const MAIL_ADDRESS = /^[^\s@<>,]+@[^\s@<>,]+$/;

function checkMailRules(where: string, m: MailConfig): void {
  const bad = m.to.find((a) => !MAIL_ADDRESS.test(a));
  if (bad !== undefined)
    throw configInvalid(where, `mail.to: "${bad}" is not a mail address such as admin@example.net`);
  if (!m.enabled) return;
  if (!MAIL_ADDRESS.test(m.from))
    throw configInvalid(
      where,
      `mail.from: "${m.from}" is not a mail address such as fleetban@example.net`,
    );
  if (m.to.length === 0)
    throw configInvalid(where, 'mail.enabled is true, so mail.to must name at least one recipient');
  if (m.transport === 'smtp' && (m.smtp.host === '' || m.smtp.port === 0))
    throw configInvalid(
      where,
      'mail.transport is "smtp", so mail.smtp.host and mail.smtp.port must be set',
    );
  if (m.smtp.user !== '' && m.smtp.pass === '')
    throw configInvalid(
      where,
      'mail.smtp.user is set, so mail.smtp.pass (or FLEETBAN_SMTP_PASS) must be set too',
    );
  if (m.timeZone !== '') {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: m.timeZone });
    } catch {
      throw configInvalid(
        where,
        `mail.timeZone: "${m.timeZone}" is not a time zone such as "UTC" or "Europe/Berlin"`,
      );
    }
  }
  if (m.retryMin <= 0 || m.retryMax < m.retryMin)
    throw configInvalid(where, 'mail.retryMin must be above 0 and at most mail.retryMax');
}
