// `fleetban cluster status`: the servers sharing a Redis store, how far each is behind, and how Redis serves it.
import type { ClusterDetail, ClusterSummary } from '../../control/plane.js';
import { clientOptions, flagOption, toJson, type Command } from '../command.js';
import { ExitCode } from '../exit-codes.js';
import { formatRelative, table } from '../format.js';

export const clusterStatusCommand: Command = {
  name: 'cluster status',
  summary: 'servers sharing the Redis store, their feed lag, Redis nodes and slots',
  usage: 'cluster status [--json]',
  description:
    'Exits 1 when a listed server is dead, when the live servers run different jail definitions, or when Redis Cluster has slots no healthy master serves.',
  options: clientOptions,
  positionals: { names: [], required: 0 },
  async run({ values, io, client }) {
    const detail = await (await client()).cluster();
    io.stdout(flagOption(values, 'json') ? toJson(detail) : renderCluster(detail, io.clock.now()));
    const whole = detail.redis.length === 0 || detail.slotsCovered === 16384;
    const allAlive = detail.servers.every((s) => s.alive);
    return whole && allAlive && !detail.jailsDiffer ? ExitCode.OK : ExitCode.FAILED;
  },
};

/** The servers part, shared with `fleetban status`. */
export function renderClusterSummary(c: ClusterSummary, now: number): string {
  const alive = c.servers.filter((s) => s.alive).length;
  let out = `cluster: ${alive} of ${c.servers.length} servers alive on ${c.store}\n`;
  for (const s of c.servers)
    out += `  ${s.self ? '*' : ' '} ${s.id}  ${s.alive ? 'alive' : 'DEAD'}${s.id === c.leader ? ' (leader)' : ''}, seen ${formatRelative(s.seenAt, now)}, jails ${s.jails}\n`;
  if (c.jailsDiffer)
    out +=
      '  WARNING: the live servers run different jail definitions: failures count differently depending on the server a line reaches\n';
  return out;
}

function renderCluster(d: ClusterDetail, now: number): string {
  let out = renderClusterSummary(d, now);
  out += `store sequence number: ${d.seq}\n\n`;
  out += table(
    ['SERVER', 'STATE', 'LAST-SEQ', 'LAG', 'VERSION', 'STARTED'],
    d.servers.map((s) => [
      `${s.self ? '*' : ''}${s.id}`,
      s.alive ? 'alive' : 'dead',
      String(s.lastSeq),
      String(s.lag),
      s.version,
      formatRelative(s.startedAt, now),
    ]),
  );
  if (d.redis.length === 0) return `${out}\nRedis: one standalone server\n`;
  out += `\nRedis Cluster: ${d.slotsCovered} of 16384 slots served by healthy masters; the ban state is in slot ${d.storeSlot ?? '-'}\n`;
  out += table(
    ['NODE', 'ROLE', 'STATE', 'SLOTS'],
    d.redis.map((n) => [
      n.address,
      n.role === 'replica'
        ? `replica of ${d.redis.find((m) => m.id === n.masterId)?.address ?? n.masterId ?? '?'}`
        : 'master',
      n.healthy ? 'ok' : 'FAILED',
      n.slots.join(' '),
    ]),
  );
  return out;
}
