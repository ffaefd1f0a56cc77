// Docker hosts: a banned source still reaches a DNAT-published container past the input chain; the prerouting hook drops it, and SIGHUP changes hooks, ports and allow list without a gap.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { after, before, test } from 'node:test';
import { ManualClock, systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { AgentApi } from '../../src/distribute/agent-api.js';
import { AgentRegistry } from '../../src/distribute/agent-registry.js';
import { parseListedSet } from '../../src/nft/parse-list.js';
import { LevelBanStore } from '../../src/store/level-store.js';
import { FLEETBAN_BIN } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';
import { AgentProcess, Netns, requireNetns, run, runId } from './agent-netns-fixture.js';

// Addresses of this test only (10.93.x), inside namespaces of its own: nothing in the root namespace.
const id = runId();
const NS = { host: `fpdh-${id}`, container: `fpdc-${id}`, outside: `fpdo-${id}` };
const HOST = '10.93.1.1';
const ATTACKER = '10.93.1.2';
const CLIENT = '10.93.1.3';
const BRIDGE = '10.93.100.1';
const CONTAINER = '10.93.100.2';
/** `docker run -p 8080:80`: published on the host, served by the container. */
const PUBLISHED = 8080;
/** A service of the host itself, behind the input chain. */
const HOST_SERVICE = 2222;
/** UDP published to the container (same port): one in the agent's udpPorts, one not. */
const UDP_SCOPED = 5353;
const UDP_OTHER = 5354;

const netns = new Netns();
const children: ChildProcess[] = [];
const cleanups: (() => Promise<unknown>)[] = [];
let dir = '';
let configFile = '';
let token = '';
let apiPort = 0;
let agent: AgentProcess | undefined;
let prober: Prober | undefined;
/** Packets the container received, by `PORT SOURCE`, as it last reported them. */
let received: Record<string, number> = {};

const CONTAINER_SCRIPT = `
const net = require('net'), dgram = require('dgram');
const counts = {}; let changed = false, ready = 0;
const up = () => { if (++ready === 3) console.log('ready'); };
net.createServer((s) => s.end('hi')).listen(80, '${CONTAINER}', up);
for (const port of [${UDP_SCOPED}, ${UDP_OTHER}]) {
  const u = dgram.createSocket('udp4');
  u.on('message', (m, r) => { const k = port + ' ' + r.address; counts[k] = (counts[k] || 0) + 1; changed = true; });
  u.bind(port, '${CONTAINER}', up);
}
setInterval(() => { if (changed) { changed = false; console.log(JSON.stringify(counts)); } }, 20);
`;

/** In the outside namespace: `tcp ID SRC DST PORT` → `ID ok|no`; `flood on|off` → UDP every 2 ms. */
const PROBER_SCRIPT = `
const net = require('net'), dgram = require('dgram');
const from = (a) => { const s = dgram.createSocket('udp4'); s.bind(0, a); return s; };
const attacker = from('${ATTACKER}'), client = from('${CLIENT}');
let flood, sent = 0;
require('readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, a, b, c, d] = line.split(' ');
  if (cmd === 'tcp') {
    let answered = false;
    const answer = (ok) => { if (!answered) { answered = true; console.log(a + (ok ? ' ok' : ' no')); s.destroy(); } };
    const s = net.connect({ host: c, port: Number(d), localAddress: b });
    s.setTimeout(1000, () => answer(false));
    s.on('data', (x) => answer(String(x) === 'hi'));
    s.on('error', () => answer(false));
  } else if (cmd === 'flood' && a === 'on') {
    flood = setInterval(() => {
      attacker.send('x', ${UDP_SCOPED}, '${HOST}');
      attacker.send('x', ${UDP_OTHER}, '${HOST}');
      client.send('x', ${UDP_SCOPED}, '${HOST}');
      sent++;
    }, 2);
    console.log('flood on');
  } else if (cmd === 'flood') {
    clearInterval(flood);
    console.log('flood off ' + sent);
  }
});
console.log('ready');
`;

/** The prober process: one question at a time, answers by id. */
class Prober {
  readonly #child: ChildProcess;
  readonly #waiting = new Map<string, (line: string) => void>();
  #next = 0;

  constructor({ child, lines }: Started) {
    this.#child = child;
    lines.on('line', (line) => {
      const [key] = line.split(' ');
      const waiter = this.#waiting.get(key ?? '');
      if (waiter !== undefined) {
        this.#waiting.delete(key ?? '');
        waiter(line);
      }
    });
  }

  #ask(key: string, line: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`the prober did not answer "${line}"`));
      }, 10_000);
      this.#waiting.set(key, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
      this.#child.stdin?.write(`${line}\n`);
    });
  }

  /** Whether `source` gets the greeting from address:port over TCP within a second. */
  async reaches(source: string, address: string, port: number): Promise<boolean> {
    const key = `p${++this.#next}`;
    return (await this.#ask(key, `tcp ${key} ${source} ${address} ${port}`)).endsWith(' ok');
  }

  async flood(on: boolean): Promise<number> {
    const answer = await this.#ask('flood', `flood ${on ? 'on' : 'off'}`);
    return on ? 0 : Number(answer.split(' ')[2]);
  }
}

