// The ban brake as the admin API shows it: reports, held-ban listings, and the CLI's typed calls.
import type { EpochMs } from '../core/clock.js';
import type { HeldBan } from '../core/types.js';
import type { AdminClient } from './admin-client.js';

/** A budget that is exhausted right now: one sender's, or the fleet's (`scope: 'fleet'`). */
export interface BrakeTripReport {
  readonly scope: 'sender' | 'fleet';
  /** The sender's address; '' for the fleet. */
  readonly sender: string;
  readonly since: EpochMs;
  /** Bans held since this trip began. */
  readonly held: number;
}

export interface BrakeReport {
  readonly enabled: boolean;
  readonly perSenderPerMinute: number;
  readonly fleetPerMinute: number;
  readonly maxHeld: number;
  /** Bans waiting for review now. */
  readonly held: number;
  /** Budgets exhausted now. */
  readonly tripped: readonly BrakeTripReport[];
  /** Since the server started: */
  readonly trips: number;
  readonly heldTotal: number;
  readonly released: number;
  readonly discarded: number;
  /** Bans dropped because `maxHeld` bans were already waiting. */
  readonly overflow: number;
}

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
