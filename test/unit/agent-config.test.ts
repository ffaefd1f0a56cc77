// The agent's config: shipped defaults load, env overrides, errors name the file and key, backoff and guard.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ErrorCode, isFleetbanError } from '../../src/core/errors.js';
import { parseCidr } from '../../src/core/ip.js';
import { Backoff } from '../../src/agent/backoff.js';
import { agentSchema, loadAgentConfig, parseListen } from '../../src/agent/config.js';
import { Guard, ownAddresses } from '../../src/agent/guard.js';

const SHIPPED = fileURLToPath(new URL('../../../config/agent.json', import.meta.url));

test('config/agent.json holds every key at its default', async () => {
  const { readFile } = await import('node:fs/promises');
  const shipped = JSON.parse(await readFile(SHIPPED, 'utf8')) as Record<string, unknown>;
  const defaults = (node: Record<string, unknown>): unknown =>
    'default' in node && 'doc' in node
      ? node.default
      : Object.fromEntries(
          Object.entries(node).map(([k, v]) => [k, defaults(v as Record<string, unknown>)]),
        );
  const fromSchema = defaults(agentSchema) as Record<string, unknown>;
  assert.deepEqual(Object.keys(shipped).sort(), Object.keys(fromSchema).sort());
  assert.deepEqual(shipped, fromSchema);
  // The shipped file needs only a token to be valid.
  const c = loadAgentConfig({ file: SHIPPED, env: { FLEETBAN_AGENT_TOKEN: 'x'.repeat(43) } });
  assert.equal(c.mode, 'host');
  assert.equal(c.reconcileInterval, 60);
  assert.equal(c.pingInterval, 15);
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.reconnect));
});

test('env overrides and list formats', () => {
  const c = loadAgentConfig({
    file: SHIPPED,
    env: {
      FLEETBAN_AGENT_TOKEN: 'secret',
      FLEETBAN_AGENT_MODE: 'gateway',
      FLEETBAN_AGENT_PORTS: '22,443',
      FLEETBAN_AGENT_UDP_PORTS: '53 51820',
      FLEETBAN_AGENT_HOOKS: 'input,prerouting',
      FLEETBAN_AGENT_ALLOW: '192.0.2.0/24 2001:db8::/32',
      FLEETBAN_AGENT_RECONCILE_INTERVAL: '2m',
    },
  });
  assert.equal(c.mode, 'gateway');
  assert.deepEqual(c.ports, [22, 443]);
  assert.deepEqual(c.udpPorts, [53, 51820]);
  assert.deepEqual(c.hooks, ['input', 'prerouting']);
  assert.deepEqual(c.allow, ['192.0.2.0/24', '2001:db8::/32']);
  assert.equal(c.reconcileInterval, 120);
});