interface Started {
  readonly child: ChildProcess;
  /** Its stdout, a line at a time, after the first. */
  readonly lines: Interface;
}

/** Starts a node script inside a namespace and waits for its first line ("ready"). */
async function startIn(ns: string, script: string): Promise<Started> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  const lines = createInterface({ input: child.stdout });
  const first = once(lines, 'line') as Promise<[string]>;
  const exited = once(child, 'exit').then(() => {
    throw new Error(`the script in ${ns} exited before it was ready`);
  });
  const [line] = await Promise.race([first, exited]);
  assert.equal(line, 'ready');
  return { child, lines };
}

async function writeConfig(keys: Record<string, unknown>): Promise<void> {
  const config = {
    server: `http://127.0.0.1:${apiPort}`,
    token,
    // The agent runs in the root namespace; its nft acts in the host namespace.
    nftPath: join(dir, 'nft-in-host'),
    batchWindowMs: 5,
    mode: 'host',
    ...keys,
  };
  await writeFile(configFile, JSON.stringify(config));
}

function runningAgent(): AgentProcess {
  assert.ok(agent !== undefined, 'the agent was started');
  return agent;
}

function probe(): Prober {
  assert.ok(prober !== undefined, 'the prober was started in before()');
  return prober;
}

let reloads = 0;
/** Reloads under the flood, alternating between two configurations. */
const RELOADS = 20;
/** Rewrites the config, sends SIGHUP, waits for the agent to say it reloaded. */
async function reload(keys: Record<string, unknown>): Promise<void> {
  await writeConfig(keys);
  runningAgent().signal('SIGHUP');
  await runningAgent().waitForLog('configuration reloaded', ++reloads);
}

async function bannedV4(): Promise<string[]> {
  const out = await netns.exec(NS.host, 'nft', [
    '-j',
    'list',
    'set',
    'inet',
    'fleetban',
    'banned_v4',
  ]);
  return [...parseListedSet(out, 'banned_v4', Date.now()).elements.keys()];
}

async function chains(): Promise<string> {
  return netns.exec(NS.host, 'nft', ['list', 'table', 'inet', 'fleetban']);
}

