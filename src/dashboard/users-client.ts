// The CLI side of the user routes: typed calls over the admin client.
import type { AdminClient } from '../control/admin-client.js';
import type { Role, UserReport } from './users.js';
import type { AddedUser } from './users-admin.js';

export function addUser(client: AdminClient, name: string, role: Role): Promise<AddedUser> {
  return client.request('POST', '/v1/users', { name, role });
}

export async function listUsers(client: AdminClient): Promise<UserReport[]> {
  return (await client.request<{ users: UserReport[] }>('GET', '/v1/users')).users;
}

export async function removeUser(client: AdminClient, name: string): Promise<string> {
  const path = `/v1/users/${encodeURIComponent(name)}`;
  return (await client.request<{ removed: string }>('DELETE', path)).removed;
}
