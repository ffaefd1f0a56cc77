// The Lua script that counts one batch of an attacker's failures in one jail's shared window, and its reply.

/**
 * KEYS[1] the window (sorted set: score = event time, member = JSON [id, attacker, host, sender,
 * line]); KEYS[2] the target's "just decided" marker. Both carry the target's hash tag, so the
 * script runs on one shard and is atomic for the attacker.
 *
 * ARGV: findtime ms, maxretry, marker TTL ms, most lines returned, the caller's token, the window
 * TTL ms, reset (1 = drop the window first: an admin forgot it), then (time, member) pairs in the
 * order the failures arrived.
 *
 * A retried batch adds the same members again (each carries a unique id): what an unanswered
 * attempt already added is not added twice, and is counted (in the reply) by the attempt that
 * answers.
 *
 * Each failure goes through the rule of FailureWindows.add: stale when not after (newest - findtime),
 * newest being the largest time in the window and this failure's; else added, and every failure at
 * or before the cutoff dropped. Once the window holds maxretry failures it is read, deleted, and the
 * marker is set: the remaining failures of the batch, and every batch until the marker expires, are
 * "already decided". The marker keeps the crossing's reply under the caller's token, so a caller
 * that retries after a lost reply gets the same crossing again, and no one else ever gets it.
 *
 * Reply: {0, counted, stale} (window open), {1, counted, stale, index, window JSON} (crossed at
 * the index-th failure of the batch, 1-based), {2} (decided before this batch).
 */
export const WINDOW_SCRIPT = `
local window, marker = KEYS[1], KEYS[2]
local findtime, maxretry = tonumber(ARGV[1]), tonumber(ARGV[2])
local markerTtl, maxLines, token = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local windowTtl = tonumber(ARGV[6])
if ARGV[7] == '1' then redis.call('DEL', window) end
local decided = redis.call('GET', marker)
if decided then
  if string.sub(decided, 1, #token + 1) == token .. ' ' then
    local stored = cjson.decode(string.sub(decided, #token + 2))
    return {1, stored[1], stored[2], stored[3], stored[4]}
  end
  return {2}
end
local counted, stale = 0, 0
local n = (#ARGV - 7) / 2
for i = 1, n do
  local t = tonumber(ARGV[6 + 2 * i])
  local member = ARGV[7 + 2 * i]
  if findtime <= 0 then
    stale = stale + 1
  else
    local newest = t
    local top = redis.call('ZRANGE', window, -1, -1, 'WITHSCORES')
    if top[2] and tonumber(top[2]) > newest then newest = tonumber(top[2]) end
    local cutoff = newest - findtime
    if t <= cutoff then
      stale = stale + 1
    else
      redis.call('ZADD', window, t, member)
      counted = counted + 1
      redis.call('ZREMRANGEBYSCORE', window, '-inf', cutoff)
      if redis.call('ZCARD', window) >= maxretry then
        local members = redis.call('ZRANGE', window, 0, -1)
        local hosts, senders, lines = {}, {}, {}
        local first = #members - maxLines + 1
        for j, m in ipairs(members) do
          local f = cjson.decode(m)
          hosts[f[3]] = (hosts[f[3]] or 0) + 1
          senders[f[4]] = (senders[f[4]] or 0) + 1
          if j >= first then lines[#lines + 1] = f[5] end
        end
        local snapshot = cjson.encode({f = #members, h = hosts, s = senders, l = lines})
        redis.call('DEL', window)
        redis.call('SET', marker, token .. ' ' .. cjson.encode({counted, stale, i, snapshot}), 'PX', markerTtl)
        return {1, counted, stale, i, snapshot}
      end
    end
  end
end
redis.call('PEXPIRE', window, windowTtl)
return {0, counted, stale}
`;

/** The window as a crossing read it. */
export interface CrossedWindow {
  readonly failures: number;
  readonly hosts: Readonly<Record<string, number>>;
  readonly senders: Readonly<Record<string, number>>;
  /** The newest lines, oldest first. */
  readonly lines: readonly string[];
}

export type ScriptReply =
  | { readonly kind: 'open'; readonly counted: number; readonly stale: number }
  | {
      readonly kind: 'crossed';
      readonly counted: number;
      readonly stale: number;
      /** 0-based index, in the batch sent, of the failure that crossed. */
      readonly index: number;
      readonly window: CrossedWindow;
    }
  | { readonly kind: 'decided' };

/** Reads the script's reply; throws a TypeError on a shape the script never returns. */
export function parseScriptReply(reply: unknown): ScriptReply {
  if (!Array.isArray(reply)) throw new TypeError('window script reply is not an array');
  const [kind, counted, stale, index, snapshot] = reply as unknown[];
  if (kind === 2) return { kind: 'decided' };
  if (typeof counted !== 'number' || typeof stale !== 'number')
    throw new TypeError('window script reply lacks its counts');
  if (kind === 0) return { kind: 'open', counted, stale };
  if (kind !== 1 || typeof index !== 'number' || typeof snapshot !== 'string')
    throw new TypeError('window script reply is not open, crossed or decided');
  const raw = JSON.parse(snapshot) as { f: number; h: unknown; s: unknown; l: unknown };
  return {
    kind: 'crossed',
    counted,
    stale,
    index: index - 1,
    window: {
      failures: raw.f,
      hosts: tally(raw.h),
      senders: tally(raw.s),
      // cjson encodes an empty Lua table as {}: no lines comes back as an object.
      lines: Array.isArray(raw.l) ? (raw.l as string[]) : [],
    },
  };
}

function tally(raw: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (raw === null || typeof raw !== 'object') return out;
  for (const [k, v] of Object.entries(raw)) if (typeof v === 'number') out[k] = v;
  return out;
}
