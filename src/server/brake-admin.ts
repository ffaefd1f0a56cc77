// The admin API's held-ban routes (GET /v1/held, POST /v1/held/release|discard) and the brake's metrics.
import { ErrorCode, FleetbanError } from '../core/errors.js';
import { formatCidr, parseCidr } from '../core/ip.js';
import type { HeldSelection } from '../control/brake.js';
import type { MetricFamily } from '../control/metrics.js';
import type { AdminExtension, Route } from '../control/routes.js';
import type { BanBrake } from './brake.js';

export function brakeAdminExtension(brake: BanBrake): AdminExtension {
  const routes: readonly Route[] = [
    {
      method: 'GET',
      path: /^\/v1\/held$/,
      name: 'held',
      handle: async () => ({ kind: 'json', status: 200, body: { held: await brake.held() } }),
    },
    {
      method: 'POST',
      path: /^\/v1\/held\/release$/,
      name: 'held_release',
      handle: async (_deps, ctx) => {
        const released = await brake.release(selection(await ctx.body()));
        return { kind: 'json', status: 200, body: { released } };
      },
    },
    {
      method: 'POST',
      path: /^\/v1\/held\/discard$/,
      name: 'held_discard',
      handle: async (_deps, ctx) => {
        const discarded = await brake.discard(selection(await ctx.body()));
        return { kind: 'json', status: 200, body: { discarded } };
      },
    },
  ];
  return { routes, metrics: () => brakeMetrics(brake) };
}

/** `{"all": true}` or `{"targets": ["IP|CIDR", ...]}`, targets canonicalised like ban targets. */
function selection(body: Record<string, unknown>): HeldSelection {
  if (body.all === true) return { all: true };
  const { targets } = body;
  if (!Array.isArray(targets) || targets.length === 0) {
    throw new FleetbanError(
      ErrorCode.REQUEST_INVALID,
      'body must be {"all": true} or {"targets": ["IP|CIDR", ...]}',
    );
  }
  return {
    targets: targets.map((t) => {
      const cidr = typeof t === 'string' ? parseCidr(t) : null;
      if (cidr === null)
        throw new FleetbanError(
          ErrorCode.BAN_TARGET_INVALID,
          `${JSON.stringify(t)} is not an IP address or CIDR prefix`,
        );
      return formatCidr(cidr);
    }),
  };
}

function brakeMetrics(brake: BanBrake): MetricFamily[] {
  const r = brake.report();
  const counter = (name: string, help: string, value: number): MetricFamily => ({
    name: `fleetban_brake_${name}`,
    help,
    type: 'counter',
    samples: [{ value }],
  });
  return [
    {
      name: 'fleetban_brake_held',
      help: 'Jail bans the ban brake holds for review (fleetban held).',
      type: 'gauge',
      samples: [{ value: r.held }],
    },
    {
      name: 'fleetban_brake_tripped',
      help: 'Budgets exhausted now: 1 per tripped sender, and for the fleet.',
      type: 'gauge',
      samples: r.tripped.map((t) => ({
        labels: { scope: t.scope, sender: t.sender },
        value: 1,
      })),
    },
    counter(
      'trips_total',
      'Times a sender or the fleet went past its bans-per-minute budget.',
      r.trips,
    ),
    counter('held_total', 'Jail bans held by the ban brake.', r.heldTotal),
    counter('released_total', 'Held bans an admin released (banned).', r.released),
    counter('discarded_total', 'Held bans an admin discarded.', r.discarded),
    counter(
      'overflow_total',
      'Bans dropped because brake.maxHeld bans were already held.',
      r.overflow,
    ),
  ];
}
