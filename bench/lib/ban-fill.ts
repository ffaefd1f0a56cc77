// Fills a LevelDB ban store with N active bans for the agent benchmarks, through the store itself.
import { cp } from 'node:fs/promises';
import { systemClock } from '../../src/core/clock.js';
import { formatCidr, parseCidr } from '../../src/core/ip.js';
import { LevelBanStore } from '../../src/store/level-store.js';
import type { NewBan } from '../../src/store/store.js';

const BATCH = 10_000;
const JAILS = ['sshd', 'postfix', 'dovecot', 'nginx-http-auth'] as const;

/**
 * Ban i: 80 % IPv4 addresses in 10.0.0.0/8 (i < 2^24), 20 % IPv6 /64s in 2001:db8::/32, 5 %
 * permanent, the rest ending 1-7 days out. No target covers another, so each becomes one element.
 */
export function fillBan(i: number, now: number): NewBan {
  const v6 = i % 5 === 0;
  const net = `2001:db8:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}`;
  const attacker = v6
    ? `${net}::${((i % 251) + 1).toString(16)}`
    : `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
  const failures = 5 + (i % 7);
  return {
    target: v6 ? canonical(`${net}::/64`) : attacker,
    family: v6 ? 6 : 4,
    jail: JAILS[i % JAILS.length] ?? 'sshd',
    origin: 'jail',
    attacker,
    start: now,
    end: i % 20 === 0 ? null : now + (86_400 + (i % 518_400)) * 1000,
    banCount: 1,
    failures,
    reason: `${failures} failures`,
    hosts: { [`web${String(i % 19).padStart(2, '0')}`]: failures },
    lines: [
      `Failed password for invalid user admin from ${attacker} port ${1024 + (i % 60_000)} ssh2`,
    ],
  };
}

/** Targets as the server writes them (formatCidr): `2001:db8:1:0::/64` is `2001:db8:1::/64`. */
function canonical(target: string): string {
  const cidr = parseCidr(target);
  if (cidr === null) throw new Error(`not a prefix: ${target}`);
  return formatCidr(cidr);
}

/** Writes bans 0…total-1 (skipping those already there); returns what it found and wrote. */
export async function fillStore(
  path: string,
  total: number,
): Promise<{ existing: number; written: number; seconds: number }> {
  const store = new LevelBanStore(path);
  await store.open();
  try {
    const existing = store.stats().activeBans;
    if (existing >= total) return { existing, written: 0, seconds: 0 };
    const now = systemClock.now();
    const t = performance.now();
    for (let i = existing; i < total; i += BATCH) {
      const n = Math.min(BATCH, total - i);
      await store.ban(Array.from({ length: n }, (_, k) => fillBan(i + k, now)));
    }
    return { existing, written: total - existing, seconds: (performance.now() - t) / 1000 };
  } finally {
    await store.close();
  }
}

/**
 * Copies a filled (closed) store for one server run, so the kept original never holds the run's
 * agents or bans: a second run must start from the same bans.
 */
export async function copyStore(from: string, to: string): Promise<void> {
  await cp(from, to, { recursive: true });
}
