// Loading fleetban.json: the shipped file shows every key at its default, overrides, and errors that name file and key.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ErrorCode, isFleetbanError, type ErrorCode as Code } from '../../src/core/errors.js';
import { loadJails } from '../../src/config/jails-dir.js';
import {
  loadConfig,
  redactedConfig,
  resolveConfigFile,
  type FleetbanConfig,
} from '../../src/config/load.js';
import { schema } from '../../src/config/schema.js';

/** Compiled to dist/test/unit/, so the repository root is three folders up. */
const SHIPPED = fileURLToPath(new URL('../../../config/fleetban.json', import.meta.url));

/** Dotted paths of every key the schema declares (a node with a `default` is a key). */
function schemaKeys(node: object, prefix = ''): string[] {
  return Object.entries(node).flatMap(([name, child]: [string, unknown]) => {
    const path = prefix === '' ? name : `${prefix}.${name}`;
    if (typeof child !== 'object' || child === null) return [];
    return 'default' in child ? [path] : schemaKeys(child, path);
  });
}

function at(root: unknown, path: string): { found: boolean; value: unknown } {
  let node: unknown = root;
  for (const part of path.split('.')) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, part))
      return { found: false, value: undefined };
    node = (node as Record<string, unknown>)[part];
  }
  return { found: true, value: node };
}

function fails(expected: Code, ...parts: string[]): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(isFleetbanError(e), `not a FleetbanError: ${String(e)}`);
    assert.equal(e.code, expected, e.message);
    for (const part of parts)
      assert.ok(e.message.includes(part), `"${e.message}" should name ${part}`);
    return true;
  };
}

