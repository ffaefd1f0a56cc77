// Acceptance: real agents enforce the central server's bans with nft in network namespaces, through faults.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseListedSet } from '../../src/nft/parse-list.js';
import {
  FLEETBAN_BIN,
  ServerDir,
  runCli,
  sshdJail,
  startServer,
  type ServerProcess,
} from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';
import {
  AgentProcess,
  Netns,
  removeStaleRootLinks,
  requireNetns,
  runId,
  status,
} from './agent-netns-fixture.js';

const id = runId();
const NS = {
  attacker: `fba-${id}`,
  host: `fbh-${id}`,
  attacker2: `fbx-${id}`,
  router: `fbr-${id}`,
  server: `fbs-${id}`,
};
const ATTACKER = '10.77.0.2';
const HOST = '10.77.0.1';
const ATTACKER2 = '10.79.1.2';
const BEHIND = '10.79.2.2';
const CENTRAL = '10.78.0.1';
const PORT = 8022;

const netns = new Netns();

function central(): ServerProcess {
  assert.ok(server !== undefined, 'the central server was started in before()');
  return server;
}

function folder(): ServerDir {
  assert.ok(dir !== undefined, 'the server folder was created in before()');
  return dir;
}
const listeners: ChildProcess[] = [];
const agents: AgentProcess[] = [];
let dir: ServerDir | undefined;
let server: ServerProcess | undefined;
let agentPort = 0;
let hostAgent: AgentProcess;
let routerAgent: AgentProcess;
const tokens: Record<string, string> = {};

async function listen(ns: string, address: string): Promise<void> {
  const code = `require('net').createServer((s)=>s.end('hi')).listen(${PORT},'${address}',()=>console.log('listening'))`;
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  listeners.push(child);
  await once(child.stdout, 'data');
}

/** Whether `from` gets the listener's greeting from address:PORT within 1.5 s. */
async function reaches(from: string, address: string): Promise<boolean> {
  const script = `exec 3<>/dev/tcp/${address}/${PORT} && head -c 2 <&3 | grep -q hi`;
  return (
    (await status('ip', ['netns', 'exec', from, 'timeout', '1.5', 'bash', '-c', script])) === 0
  );
}

/** The IPv4 elements of the agent's sets (addresses and prefixes). */
async function setKeys(ns: string): Promise<string[]> {
  const keys: string[] = [];
  for (const set of ['banned_v4', 'banned_v4_net'] as const) {
    const out = await netns.exec(ns, 'nft', ['-j', 'list', 'set', 'inet', 'fleetban', set]);
    keys.push(...parseListedSet(out, set, Date.now()).elements.keys());
  }
  return keys.sort();
}

