// The CLI side of the agent routes: typed calls over the admin client.
import type { AdminClient } from '../control/admin-client.js';
import type { AgentReport } from './agent-api.js';
import type { AddedAgent } from './agents-admin.js';

export function addAgent(client: AdminClient, name: string): Promise<AddedAgent> {
  return client.request('POST', '/v1/agents', { name });
}

export async function listAgents(client: AdminClient): Promise<AgentReport[]> {
  return (await client.request<{ agents: AgentReport[] }>('GET', '/v1/agents')).agents;
}

export async function removeAgent(client: AdminClient, name: string): Promise<string> {
  const path = `/v1/agents/${encodeURIComponent(name)}`;
  return (await client.request<{ removed: string }>('DELETE', path)).removed;
}