before(async () => {
  await requireNetns();
  dir = await mkdtemp(join(tmpdir(), 'fleetban-prerouting-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  configFile = join(dir, 'agent.json');
  cleanups.push(() => netns.cleanup());
  for (const ns of Object.values(NS)) await netns.add(ns);
  const inHost = (...args: string[]) => run('ip', ['-n', NS.host, ...args]);
  // outside ── veth ── host (forwarding, DNAT) ── bridge ── veth ── container
  await inHost(
    'link',
    'add',
    `fpo${id}`,
    'type',
    'veth',
    'peer',
    'name',
    'eth0',
    'netns',
    NS.outside,
  );
  await inHost('addr', 'add', `${HOST}/24`, 'dev', `fpo${id}`);
  await inHost('link', 'set', `fpo${id}`, 'up');
  for (const address of [ATTACKER, CLIENT])
    await run('ip', ['-n', NS.outside, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
  await run('ip', ['-n', NS.outside, 'link', 'set', 'eth0', 'up']);
  await inHost('link', 'add', `fpb${id}`, 'type', 'bridge');
  await inHost('addr', 'add', `${BRIDGE}/24`, 'dev', `fpb${id}`);
  await inHost('link', 'set', `fpb${id}`, 'up');
  await inHost(
    'link',
    'add',
    `fpc${id}`,
    'type',
    'veth',
    'peer',
    'name',
    'eth0',
    'netns',
    NS.container,
  );
  await inHost('link', 'set', `fpc${id}`, 'master', `fpb${id}`);
  await inHost('link', 'set', `fpc${id}`, 'up');
  await run('ip', ['-n', NS.container, 'addr', 'add', `${CONTAINER}/24`, 'dev', 'eth0']);
  await run('ip', ['-n', NS.container, 'link', 'set', 'eth0', 'up']);
  await run('ip', ['-n', NS.container, 'route', 'add', 'default', 'via', BRIDGE]);
  await netns.exec(NS.host, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  // What Docker does for `-p 8080:80` and `-p 5353-5354:5353-5354/udp`, in nft terms.
  await netns.exec(
    NS.host,
    'nft',
    ['-f', '-'],
    `table ip docker_nat {
      chain prerouting {
        type nat hook prerouting priority dstnat;
        tcp dport ${PUBLISHED} dnat to ${CONTAINER}:80
        udp dport { ${UDP_SCOPED}, ${UDP_OTHER} } dnat to ${CONTAINER}
      }
    }`,
  );
  (await startIn(NS.container, CONTAINER_SCRIPT)).lines.on('line', (line) => {
    received = JSON.parse(line) as Record<string, number>;
  });
  await startIn(
    NS.host,
    `require('net').createServer((s) => s.end('hi')).listen(${HOST_SERVICE}, '${HOST}', () => console.log('ready'))`,
  );
  prober = new Prober(await startIn(NS.outside, PROBER_SCRIPT));
  cleanups.push(() => {
    for (const child of children) child.kill('SIGKILL');
    return Promise.resolve();
  });

  // The central side: a store and the agent API on 127.0.0.1 (the agent runs in the root namespace).
  const store = new LevelBanStore(join(dir, 'db'));
  await store.open();
  cleanups.push(() => store.close());
  const api = new AgentApi({
    store,
    registry: new AgentRegistry(join(dir, 'db', 'agents.json'), new ManualClock(Date.now())),
    clock: systemClock,
    logger: silentLogger,
    address: '127.0.0.1',
    port: 0,
    pingIntervalMs: 15_000,
    maxQueued: 100,
  });
  apiPort = (await api.start()).port;
  cleanups.push(() => api.close());
  token = (await api.addAgent('docker-host')).token;
  const now = Date.now();
  await store.ban([
    {
      target: ATTACKER,
      family: 4,
      jail: 'sshd',
      origin: 'manual',
      attacker: ATTACKER,
      start: now,
      end: now + 3_600_000,
      banCount: 1,
      failures: 0,
      hosts: {},
      lines: [],
      reason: 'test',
    },
  ]);
  const wrapper = join(dir, 'nft-in-host');
  await writeFile(wrapper, `#!/bin/sh\nexec ip netns exec ${NS.host} nft "$@"\n`);
  await chmod(wrapper, 0o755);
});

after(async () => {
  await agent?.kill();
  for (const undo of cleanups.reverse()) await undo().catch(() => undefined);
});

test('input only (mode host): the banned source is kept off the host but still reaches the published container', async () => {
  await writeConfig({});
  agent = new AgentProcess(FLEETBAN_BIN, null, configFile);
  await agent.waitForLog('snapshot applied');
  assert.deepEqual(await bannedV4(), [ATTACKER]);
  assert.doesNotMatch(await chains(), /prerouting/);
  const p = probe();
  assert.equal(await p.reaches(CLIENT, HOST, PUBLISHED), true, 'the client reaches the container');
  assert.equal(await p.reaches(CLIENT, HOST, HOST_SERVICE), true, 'the client reaches the host');
  assert.equal(await p.reaches(ATTACKER, HOST, HOST_SERVICE), false, 'input drops the attacker');
  // The gap fail2ban users meet: DNAT turns the packets into forwarded ones, which input never sees.
  assert.equal(
    await p.reaches(ATTACKER, HOST, PUBLISHED),
    true,
    'with input only, the banned attacker still reaches the container',
  );
});

test('SIGHUP to hooks input + prerouting: the attacker is dropped before DNAT, the client still gets through', async () => {
  await reload({ hooks: ['input', 'prerouting'] });
  assert.match(await chains(), /hook prerouting priority raw;/);
  const p = probe();
  assert.equal(await p.reaches(ATTACKER, HOST, PUBLISHED), false, 'prerouting drops the attacker');
  assert.equal(await p.reaches(ATTACKER, HOST, HOST_SERVICE), false);
  assert.equal(await p.reaches(CLIENT, HOST, PUBLISHED), true, 'the client reaches the container');
  assert.equal(await p.reaches(CLIENT, HOST, HOST_SERVICE), true);
});

test('reloads that change hooks and ports under a UDP flood: not one banned packet passes; udpPorts and ports take effect', async () => {
  const p = probe();
  const scoped = { hooks: ['prerouting'], ports: [PUBLISHED], udpPorts: [UDP_SCOPED] };
  const all = { hooks: ['input', 'prerouting'], ports: [], udpPorts: [] };
  const count = (port: number, source: string) => received[`${port} ${source}`] ?? 0;
  await p.flood(true);
  const started = Date.now();
  let otherWhileScoped = 0;
  for (let i = 0; i < RELOADS; i++) {
    const config = i % 2 === 0 ? scoped : all;
    await reload(config);
    // Traffic flows on: the client's packets keep arriving after each reload.
    const before = count(UDP_SCOPED, CLIENT);
    const otherBefore = count(UDP_OTHER, ATTACKER);
    await waitFor(() => count(UDP_SCOPED, CLIENT) >= before + 50, {
      what: `the client's UDP packets after reload ${i + 1}`,
    });
    if (config === scoped) otherWhileScoped += count(UDP_OTHER, ATTACKER) - otherBefore;
  }
  const sent = await p.flood(false);
  const seconds = (Date.now() - started) / 1000;
  // Let the last packets in flight arrive before counting.
  const final = count(UDP_SCOPED, CLIENT);
  await waitFor(() => count(UDP_SCOPED, CLIENT) === final, { what: 'the flood to settle' });
  console.log(
    `${sent} packets per flow in ${seconds.toFixed(1)} s over ${RELOADS} reloads: ` +
      `attacker → udp/${UDP_SCOPED} received ${count(UDP_SCOPED, ATTACKER)}, ` +
      `client → udp/${UDP_SCOPED} received ${count(UDP_SCOPED, CLIENT)}, ` +
      `attacker → udp/${UDP_OTHER} received ${count(UDP_OTHER, ATTACKER)} (out of scope)`,
  );
  assert.ok(sent >= RELOADS * 25, `the flood sent ${sent} packets per flow`);
  assert.equal(count(UDP_SCOPED, ATTACKER), 0, 'no banned packet reached the container');
  assert.ok(count(UDP_SCOPED, CLIENT) > sent / 2, 'the client got through throughout');
  assert.ok(otherWhileScoped > 0, 'with udpPorts [5353], udp/5354 is open to the attacker');
  // The last reload left the unscoped configuration: everything from the attacker drops again.
  const other = count(UDP_OTHER, ATTACKER);
  await p.flood(true);
  await waitFor(() => count(UDP_SCOPED, CLIENT) >= final + 50, { what: 'the client again' });
  await p.flood(false);
  assert.equal(count(UDP_OTHER, ATTACKER), other, 'udp/5354 closed again without udpPorts');
  // TCP scoping in prerouting: the published port (before DNAT) is closed, the rest open.
  await reload(scoped);
  assert.doesNotMatch(await chains(), /hook input/);
  assert.equal(await p.reaches(ATTACKER, HOST, PUBLISHED), false, 'tcp/8080 is in ports');
  assert.equal(await p.reaches(ATTACKER, HOST, HOST_SERVICE), true, 'tcp/2222 is not');
});

test('SIGHUP with the attacker in allow lifts its ban; without, it is enforced again; a bad file is refused', async () => {
  const p = probe();
  const docker = { hooks: ['input', 'prerouting'] };
  await reload({ ...docker, allow: [ATTACKER] });
  await waitFor(async () => (await bannedV4()).length === 0, { what: 'the allowed ban lifted' });
  assert.equal(await p.reaches(ATTACKER, HOST, PUBLISHED), true);
  await reload(docker);
  await waitFor(async () => (await bannedV4()).includes(ATTACKER), { what: 'the ban back' });
  assert.equal(await p.reaches(ATTACKER, HOST, PUBLISHED), false);
  await writeConfig({ ...docker, hooks: ['output'] });
  runningAgent().signal('SIGHUP');
  await runningAgent().waitForLog('reload refused, the running configuration stays');
  assert.equal(runningAgent().running, true);
  assert.match(await chains(), /hook prerouting priority raw;/);
  assert.equal(await p.reaches(ATTACKER, HOST, PUBLISHED), false);
  assert.equal(await p.reaches(CLIENT, HOST, PUBLISHED), true);
});