test('bad values are refused with the file and the key named', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetban-agent-config-'));
  try {
    const file = join(dir, 'agent.json');
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ token: 't', mode: 'router' }, /mode/],
      [{ token: 't', ports: [22, 70000] }, /ports/],
      [{ token: 't', udpPorts: [0] }, /udpPorts: must be a list of UDP ports/],
      [{ token: 't', udpPorts: 'dns' }, /udpPorts/],
      [
        { token: 't', hooks: ['output'] },
        /hooks: "output" is not a chain: use input, forward, prerouting/,
      ],
      [{ token: 't', hooks: ['input', 'input'] }, /hooks: "input" is listed twice/],
      [{ token: 't', hooks: [1] }, /hooks: 1 is not a chain/],
      [{ token: 't', allow: ['10.0.0.0/33'] }, /allow/],
      [{ token: 't', server: 'ftp://x' }, /server/],
      [{ token: 't', colour: 'blue' }, /colour/],
      [{ token: '' }, /token/],
      [{ token: 't', metrics: { listen: 'nowhere' } }, /metrics\.listen/],
    ];
    for (const [data, key] of cases) {
      await writeFile(file, JSON.stringify(data));
      assert.throws(
        () => loadAgentConfig({ file, env: {} }),
        (e: unknown) =>
          isFleetbanError(e, ErrorCode.CONFIG_INVALID) &&
          e.message.includes(file) &&
          key.test(e.message),
        JSON.stringify(data),
      );
    }
    assert.throws(
      () => loadAgentConfig({ file: join(dir, 'missing.json'), env: {} }),
      (e: unknown) => isFleetbanError(e, ErrorCode.CONFIG_NOT_FOUND),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('server: one URL or a list, in the file and in the environment, always loaded as a list', () => {
  const load = (server: unknown) =>
    loadAgentConfig({ env: {}, overrides: { token: 't', server } }).server;
  assert.deepEqual(load('https://fleetban.example.net:5515'), [
    'https://fleetban.example.net:5515',
  ]);
  assert.deepEqual(load(['http://10.0.0.1:5515', 'https://[2001:db8::1]:5515']), [
    'http://10.0.0.1:5515',
    'https://[2001:db8::1]:5515',
  ]);
  const fromEnv = loadAgentConfig({
    env: {
      FLEETBAN_AGENT_TOKEN: 't',
      FLEETBAN_AGENT_SERVER: 'http://10.0.0.1:5515, http://10.0.0.2:5515  https://c.example.net',
    },
  });
  assert.deepEqual(fromEnv.server, [
    'http://10.0.0.1:5515',
    'http://10.0.0.2:5515',
    'https://c.example.net',
  ]);
  assert.ok(Object.isFrozen(fromEnv.server));
  // The shipped single-URL default still loads.
  assert.deepEqual(loadAgentConfig({ file: SHIPPED, env: { FLEETBAN_AGENT_TOKEN: 't' } }).server, [
    'http://127.0.0.1:5515',
  ]);
});

test('server: a bad URL in a list is named, and so are a duplicate and an empty list', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fleetban-agent-servers-'));
  try {
    const file = join(dir, 'agent.json');
    const cases: [unknown, RegExp][] = [
      [['http://10.0.0.1:5515', 'ftp://10.0.0.2'], /server: "ftp:\/\/10\.0\.0\.2" is not an http/],
      [
        ['http://10.0.0.1:5515', 'http//10.0.0.2:5515'],
        /"http\/\/10\.0\.0\.2:5515" is not an http/,
      ],
      [['http://10.0.0.1:5515', 7], /server: 7 is not an http/],
      [
        ['http://10.0.0.1:5515', 'http://10.0.0.1:5515/'],
        /"http:\/\/10\.0\.0\.1:5515\/" is the same server as "http:\/\/10\.0\.0\.1:5515"/,
      ],
      [[], /server: must name at least one server/],
    ];
    for (const [server, message] of cases) {
      await writeFile(file, JSON.stringify({ token: 't', server }));
      assert.throws(
        () => loadAgentConfig({ file, env: {} }),
        (e: unknown) =>
          isFleetbanError(e, ErrorCode.CONFIG_INVALID) &&
          e.message.includes(file) &&
          message.test(e.message),
        JSON.stringify(server),
      );
    }
    assert.throws(
      () =>
        loadAgentConfig({
          env: { FLEETBAN_AGENT_TOKEN: 't', FLEETBAN_AGENT_SERVER: 'http://a:5515,https//b' },
        }),
      /server: "https\/\/b" is not an http/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('parseListen', () => {
  assert.deepEqual(parseListen('127.0.0.1:9516'), { address: '127.0.0.1', port: 9516 });
  assert.deepEqual(parseListen('[::1]:0'), { address: '::1', port: 0 });
  assert.equal(parseListen('9516'), null);
  assert.equal(parseListen('x:99999'), null);
});

test('backoff doubles from min to max with jitter in [50 %, 100 %], and resets', () => {
  let r = 0.999999;
  const b = new Backoff({ minMs: 100, maxMs: 1000, random: () => r });
  assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [100, 200, 400, 800, 1000]);
  r = 0;
  assert.equal(b.next(), 500);
  b.reset();
  assert.equal(b.next(), 50);
});

test('guard: protects single addresses and prefixes overlapping a protected one', () => {
  const c = (t: string) => {
    const cidr = parseCidr(t);
    assert.ok(cidr !== null, t);
    return cidr;
  };
  const g = new Guard({
    'own address': [c('10.77.0.1')],
    'server address': [c('2001:db8::1')],
    allowlist: [c('192.0.2.0/24')],
  });
  assert.equal(g.protects('10.77.0.1'), 'own address');
  assert.equal(g.protects('10.77.0.0/30'), 'own address');
  assert.equal(g.protects('10.77.0.2'), null);
  assert.equal(g.protects('10.77.0.2/31'), null);
  assert.equal(g.protects('2001:db8::/64'), 'server address');
  assert.equal(g.protects('192.0.2.99'), 'allowlist');
  assert.equal(g.protects('192.0.2.128/25'), 'allowlist');
  assert.equal(g.protects('192.0.0.0/16'), 'allowlist');
  assert.equal(g.protects('198.51.100.1'), null);
  assert.ok(ownAddresses().some((a) => a.address === '127.0.0.1'));
});
