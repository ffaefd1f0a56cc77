// The Lua scripts of the Redis ban store: each one is a single atomic step on the store's shard.

/**
 * Writes one planned group if nobody wrote since it was planned (compare-and-set on the sequence
 * number), else changes nothing and answers what the next plan needs (as PLAN_READ_SCRIPT does),
 * so that a retry costs no extra round trip. The plan itself is made in TypeScript by planGroup,
 * as for the LevelDB store: the script only applies it, so both stores share one set of semantics.
 *
 * KEYS: seq, feed, outboxIds, then the hashes the ops name by index (KEYS[4…]; history is KEYS[6]).
 * ARGV: expected seq, new seq, lowest seq the feed keeps, most feed entries to answer, the count
 * of attacker names, the names, then ops:
 *   'h' key field value  → HSET        'd' key field → HDEL
 *   'x' seq json         → XADD feed   'o' id        → ZADD outboxIds id id
 * Returns {1, outbox size} when written; on a conflict {0, current seq, {history or false, …},
 * {feed entries after the expected seq}}.
 */
export const COMMIT_SCRIPT = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local names = tonumber(ARGV[5])
if current ~= tonumber(ARGV[1]) then
  local histories = {}
  if names > 0 then histories = redis.call('HMGET', KEYS[6], unpack(ARGV, 6, 5 + names)) end
  local entries = redis.call('XRANGE', KEYS[2], (tonumber(ARGV[1]) + 1) .. '-0', '+', 'COUNT', ARGV[4])
  return {0, current, histories, entries}
end
local i = 6 + names
while i <= #ARGV do
  local op = ARGV[i]
  if op == 'h' then
    redis.call('HSET', KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2], ARGV[i + 3]); i = i + 4
  elseif op == 'd' then
    redis.call('HDEL', KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2]); i = i + 3
  elseif op == 'x' then
    redis.call('XADD', KEYS[2], ARGV[i + 1] .. '-0', 'c', ARGV[i + 2]); i = i + 3
  elseif op == 'o' then
    redis.call('ZADD', KEYS[3], ARGV[i + 1], ARGV[i + 1]); i = i + 2
  else
    return redis.error_reply('fleetban commit: unknown op ' .. tostring(op))
  end
end
redis.call('SET', KEYS[1], ARGV[2])
if tonumber(ARGV[3]) > 1 then redis.call('XTRIM', KEYS[2], 'MINID', ARGV[3] .. '-0') end
return {1, redis.call('ZCARD', KEYS[3])}
`;

/**
 * What planning a group needs, in one atomic read: the sequence number, the histories of the
 * attackers named, and the feed entries after the reader's view (so the histories and the view
 * match that sequence number exactly).
 * KEYS: seq, history, feed. ARGV: first seq wanted, most entries, then attackers.
 * Returns {seq, {history or false, …}, {{id, {field, value}}, …}}.
 */
export const PLAN_READ_SCRIPT = `
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
local histories = {}
if #ARGV > 2 then histories = redis.call('HMGET', KEYS[2], unpack(ARGV, 3)) end
local entries = redis.call('XRANGE', KEYS[3], ARGV[1] .. '-0', '+', 'COUNT', ARGV[2])
return {seq, histories, entries}
`;

/** Raises the sequence number to ARGV[1] if it is lower (numbers announced are never reused). KEYS: seq. */
export const RAISE_SEQ_SCRIPT = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return current
`;

/**
 * Deletes delivered notices and records the mail that carried them.
 * KEYS: outbox, outboxIds, sentMail. ARGV: sent time ('' for none), sent member, then ids.
 * Returns the outbox size after.
 */
export const ACK_SCRIPT = `
for i = 3, #ARGV do
  redis.call('HDEL', KEYS[1], ARGV[i])
  redis.call('ZREM', KEYS[2], ARGV[i])
end
if ARGV[1] ~= '' then redis.call('ZADD', KEYS[3], ARGV[1], ARGV[2]) end
return redis.call('ZCARD', KEYS[2])
`;

/**
 * Takes or keeps the outbox lease. KEYS: outboxLease. ARGV: this server's id, lease ms.
 * Returns 1 when this server holds it now.
 */
export const LEASE_SCRIPT = `
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`;

/** Gives a lease up if this server holds it. KEYS: the lease. ARGV: this server's id. */
export const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * Deletes history records whose last ban is before ARGV[1], re-read here so a ban in between
 * keeps its record. KEYS: history. ARGV: cutoff, then attackers. Returns how many went.
 */
export const PRUNE_SCRIPT = `
local n = 0
for i = 2, #ARGV do
  local raw = redis.call('HGET', KEYS[1], ARGV[i])
  if raw and cjson.decode(raw).lastBanAt < tonumber(ARGV[1]) then
    redis.call('HDEL', KEYS[1], ARGV[i]); n = n + 1
  end
end
return n
`;
