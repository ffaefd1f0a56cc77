// Reads the whole ban view from Redis at once: every active ban, consistent with one sequence number.
import type { Ban, Change } from '../../core/types.js';
import { ActiveBans } from '../active-bans.js';
import { decodeBan, makeInterner } from '../codec.js';
import type { RedisClient } from './client.js';
import { feedId, type StoreKeys } from './keys.js';

/** Entries read per HSCAN or XRANGE call. */
export const SCAN_COUNT = 5_000;

export interface View {
  readonly active: ActiveBans;
  /** Every change up to this sequence number is in `active`. */
  readonly lastSeq: number;
  /** Ban records this version cannot read (skipped). */
  readonly skipped: number;
}

/** A feed entry's change: field list ['c', json]. */
export function changeOf(fields: readonly string[]): Change {
  return JSON.parse(fields[1] ?? 'null') as Change;
}

/**
 * The sequence number first, then every ban (HSCAN), then the feed after that number, which
 * mends whatever changed during the scan (a ban added or lifted meanwhile is replayed). When the
 * feed has been trimmed past the scan's start meanwhile (a huge burst), it reads again.
 */
export async function readView(client: RedisClient, keys: StoreKeys): Promise<View> {
  for (;;) {
    const start = Number((await client.get(keys.seq)) ?? 0);
    const active = new ActiveBans();
    const intern = makeInterner();
    let skipped = 0;
    let cursor = '0';
    do {
      const [next, flat] = await client.hscanBuffer(keys.bans, cursor, 'COUNT', SCAN_COUNT);
      cursor = next.toString();
      const bans: Ban[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const ban = decodeBan((flat[i] as Buffer).toString('utf8'), flat[i + 1] as Buffer, intern);
        if (ban === null) skipped++;
        else bans.push(ban);
      }
      active.load(bans);
    } while (cursor !== '0');
    let last = start;
    let trimmed = false;
    for (;;) {
      const entries = await client.xrange(keys.feed, feedId(last + 1), '+', 'COUNT', SCAN_COUNT);
      if (entries.length === 0) break;
      const changes = entries.map(([, fields]) => changeOf(fields));
      if (changes[0]?.seq !== last + 1) {
        trimmed = true;
        break;
      }
      active.apply(changes);
      last = changes[changes.length - 1]?.seq ?? last;
    }
    if (!trimmed) return { active, lastSeq: last, skipped };
  }
}