async function waitForSet(
  ns: string,
  want: (keys: string[]) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<string[]> {
  return waitFor(
    async () => {
      const keys = await setKeys(ns);
      return want(keys) ? keys : null;
    },
    { what, timeoutMs, intervalMs: 50 },
  );
}

async function cli(...args: string[]): Promise<void> {
  const r = await runCli([...args, '--socket', folder().socket]);
  assert.equal(r.code, 0, `fleetban ${args.join(' ')}: ${r.stderr}`);
}

async function writeAgentConfig(name: string, extra: Record<string, unknown>): Promise<string> {
  const file = join(folder().dir, `agent-${name}.json`);
  const config = {
    server: `http://${CENTRAL}:${agentPort}`,
    token: tokens[name] ?? 'wrong-token-wrong-token-wrong-token',
    reconcileInterval: '1s',
    stateFile: join(folder().dir, `agent-${name}.state`),
    pingInterval: '2s',
    reconnect: { min: '0.2', max: '1' },
    ...extra,
  };
  await writeFile(file, JSON.stringify(config));
  return file;
}

function startAgent(ns: string, configFile: string): AgentProcess {
  const a = new AgentProcess(FLEETBAN_BIN, ns, configFile);
  agents.push(a);
  return a;
}

before(async () => {
  await requireNetns();
  const stale = await removeStaleRootLinks([CENTRAL, '10.78.1.1']);
  if (stale.length > 0)
    console.log(`removed veth ends of an earlier, killed run: ${stale.join(' ')}`);
  for (const ns of Object.values(NS)) await netns.add(ns);
  await netns.link(
    { ns: NS.attacker, dev: `va${id}`, cidr: `${ATTACKER}/24` },
    { ns: NS.host, dev: `vh${id}`, cidr: `${HOST}/24` },
  );
  await netns.link(
    { ns: null, dev: `vr${id}`, cidr: `${CENTRAL}/24` },
    { ns: NS.host, dev: `vk${id}`, cidr: '10.78.0.2/24' },
  );
  await netns.link(
    { ns: NS.attacker2, dev: `vx${id}`, cidr: `${ATTACKER2}/24` },
    { ns: NS.router, dev: `vy${id}`, cidr: '10.79.1.1/24' },
  );
  await netns.link(
    { ns: NS.router, dev: `vz${id}`, cidr: '10.79.2.1/24' },
    { ns: NS.server, dev: `vs${id}`, cidr: `${BEHIND}/24` },
  );
  await netns.link(
    { ns: null, dev: `vq${id}`, cidr: '10.78.1.1/24' },
    { ns: NS.router, dev: `vp${id}`, cidr: '10.78.1.2/24' },
  );
  await netns.exec(NS.attacker2, 'ip', ['route', 'add', 'default', 'via', '10.79.1.1']);
  await netns.exec(NS.server, 'ip', ['route', 'add', 'default', 'via', '10.79.2.1']);
  await netns.exec(NS.router, 'ip', ['route', 'add', '10.78.0.0/24', 'via', '10.78.1.1']);
  await netns.exec(NS.router, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  await listen(NS.host, HOST);
  await listen(NS.server, BEHIND);

  dir = await ServerDir.create({
    jails: { sshd: sshdJail({ maxretry: 3, findtime: '10m', bantime: '1h' }) },
  });
  await folder().writeConfig({
    jails: { ignoreip: ['127.0.0.0/8'] },
    agents: { address: CENTRAL, port: 0, pingInterval: '2s' },
  });
  server = await startServer(folder());
  const ready = central().ready as unknown as { agents?: { port: number } };
  assert.ok(ready.agents !== undefined, 'the ready file names the agent API listener');
  agentPort = ready.agents.port;
  // The restarted server must come back where the agents look for it.
  await folder().writeConfig({
    jails: { ignoreip: ['127.0.0.0/8'] },
    agents: { address: CENTRAL, port: agentPort, pingInterval: '2s' },
  });
  for (const name of ['host', 'router']) {
    const r = await runCli(['agents', 'add', name, '--json', '--socket', folder().socket]);
    assert.equal(r.code, 0, r.stderr);
    tokens[name] = (JSON.parse(r.stdout) as { token: string }).token;
  }
  hostAgent = startAgent(NS.host, await writeAgentConfig('host', { mode: 'host' }));
  routerAgent = startAgent(NS.router, await writeAgentConfig('router', { mode: 'gateway' }));
  await hostAgent.waitForLog('snapshot applied');
  await routerAgent.waitForLog('snapshot applied');
});

after(async () => {
  for (const a of agents) await a.kill();
  for (const l of listeners) l.kill('SIGKILL');
  await server?.kill();
  await netns.cleanup();
  await dir?.remove();
});

test('host mode: failures arriving as syslog ban the attacker on the host; unban lets it back', async () => {
  assert.equal(
    await reaches(NS.attacker, HOST),
    true,
    'the attacker reaches the host before any ban',
  );
  const socket = createSocket('udp4');
  const udp = central().ready.udp;
  assert.ok(udp !== undefined, 'the server listens for syslog over UDP');
  const sent = Date.now();
  for (let i = 0; i < 3; i++) {
    const line = `<38>1 ${new Date().toISOString()} web${i} sshd 4242 - - Failed password for root from ${ATTACKER} port ${40000 + i} ssh2`;
    socket.send(line, udp.port, udp.address);
  }
  await waitForSet(NS.host, (k) => k.includes(ATTACKER), `${ATTACKER} in the host's banned_v4`);
  const latency = Date.now() - sent;
  socket.close();
  console.log(`# syslog failures to nft element on the host: ${latency} ms`);
  assert.equal(await reaches(NS.attacker, HOST), false, 'the banned attacker is dropped');
  await cli('unban', ATTACKER);
  await waitForSet(NS.host, (k) => !k.includes(ATTACKER), `${ATTACKER} gone from the set`);
  assert.equal(await reaches(NS.attacker, HOST), true, 'unbanned, the attacker gets through again');
});

test('gateway mode: forwarded traffic from a banned address is dropped at the router', async () => {
  assert.equal(await reaches(NS.attacker2, BEHIND), true, 'routed traffic passes before the ban');
  await cli('ban', ATTACKER2, '--for', '1h');
  await waitForSet(NS.router, (k) => k.includes(ATTACKER2), `${ATTACKER2} in the router's set`);
  assert.equal(
    await reaches(NS.attacker2, BEHIND),
    false,
    'forwarded traffic of the banned address is dropped',
  );
  await cli('unban', ATTACKER2);
  await waitForSet(
    NS.router,
    (k) => !k.includes(ATTACKER2),
    `${ATTACKER2} gone from the router's set`,
  );
  assert.equal(await reaches(NS.attacker2, BEHIND), true);
});

test('a set flushed by hand is restored by reconcile', async () => {
  await cli('ban', ATTACKER, '--for', '1h');
  await waitForSet(NS.host, (k) => k.includes(ATTACKER), 'the ban applied');
  // Flush and look in one nft run: with the short reconcile interval of this test, a separate
  // listing may already see the set restored.
  const flushed = await netns.exec(
    NS.host,
    'nft',
    ['-f', '-'],
    'flush set inet fleetban banned_v4\nlist set inet fleetban banned_v4\n',
  );
  assert.match(flushed, /set banned_v4/);
  assert.doesNotMatch(flushed, /elements/, 'the set is empty right after the flush');
  await waitForSet(NS.host, (k) => k.includes(ATTACKER), 'reconcile re-adding the flushed ban');
  assert.equal(await reaches(NS.attacker, HOST), false);
  await cli('unban', ATTACKER);
  await waitForSet(NS.host, (k) => !k.includes(ATTACKER), 'unban applied');
});

test('a CIDR ban and an address inside it: no nft error, the prefix is enforced', async () => {
  await cli('ban', '10.77.0.3', '--for', '1h');
  await waitForSet(NS.host, (k) => k.includes('10.77.0.3'), '10.77.0.3 applied');
  await cli('ban', '10.77.0.2/31', '--for', '1h');
  await waitForSet(
    NS.host,
    (k) => k.join() === '10.77.0.2/31,10.77.0.3',
    'the prefix in banned_v4_net beside the address in banned_v4',
  );
  assert.equal(await reaches(NS.attacker, HOST), false, 'the prefix covers the attacker');
  await cli('unban', '10.77.0.2/31');
  await waitForSet(NS.host, (k) => k.join() === '10.77.0.3', 'the covered address back on its own');
  assert.equal(await reaches(NS.attacker, HOST), true);
  await cli('unban', '10.77.0.3');
  await waitForSet(NS.host, (k) => k.length === 0, 'empty set');
  assert.equal(hostAgent.count('cannot update the nft sets'), 0, hostAgent.tail());
  assert.equal(hostAgent.count('nft refused'), 0, hostAgent.tail());
});

test('agent killed and restarted: the kernel keeps enforcing, the restart restores the full state', async () => {
  await cli('ban', '10.77.0.50', '--for', '1h');
  await waitForSet(NS.host, (k) => k.includes('10.77.0.50'), '10.77.0.50 applied');
  await hostAgent.kill();
  await cli('ban', ATTACKER, '--for', '1h');
  assert.deepEqual(
    await setKeys(NS.host),
    ['10.77.0.50'],
    'bans stay in the kernel while the agent is down',
  );
  hostAgent = startAgent(NS.host, join(folder().dir, 'agent-host.json'));
  await waitForSet(
    NS.host,
    (k) => k.join() === `${ATTACKER},10.77.0.50`,
    'both bans after the restart',
  );
  assert.equal(await reaches(NS.attacker, HOST), false);
  // SIGHUP reloads (an unchanged file changes nothing) and never takes the agent down.
  hostAgent.signal('SIGHUP');
  await hostAgent.waitForLog('configuration reloaded: nothing to change');
  assert.equal(hostAgent.running, true, 'the agent runs on after SIGHUP');
  assert.equal(await reaches(NS.attacker, HOST), false, 'the bans still drop after the reload');
  await cli('unban', ATTACKER);
  await cli('unban', '10.77.0.50');
  await waitForSet(NS.host, (k) => k.length === 0, 'empty set');
});

test('central server killed: bans stay and expire on time; the agent reconnects and catches up', async () => {
  const short = await runCli([
    'ban',
    '10.77.0.60',
    '--for',
    '3s',
    '--json',
    '--socket',
    folder().socket,
  ]);
  assert.equal(short.code, 0, short.stderr);
  // The ban's own start, as the server stored it: its 3 s run from there.
  const banned = (JSON.parse(short.stdout) as { start: number }).start;
  await cli('ban', ATTACKER, '--for', '1h');
  await waitForSet(
    NS.host,
    (k) => k.includes('10.77.0.60') && k.includes(ATTACKER),
    'both bans applied',
  );
  await central().kill();
  await waitForSet(
    NS.host,
    (k) => !k.includes('10.77.0.60'),
    'the kernel expiring the 3 s ban',
    10_000,
  );
  const expiredAfter = Date.now() - banned;
  assert.ok(expiredAfter >= 2500, `expired after ${expiredAfter} ms, not before its time`);
  assert.deepEqual(
    await setKeys(NS.host),
    [ATTACKER],
    'the long ban is still enforced without the server',
  );
  assert.equal(await reaches(NS.attacker, HOST), false);
  const connects = hostAgent.count('connected to the server');
  server = await startServer(folder());
  await hostAgent.waitForLog('connected to the server', connects + 1);
  await cli('unban', ATTACKER);
  await waitForSet(NS.host, (k) => k.length === 0, 'the unban after the server came back');
  assert.equal(await reaches(NS.attacker, HOST), true);
});

test('a wrong token is refused: the agent logs it and retries with backoff, touching nothing', async () => {
  await cli('ban', '10.77.0.70', '--for', '1h');
  await waitForSet(NS.host, (k) => k.includes('10.77.0.70'), '10.77.0.70 applied');
  const wrong = startAgent(NS.host, await writeAgentConfig('intruder', { mode: 'host' }));
  await wrong.waitForLog('the server refused the token', 3);
  await wrong.kill();
  assert.deepEqual(await setKeys(NS.host), ['10.77.0.70']);
  // The server logs the first refusal at once and sums up the rest per interval (no line each).
  const refusals = central().logsMatching((l) => /refused: (unknown|missing) token/i.test(l.msg));
  assert.ok(refusals.length >= 1, 'the server logged the refusal');
  assert.ok(refusals.length < 3, 'three refusals did not make three log lines');
  await cli('unban', '10.77.0.70');
});
