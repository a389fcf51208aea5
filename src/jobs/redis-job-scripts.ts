// The Lua scripts of the Redis job store: each one changes the keys of one slot atomically
// (a job's keys share the hash tag `{job:ID}`, the indexes share `{index}`), so a store on
// Redis Cluster runs them unchanged. Numbers come back as integers, strings as given.

/**
 * What UNINDEX_JOB does and INDEX_JOB does to the job it evicts: out of every index, its
 * idempotency key freed if it still names the job. KEYS 1–5: created, finished, active, idem,
 * idemOf.
 */
const FORGET = `
local function forget(id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('SREM', KEYS[3], id)
  local key = redis.call('HGET', KEYS[5], id)
  if key then
    if redis.call('HGET', KEYS[4], key) == id then redis.call('HDEL', KEYS[4], key) end
    redis.call('HDEL', KEYS[5], id)
  end
end
`;

/**
 * Indexes a job already written under its own keys, making room first.
 * KEYS: created, finished, active, idem, idemOf, createSeq.
 * ARGV: id, ownedKey ('' for none), maxJobs.
 * Returns {'ok', createSeq, evicted...} | {'held', holderId} | {'full'}.
 */
export const INDEX_JOB = `${FORGET}
local created, finished, active, idem, idemOf, counter = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local id, owned, maxJobs = ARGV[1], ARGV[2], tonumber(ARGV[3])
if owned ~= '' then
  local holder = redis.call('HGET', idem, owned)
  if holder then return {'held', holder} end
end
local evicted = {}
while redis.call('ZCARD', created) >= maxJobs do
  local oldest = redis.call('ZRANGE', finished, 0, 0)[1]
  if not oldest then return {'full'} end
  forget(oldest)
  evicted[#evicted + 1] = oldest
end
local seq = redis.call('INCR', counter)
redis.call('ZADD', created, seq, id)
redis.call('SADD', active, id)
if owned ~= '' then
  redis.call('HSET', idem, owned, id)
  redis.call('HSET', idemOf, id, owned)
end
local reply = {'ok', seq}
for i = 1, #evicted do reply[#reply + 1] = evicted[i] end
return reply
`;

/**
 * Forgets a job in the indexes. KEYS: created, finished, active, idem, idemOf. ARGV: id.
 */
export const UNINDEX_JOB = `${FORGET}
forget(ARGV[1])
return 1
`;

/** Moves a finished job from active to finished. KEYS: active, finished. ARGV: id, at. */
export const INDEX_FINISHED = `
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
`;

/** queued → running, once. KEYS: job. ARGV: at. */
export const MARK_STARTED = `
if redis.call('HGET', KEYS[1], 'status') ~= 'queued' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'running', 'startedAt', ARGV[1])
return 1
`;

/**
 * First write wins. KEYS: job, results (list of "index:json"), seqs (hash index → seq),
 * order (zset, score index, member seq). ARGV: index, ok ('1'/'0'), json, events channel,
 * then the tally keys to count (job hash fields "tally:<key>").
 * Returns {1, seq, done, ok, failed} | {0, seq, entry} | {-1} (no job) | {-2, total} |
 * {-3} (the job has ended: no new results).
 */
export const APPEND_RESULT = `
local job, results, seqs, order = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local index, ok, json, channel = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local fields = redis.call('HMGET', job, 'total', 'finishedAt')
local total = tonumber(fields[1])
if not total then return {-1} end
local i = tonumber(index)
if i < 0 or i >= total then return {-2, total} end
local stored = redis.call('HGET', seqs, index)
if stored then
  return {0, tonumber(stored), redis.call('LINDEX', results, tonumber(stored) - 1)}
end
if fields[2] ~= '' then return {-3} end
local seq = redis.call('RPUSH', results, index .. ':' .. json)
redis.call('HSET', seqs, index, seq)
redis.call('ZADD', order, i, seq)
local done = redis.call('HINCRBY', job, 'done', 1)
if ok == '1' then redis.call('HINCRBY', job, 'ok', 1) else redis.call('HINCRBY', job, 'failed', 1) end
for t = 5, #ARGV do redis.call('HINCRBY', job, 'tally:' .. ARGV[t], 1) end
local counts = redis.call('HMGET', job, 'ok', 'failed')
local okCount, failed = tonumber(counts[1]), tonumber(counts[2])
redis.call('PUBLISH', channel, 'r' .. seq .. ',' .. index .. ',' .. total .. ',' .. done .. ',' .. okCount .. ',' .. failed .. ':' .. json)
return {1, seq, done, okCount, failed}
`;

/**
 * Ends a job once. KEYS: job. ARGV: status, at, events channel.
 * Returns 1 when it ended the job, 0 when it had ended (or is gone).
 */
export const FINISH_JOB = `
local fields = redis.call('HMGET', KEYS[1], 'finishedAt', 'total', 'done', 'ok', 'failed')
if not fields[2] then return 0 end
if fields[1] ~= '' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'finishedAt', ARGV[2])
redis.call('PUBLISH', ARGV[3], 'd' .. ARGV[1] .. ',' .. fields[2] .. ',' .. fields[3] .. ',' .. fields[4] .. ',' .. fields[5])
return 1
`;

/**
 * Records a cancellation request. KEYS: job. ARGV: cancellations channel, message.
 * Returns -1 (no job), 0 (refused: finished, or every result in), 1 (already requested),
 * 2 (recorded now; watchers told).
 */
export const REQUEST_CANCEL = `
local fields = redis.call('HMGET', KEYS[1], 'finishedAt', 'total', 'done', 'cancelRequested')
if not fields[2] then return -1 end
if fields[1] ~= '' or tonumber(fields[3]) >= tonumber(fields[2]) then return 0 end
if fields[4] == '1' then return 1 end
redis.call('HSET', KEYS[1], 'cancelRequested', '1')
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 2
`;

/** Results in input order. KEYS: results, order. ARGV: limit. Returns {seq, entry, ...}. */
export const RESULTS_IN_INPUT_ORDER = `
local seqs = redis.call('ZRANGE', KEYS[2], 0, tonumber(ARGV[1]) - 1)
local reply = {}
for i = 1, #seqs do
  reply[#reply + 1] = tonumber(seqs[i])
  reply[#reply + 1] = redis.call('LINDEX', KEYS[1], tonumber(seqs[i]) - 1)
end
return reply
`;
