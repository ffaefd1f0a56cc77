// The ban brake's held bans through the admin API: the CLI's typed calls (the report type lives in plane.ts).
import type { HeldBan } from '../core/types.js';
import type { AdminClient } from './admin-client.js';

/** Which held bans an admin acts on. */
export type HeldSelection = { readonly targets: readonly string[] } | { readonly all: true };

export async function listHeld(client: AdminClient): Promise<HeldBan[]> {
  return (await client.request<{ held: HeldBan[] }>('GET', '/v1/held')).held;
}

/** Bans the held entries now (the brake does not apply) and removes them from the queue. */
export async function releaseHeld(client: AdminClient, which: HeldSelection): Promise<HeldBan[]> {
  return (await client.request<{ released: HeldBan[] }>('POST', '/v1/held/release', which))
    .released;
}

/** Removes held entries without banning. */
export async function discardHeld(client: AdminClient, which: HeldSelection): Promise<HeldBan[]> {
  return (await client.request<{ discarded: HeldBan[] }>('POST', '/v1/held/discard', which))
    .discarded;
}
