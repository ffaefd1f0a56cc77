// The agent benchmarks' set-up: a namespace on a veth pair, the central server in the root namespace, agents inside.
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { AgentProcess } from './agent-process.js';
import { AgentServer, type AgentServerOptions } from './agent-server.js';
import { LinkedNamespace, requireNetns } from './netns.js';
import type { Teardown } from './teardown.js';

export interface Rig {
  readonly dir: string;
  readonly ns: LinkedNamespace;
  readonly server: AgentServer;
  /** The agent API as the agent dials it: the root end of the veth pair. */
  readonly url: string;
  readonly token: string;
}

export interface RigOptions extends Omit<AgentServerOptions, 'agentsAddress' | 'dir'> {
  readonly dir: string;
  readonly teardown: Teardown;
}

/**
 * Namespace first (the server binds its agent API to the root end of the veth pair), then the
 * server, then one agent token. Everything is registered with the teardown as it is made.
 */
export async function startRig(o: RigOptions): Promise<Rig> {
  await requireNetns();
  // A private /30 (10.201.N.0/30) per run; the bans of the benchmarks never fall inside 10.201/16.
  const n = randomInt(0, 64) * 4;
  const ns = new LinkedNamespace({
    prefix: 'fbbench',
    rootCidr: `10.201.${n}.1/30`,
    nsCidr: `10.201.${n}.2/30`,
  });
  o.teardown.add(`delete namespace ${ns.name}`, () => ns.delete());
  await ns.create();
  const { teardown, ...serverOptions } = o;
  const server = await AgentServer.start({ ...serverOptions, agentsAddress: ns.rootIp });
  teardown.add('stop fleetban server', () => server.close());
  const token = await server.addAgent('bench');
  return {
    dir: o.dir,
    ns,
    server,
    url: `http://${ns.rootIp}:${server.agents.port}`,
    token,
  };
}

/** Starts `fleetban agent` in the rig's namespace (stopped by the teardown). */
export async function startAgent(
  rig: Rig,
  teardown: Teardown,
  options: {
    readonly core: number | null;
    readonly name?: string;
    readonly extra?: Readonly<Record<string, unknown>>;
    readonly nodeFlags?: readonly string[];
  },
): Promise<AgentProcess> {
  const agent = await AgentProcess.start({
    ns: rig.ns,
    configFile: join(rig.dir, `agent-${options.name ?? 'bench'}.json`),
    server: rig.url,
    token: rig.token,
    core: options.core,
    ...(options.extra === undefined ? {} : { extra: options.extra }),
    ...(options.nodeFlags === undefined ? {} : { nodeFlags: options.nodeFlags }),
  });
  teardown.add('stop fleetban agent', () => agent.stop());
  return agent;
}
