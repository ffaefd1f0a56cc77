// The admin API's user routes (POST/GET /v1/users, DELETE /v1/users/NAME), mounted beside the built-in table.
import { ErrorCode, FleetbanError } from '../core/errors.js';
import type { MetricFamily } from '../control/metrics.js';
import type { AdminExtension, Route, RouteResult } from '../control/routes.js';
import { isRole, ROLES, type UserDirectory, type UserReport } from './users.js';

/** The answer to `POST /v1/users`: the only time the token is ever shown. */
export interface AddedUser {
  readonly user: UserReport;
  readonly token: string;
}

const json = (body: unknown, status = 200): RouteResult => ({ kind: 'json', status, body });

/**
 * `onRemoved` ends the removed user's dashboard sessions; `metrics` is the dashboard's part of
 * /metrics (none when it is off).
 */
export function usersAdminExtension(
  users: UserDirectory,
  onRemoved: (name: string) => void,
  metrics: () => MetricFamily[],
): AdminExtension {
  const routes: readonly Route[] = [
    {
      method: 'POST',
      path: /^\/v1\/users$/,
      name: 'user_add',
      handle: async (_deps, ctx) => {
        const { name, role } = await ctx.body();
        if (typeof name !== 'string' || !isRole(role)) {
          throw new FleetbanError(
            ErrorCode.REQUEST_INVALID,
            `body must be {"name": "USER", "role": "${ROLES.join('|')}"}`,
          );
        }
        const added: AddedUser = await users.add(name, role);
        return json(added, 201);
      },
    },
    {
      method: 'GET',
      path: /^\/v1\/users$/,
      name: 'users',
      handle: () => json({ users: users.list() }),
    },
    {
      method: 'DELETE',
      path: /^\/v1\/users\/([^/]+)$/,
      name: 'user_remove',
      handle: async (_deps, { params }) => {
        const removed = await users.remove(params[0] ?? '');
        onRemoved(removed.name);
        return json({ removed: removed.name });
      },
    },
  ];
  return { routes, metrics };
}
