// The admin API's agent routes (POST/GET /v1/agents, DELETE /v1/agents/NAME), mounted beside the built-in table.
import { ErrorCode, FleetbanError } from '../core/errors.js';
import type { AdminExtension, Route, RouteResult } from '../control/routes.js';
import type { AgentApi, AgentReport } from './agent-api.js';

/** The answer to `POST /v1/agents`: the only time the token is ever shown. */
export interface AddedAgent {
  readonly agent: AgentReport;
  readonly token: string;
}

const json = (body: unknown, status = 200): RouteResult => ({ kind: 'json', status, body });

export function agentsAdminExtension(api: AgentApi): AdminExtension {
  const routes: readonly Route[] = [
    {
      method: 'POST',
      path: /^\/v1\/agents$/,
      name: 'agent_add',
      handle: async (_deps, ctx) => {
        const { name } = await ctx.body();
        if (typeof name !== 'string') {
          throw new FleetbanError(ErrorCode.REQUEST_INVALID, 'body must be {"name": "AGENT"}');
        }
        const added: AddedAgent = await api.addAgent(name);
        return json(added, 201);
      },
    },
    {
      method: 'GET',
      path: /^\/v1\/agents$/,
      name: 'agents',
      handle: () => json({ agents: api.agents() }),
    },
    {
      method: 'DELETE',
      path: /^\/v1\/agents\/([^/]+)$/,
      name: 'agent_remove',
      handle: async (_deps, { params }) => {
        const removed = await api.removeAgent(params[0] ?? '');
        return json({ removed: removed.name });
      },
    },
  ];
  return { routes, metrics: () => api.metrics() };
}