describe('fleetban.json', () => {
  let dir: string;
  let n = 0;
  /** Writes a config file (JSON unless the name says YAML) and returns its path. */
  const file = async (content: unknown, ext = 'json'): Promise<string> => {
    const path = join(dir, `fleetban-${++n}.${ext}`);
    await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };
  const load = async (
    content: unknown,
    env: NodeJS.ProcessEnv = {},
    ext = 'json',
  ): Promise<FleetbanConfig> => loadConfig({ file: await file(content, ext), env });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetban-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('the shipped config/fleetban.json shows every schema key, each at its default', async () => {
    const keys = schemaKeys(schema);
    assert.ok(keys.length > 30, `only ${keys.length} keys found in the schema`);
    const raw: unknown = JSON.parse(await readFile(SHIPPED, 'utf8'));
    const missing = keys.filter((k) => !at(raw, k).found);
    assert.deepEqual(missing, [], 'keys missing from config/fleetban.json');
    const shipped = loadConfig({ file: SHIPPED, env: {} });
    const defaults = await load({});
    const differing = keys.filter((k) => {
      try {
        assert.deepStrictEqual(at(shipped, k).value, at(defaults, k).value);
        return false;
      } catch {
        return true;
      }
    });
    assert.deepEqual(differing, [], 'keys of config/fleetban.json that differ from their default');
    assert.equal(shipped.file, SHIPPED);
  });

  it('the walk over the schema sees the nested keys it must compare', () => {
    const keys = schemaKeys(schema);
    for (const k of [
      'store.path',
      'ingest.udp.port',
      'ingest.tls.requireClientCert',
      'jails.defaults',
      'control.http.token',
      'log.banLog',
    ]) {
      assert.ok(keys.includes(k), k);
    }
  });

  it('durations become seconds, lists stay lists', async () => {
    const c = await load({
      store: { historyRetention: '30d' },
      ingest: {
        idleTimeout: 90,
        maxClockSkew: '1h30m',
        allowedSenders: ['10.0.0.0/8', '2001:db8::/32'],
      },
    });
    assert.equal(c.store.historyRetention, 30 * 86400);
    assert.equal(c.ingest.idleTimeout, 90);
    assert.equal(c.ingest.maxClockSkew, 5400);
    assert.deepEqual(c.ingest.allowedSenders, ['10.0.0.0/8', '2001:db8::/32']);
  });

  it('environment variables override the file', async () => {
    const c = await load(
      { ingest: { udp: { port: 5514 } } },
      {
        FLEETBAN_UDP_PORT: '0',
        FLEETBAN_TCP_PORT: '6000',
        FLEETBAN_ALLOWED_SENDERS: '10.0.0.0/8, 192.0.2.1 2001:db8::/32',
        FLEETBAN_STORE_HISTORY_RETENTION: '7d',
        FLEETBAN_LOG_LEVEL: 'debug',
      },
    );
    assert.equal(c.ingest.udp.port, 0);
    assert.equal(c.ingest.tcp.port, 6000);
    assert.deepEqual(c.ingest.allowedSenders, ['10.0.0.0/8', '192.0.2.1', '2001:db8::/32']);
    assert.equal(c.store.historyRetention, 7 * 86400);
    assert.equal(c.log.level, 'debug');
  });

  it('booleans from the environment or as text mean what they say', async () => {
    const table: [string, boolean | 'error'][] = [
      ['true', true],
      ['yes', true],
      ['on', true],
      ['1', true],
      ['false', false],
      ['no', false],
      ['off', false],
      ['0', false],
      ['FALSE', false],
      ['maybe', 'error'],
      ['', 'error'],
    ];
    for (const [text, expected] of table) {
      const fromEnv = () => loadConfig({ file: SHIPPED, env: { FLEETBAN_STORE_SYNC: text } });
      const fromFile = () => load({ store: { sync: text } });
      if (expected === 'error') {
        assert.throws(fromEnv, fails(ErrorCode.CONFIG_INVALID, 'store.sync'), text);
        await assert.rejects(fromFile(), fails(ErrorCode.CONFIG_INVALID, 'store.sync'), text);
      } else {
        assert.equal(fromEnv().store.sync, expected, `env ${text}`);
        assert.equal((await fromFile()).store.sync, expected, `file ${text}`);
      }
    }
  });

  it('YAML files are read like JSON', async () => {
    const yaml = [
      'store:',
      '  path: /tmp/x',
      'ingest:',
      '  udp:',
      '    port: 0',
      '  allowedSenders:',
      '    - 10.0.0.0/8',
      'log:',
      '  level: warn',
      '',
    ].join('\n');
    for (const ext of ['yaml', 'yml']) {
      const c = await load(yaml, {}, ext);
      assert.equal(c.store.path, '/tmp/x');
      assert.equal(c.ingest.udp.port, 0);
      assert.deepEqual(c.ingest.allowedSenders, ['10.0.0.0/8']);
      assert.equal(c.log.level, 'warn');
    }
    await assert.rejects(
      load('store: [unclosed', {}, 'yaml'),
      fails(ErrorCode.CONFIG_INVALID, 'not valid YAML'),
    );
  });

  it('FLEETBAN_CONFIG names the file when --config does not', () => {
    assert.equal(resolveConfigFile({ env: { FLEETBAN_CONFIG: '/srv/f.json' } }), '/srv/f.json');
    assert.equal(
      resolveConfigFile({ file: '/a.json', env: { FLEETBAN_CONFIG: '/srv/f.json' } }),
      '/a.json',
    );
  });

  it('every error names the file and the key', async () => {
    const table: [string, unknown, string[]][] = [
      ['unknown key', { ingest: { udpp: 1 } }, ['ingest.udpp']],
      ['unknown section', { bogus: {} }, ['bogus']],
      ['wrong type', { store: { sync: 3 } }, ['store.sync']],
      [
        'wrong type (string for number)',
        { ingest: { maxMessageSize: 'big' } },
        ['ingest.maxMessageSize'],
      ],
      ['wrong type (number for string)', { store: { path: 5 } }, ['store.path']],
      ['port out of range', { ingest: { udp: { port: 70000 } } }, ['ingest.udp.port', '65535']],
      ['zero size', { ingest: { maxConnections: 0 } }, ['ingest.maxConnections']],
      [
        'bad duration',
        { store: { historyRetention: 'forever' } },
        ['store.historyRetention', '10m'],
      ],
      ['negative duration', { ingest: { idleTimeout: -5 } }, ['ingest.idleTimeout']],
      [
        'bad CIDR in allowedSenders',
        { ingest: { allowedSenders: ['10.0.0.0/8', '10.0.0.0/33'] } },
        ['ingest.allowedSenders'],
      ],
      ['allowedSenders not a list', { ingest: { allowedSenders: 42 } }, ['ingest.allowedSenders']],
      ['bad CIDR in ignoreip', { jails: { ignoreip: ['localhost'] } }, ['jails.ignoreip']],
      ['log level', { log: { level: 'loud' } }, ['log.level', 'debug']],
      ['invalid JSON', '{"store": {', ['not valid JSON']],
      ['top level not an object', '[1, 2]', ['the top level must be an object of sections']],
      [
        'TLS without cert',
        { ingest: { tls: { enabled: true } } },
        ['ingest.tls.enabled', 'ingest.tls.cert'],
      ],
      [
        'TLS without key',
        { ingest: { tls: { enabled: true, cert: '/c.pem' } } },
        ['ingest.tls.key'],
      ],
      [
        'RELP over TLS without cert',
        { ingest: { relp: { enabled: true, tls: true } } },
        ['ingest.relp.tls', 'ingest.tls.cert'],
      ],
      [
        'journal upload over HTTPS without cert',
        { ingest: { journal: { enabled: true, tls: true } } },
        ['ingest.journal.tls', 'ingest.tls.cert'],
      ],
      [
        'client certs without CA',
        { ingest: { tls: { requireClientCert: true } } },
        ['ingest.tls.requireClientCert', 'ingest.tls.ca'],
      ],
      [
        'http without token',
        { control: { http: { enabled: true } } },
        ['control.http.enabled', 'control.http.token'],
      ],
      [
        'http with a short token',
        { control: { http: { enabled: true, token: 'short' } } },
        ['control.http.token', '16'],
      ],
      [
        'buffer below message size',
        { ingest: { maxMessageSize: 65536, maxConnectionBuffer: 65536 } },
        ['ingest.maxConnectionBuffer', 'ingest.maxMessageSize'],
      ],
      [
        'bad jail default',
        { jails: { defaults: { maxretry: 'many' } } },
        ['jails.defaults', 'maxretry'],
      ],
      [
        'unknown jail default',
        { jails: { defaults: { maxretries: 3 } } },
        ['jails.defaults', 'maxretries'],
      ],
    ];
    for (const [name, content, parts] of table) {
      const path = await file(content);
      assert.throws(
        () => loadConfig({ file: path, env: {} }),
        (e: unknown) => {
          fails(ErrorCode.CONFIG_INVALID, path, ...parts)(e);
          return true;
        },
        name,
      );
    }
  });

  it('a missing file is CONFIG_NOT_FOUND, naming the file', () => {
    const path = join(dir, 'no-such-file.json');
    assert.throws(
      () => loadConfig({ file: path, env: {} }),
      fails(ErrorCode.CONFIG_NOT_FOUND, path),
    );
    assert.throws(
      () => loadConfig({ env: { FLEETBAN_CONFIG: path } }),
      fails(ErrorCode.CONFIG_NOT_FOUND, path),
    );
  });

  it('the loaded config is frozen all the way down', async () => {
    const c = await load({ ingest: { allowedSenders: ['10.0.0.0/8'] } });
    for (const part of [
      c,
      c.store,
      c.ingest,
      c.ingest.udp,
      c.ingest.tls,
      c.ingest.allowedSenders,
      c.jails,
      c.jails.ignoreip,
      c.jails.defaults,
      c.control.http,
      c.log,
    ]) {
      assert.ok(Object.isFrozen(part));
    }
    assert.throws(() => {
      (c.ingest.udp as { port: number }).port = 1;
    }, TypeError);
    assert.throws(() => {
      (c.ingest.allowedSenders as string[]).push('0.0.0.0/0');
    }, TypeError);
    assert.equal(c.ingest.udp.port, 5514);
  });

  it('redactedConfig hides every key the schema marks sensitive', async () => {
    const sensitive = schemaKeys(schema).filter((k) => at(schema, `${k}.sensitive`).value === true);
    assert.ok(sensitive.includes('control.http.token'));
    const c = await load(
      Object.fromEntries(Object.keys(schema).map((section) => [section, {}])),
      Object.fromEntries(
        sensitive.flatMap((k) => {
          const env = at(schema, `${k}.env`).value;
          return typeof env === 'string' ? [[env, `secret-value-of-${k}-0123456789`]] : [];
        }),
      ),
    );
    const text = JSON.stringify(redactedConfig(c));
    for (const k of sensitive) {
      assert.equal(at(c, k).value, `secret-value-of-${k}-0123456789`, `${k} was set for the test`);
      assert.equal(text.includes(`secret-value-of-${k}`), false, `${k} is shown`);
      assert.equal(at(redactedConfig(c), k).value, '[redacted]', k);
    }
  });

  it('redactedConfig hides the admin token and nothing else', async () => {
    const token = 's3cret-token-0123456789';
    const c = await load({ control: { http: { enabled: true, token } } });
    const shown = redactedConfig(c);
    assert.equal(JSON.stringify(shown).includes(token), false);
    assert.equal(at(shown, 'control.http.token').value, '[redacted]');
    assert.equal(at(shown, 'control.http.enabled').value, true);
    assert.deepEqual(at(shown, 'ingest').value, c.ingest);
    assert.equal(c.control.http.token, token, 'the config itself is untouched');
    assert.equal(
      at(redactedConfig(await load({})), 'control.http.token').value,
      '',
      'an empty token stays visibly empty',
    );
  });
});

describe('jails.dir', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetban-jails-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function configFor(jailsDir: string): Promise<FleetbanConfig> {
    const path = join(dir, `fleetban-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(path, JSON.stringify({ jails: { dir: jailsDir } }));
    return loadConfig({ file: path, env: {} });
  }

  it('reads *.json, *.yaml and *.yml in name order, nothing else', async () => {
    const d = join(dir, 'ok');
    await mkdir(d);
    await writeFile(join(d, 'b.yaml'), 'recidive-like:\n  failregex: "^ban from <HOST>$"\n');
    await writeFile(join(d, 'a.json'), JSON.stringify({ sshd: { maxretry: 3 } }));
    await writeFile(join(d, 'c.yml'), 'third:\n  failregex: ["^x <HOST>$"]\n');
    await writeFile(join(d, 'README'), 'not a jail file');
    await writeFile(join(d, 'old.json.bak'), '{ broken');
    const jails = loadJails(await configFor(d));
    assert.deepEqual(
      jails.map((j) => [j.name, j.file]),
      [
        ['sshd', join(d, 'a.json')],
        ['recidive-like', join(d, 'b.yaml')],
        ['third', join(d, 'c.yml')],
      ],
    );
    assert.equal(jails[0]?.maxretry, 3);
  });

  it('jails.defaults apply to every jail; a jail still overrides them', async () => {
    const d = join(dir, 'defaults');
    await mkdir(d);
    await writeFile(
      join(d, 'j.json'),
      JSON.stringify({ sshd: {}, strict: { filter: 'sshd', maxretry: 2 } }),
    );
    const path = join(dir, 'with-defaults.json');
    await writeFile(
      path,
      JSON.stringify({ jails: { dir: d, defaults: { maxretry: 7, bantime: '1h' } } }),
    );
    const jails = loadJails(loadConfig({ file: path, env: {} }));
    assert.deepEqual(
      jails.map((j) => [j.name, j.maxretry, j.bantime]),
      [
        ['sshd', 7, 3600],
        ['strict', 2, 3600],
      ],
    );
  });

  it('the same jail in two files is refused, naming both files', async () => {
    const d = join(dir, 'dup');
    await mkdir(d);
    await writeFile(join(d, '10-sshd.json'), JSON.stringify({ sshd: {} }));
    await writeFile(join(d, '20-more.yaml'), 'sshd:\n  maxretry: 2\n');
    const config = await configFor(d);
    assert.throws(
      () => loadJails(config),
      fails(ErrorCode.JAIL_INVALID, join(d, '10-sshd.json'), join(d, '20-more.yaml'), '"sshd"'),
    );
  });

  it('a jail file that is not valid names the file', async () => {
    const d = join(dir, 'badfile');
    await mkdir(d);
    await writeFile(join(d, 'x.json'), '{ "sshd": ');
    const config = await configFor(d);
    assert.throws(
      () => loadJails(config),
      fails(ErrorCode.JAIL_INVALID, join(d, 'x.json'), 'not valid JSON'),
    );
  });

  it('an unreadable folder is CONFIG_INVALID naming jails.dir and the folder', async () => {
    const missing = join(dir, 'no-such-folder');
    const config = await configFor(missing);
    assert.throws(
      () => loadJails(config),
      fails(ErrorCode.CONFIG_INVALID, 'jails.dir', missing, config.file ?? ''),
    );
    const notAFolder = join(dir, 'plain-file');
    await writeFile(notAFolder, '');
    const config2 = await configFor(notAFolder);
    assert.throws(
      () => loadJails(config2),
      fails(ErrorCode.CONFIG_INVALID, 'jails.dir', notAFolder),
    );
  });
});
