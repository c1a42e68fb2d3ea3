import { createHash } from 'node:crypto';

// The Redis side of the three algorithms of memory-store.ts, written to give the same numbers (test-store-suite.ts
// runs against both). Redis runs a script atomically, which is what makes a take all-or-nothing across its limits
// and across every process sharing the Redis. Lua in Redis is 5.1: every number is a double, a missing key reads
// as `false`, and a number in a reply is truncated to an integer, so the script rounds before replying.
//
// Time: ARGV[1] is the caller's clock in ms, or '' to read the Redis server's clock (TIME). A sliding window's
// takes leave it one window after the time another process wrote them, and what a GCRA counter owes drains with
// the time elapsed since then; one clock for every replica is what keeps those times true when their own clocks
// disagree.

/** A Lua script and its SHA-1, for EVALSHA. */
export interface RedisScript {
  readonly text: string;
  readonly sha1: string;
}

function script(text: string): RedisScript {
  return { text, sha1: createHash('sha1').update(text).digest('hex') };
}

const PRELUDE = `
local TIME_EPSILON = 0.001
local now = tonumber(ARGV[1])
if not now then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
end
local function slack(limit) return 0.000001 + limit * 0.000000000001 end
local function number(value) return string.format('%.17g', value) end
local function ms(value) return math.max(1, math.ceil(value)) end
-- A gcra or fixed-window counter is stored as 'value stamp': gcra, units owed and when (ms); fixed-window, units
-- counted and the window's index. A sliding-window log's sum is stored as 'sum seq' (seq numbers its takes).
local function read(key)
  local stored = redis.call('GET', key)
  if not stored then return nil, nil end
  local value, stamp = string.match(stored, '^(%S+) (%S+)$')
  return tonumber(value), tonumber(stamp)
end
-- A sliding-window limit has two keys: its log, a sorted set of the takes in the window (score: the time in ms;
-- member: 'time:seq:amount', the sequence number keeping takes of the same ms apart), and the log's sum beside it,
-- so that a take reads one number instead of every entry. Both expire when the newest take leaves the window.
local function amountOf(member) return tonumber(string.match(member, ':([^:]+)$')) end
local function newestOf(log)
  local last = redis.call('ZRANGE', log, -1, -1, 'WITHSCORES')
  if #last == 0 then return nil end
  return tonumber(last[2])
end
local function saveLog(log, total, sum, seq, newest, window)
  if newest then
    local ttl = ms(newest + window - now)
    redis.call('SET', total, number(sum) .. ' ' .. number(seq), 'PX', ttl)
    redis.call('PEXPIRE', log, ttl)
  else
    redis.call('DEL', log, total)
  end
end
-- The log trimmed to the window (takes at or before now - window have left it), saved at once so that a second
-- limit of the same take on the same log reads it as it now is. Returns its sum, seq and newest time (nil: empty).
local function openLog(log, total, window)
  local stored, seq = read(total)
  local sum = stored or 0
  seq = seq or 0
  local cutoff = number(now - window)
  local gone = redis.call('ZRANGEBYSCORE', log, '-inf', cutoff)
  for j = 1, #gone do sum = sum - amountOf(gone[j]) end
  if #gone > 0 then redis.call('ZREMRANGEBYSCORE', log, '-inf', cutoff) end
  local newest = newestOf(log)
  local changed = #gone > 0
  if not newest then
    sum = 0
  elseif not stored then
    changed = true
    -- The sum's key is gone while the log is not (an eviction policy of allkeys-*): rebuilt from the entries.
    sum, seq = 0, 0
    for _, member in ipairs(redis.call('ZRANGE', log, 0, -1)) do
      local entrySeq, amount = string.match(member, ':([^:]+):([^:]+)$')
      sum, seq = sum + tonumber(amount), math.max(seq, tonumber(entrySeq))
    end
  end
  if changed then saveLog(log, total, sum, seq, newest, window) end
  return sum, seq, newest
end
`;

/**
 * KEYS: per limit its counter, or for a sliding-window limit its log and its sum. ARGV[1]: now or ''. Then four
 * ARGV per limit: algorithm ('s' sliding-window, 'g' gcra, 'f' fixed-window), limit, windowMs, cost.
 * Reply: {allowed 0|1, now (floored), refusedIndex (0-based, -1), retryAfterMs (-1: never), then per limit
 * remaining and resetMs, as the limit stands after the take when allowed, before it (untouched) when refused}.
 */
export const TAKE_SCRIPT: RedisScript = script(`${PRELUDE}
-- The time of the entry whose leaving lets cost fit within capacity, the older ones leaving first (as in
-- sliding-log.ts, the sum less each entry in turn); read in batches from the oldest.
local function freedBy(log, sum, cost, capacity, newest)
  local rest, start = sum, 0
  while true do
    local batch = redis.call('ZRANGE', log, start, start + 127, 'WITHSCORES')
    if #batch == 0 then return newest end
    for j = 1, #batch, 2 do
      rest = rest - amountOf(batch[j])
      if rest + cost <= capacity then return tonumber(batch[j + 1]) end
    end
    start = start + 128
  end
end

local count = (#ARGV - 1) / 4
local reply = {1, math.floor(now), -1, 0}
local before, after, writes = {}, {}, {}
local longest = 0
local k = 1
for i = 1, count do
  local base = 1 + (i - 1) * 4
  local algorithm, limit = ARGV[base + 1], tonumber(ARGV[base + 2])
  local window, cost = tonumber(ARGV[base + 3]), tonumber(ARGV[base + 4])
  local used, wait = 0, 0
  if algorithm == 's' then
    local log, total = KEYS[k], KEYS[k + 1]
    k = k + 2
    local sum, seq, newest = openLog(log, total, window)
    used = math.max(0, sum)
    local newestAfter = newest
    if cost > 0 then newestAfter = math.max(newest or now, now) end
    local resetBefore, resetAfter = 0, 0
    if newest then resetBefore = newest + window - now end
    if newestAfter then resetAfter = newestAfter + window - now end
    before[i] = {limit - used, resetBefore}
    after[i] = {limit - used - cost, resetAfter}
    writes[i] = {log = log, total = total, sum = sum, seq = seq, newest = newestAfter, window = window}
    if used + cost > limit + slack(limit) then
      if cost > limit + slack(limit) then
        wait = math.huge
      else
        wait = ms(freedBy(log, sum, cost, limit + slack(limit), newest) + window - now - TIME_EPSILON)
      end
    end
  else
    local key = KEYS[k]
    k = k + 1
    local value, stamp = read(key)
    if algorithm == 'f' then
      local index = math.floor(now / window)
      if value and stamp == index then used = value end
      local reset = (index + 1) * window - now
      before[i] = {limit - used, reset}
      after[i] = {limit - used - cost, reset}
      writes[i] = {key = key, value = number(used + cost) .. ' ' .. number(index), ttl = ms(reset - TIME_EPSILON)}
      if used + cost > limit + slack(limit) then
        if cost > limit + slack(limit) then wait = math.huge else wait = ms(reset - TIME_EPSILON) end
      end
    else
      local msPerUnit = window / limit
      if value then used = math.max(0, value - (now - stamp) / msPerUnit) end
      before[i] = {limit - used, used * msPerUnit}
      after[i] = {limit - used - cost, (used + cost) * msPerUnit}
      writes[i] = {key = key, value = number(used + cost) .. ' ' .. number(now), ttl = ms((used + cost) * msPerUnit)}
      if used + cost > limit + slack(limit) then
        if cost > limit + slack(limit) then
          wait = math.huge
        else
          wait = ms((used + cost - limit) * msPerUnit - TIME_EPSILON)
        end
      end
    end
  end
  if wait > longest then
    longest = wait
    reply[3] = i - 1
  end
  after[i][3] = cost
end
local states = after
if longest > 0 then
  states = before
  reply[1] = 0
  if longest == math.huge then reply[4] = -1 else reply[4] = longest end
else
  for i = 1, count do
    local write, cost = writes[i], after[i][3]
    -- A take of nothing leaves the counter as it was.
    if cost > 0 then
      if write.log then
        -- A second limit of this take on the same log writes the same member and sum again: one debit, as with
        -- the other algorithms' writes.
        local seq = write.seq + 1
        redis.call('ZADD', write.log, number(now), number(now) .. ':' .. number(seq) .. ':' .. number(cost))
        saveLog(write.log, write.total, write.sum + cost, seq, write.newest, write.window)
      else
        redis.call('SET', write.key, write.value, 'PX', write.ttl)
      end
    end
  end
end
for i = 1, count do
  local limit = tonumber(ARGV[1 + (i - 1) * 4 + 2])
  reply[3 + i * 2] = math.max(0, math.floor(states[i][1] + slack(limit)))
  reply[4 + i * 2] = math.max(0, math.ceil(states[i][2] - TIME_EPSILON))
end
return reply
`);

/**
 * KEYS: as for TAKE_SCRIPT. ARGV[1]: now or ''; ARGV[2]: delta (units, negative for a refund); ARGV[3]: the time
 * of the take being corrected (floored to the ms, as the take replied it). Then three ARGV per limit: algorithm,
 * limit, windowMs. Reply: 1.
 */
export const ADJUST_SCRIPT: RedisScript = script(`${PRELUDE}
local delta, at = tonumber(ARGV[2]), tonumber(ARGV[3])
local k = 1
for i = 1, (#ARGV - 3) / 3 do
  local base = 3 + (i - 1) * 3
  local algorithm, limit, window = ARGV[base + 1], tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3])
  if algorithm == 's' then
    local log, total = KEYS[k], KEYS[k + 1]
    k = k + 2
    local sum, seq = openLog(log, total, window)
    -- The take's entry, if still in the window: the takes of the ms it was taken in are one group (as in
    -- sliding-log.ts); an extra debit goes to the oldest member, a refund comes off them from the oldest on, and a
    -- member left with nothing is dropped. Without one (a take of 0 units leaves none), an extra debit is recorded
    -- as taken then.
    local found = redis.call('ZRANGEBYSCORE', log, number(at), '(' .. number(at + 1), 'WITHSCORES')
    local changed = #found > 0
    if changed and delta >= 0 then
      local amount = amountOf(found[1])
      redis.call('ZREM', log, found[1])
      redis.call('ZADD', log, found[2], string.match(found[1], '^(.*:)') .. number(amount + delta))
      sum = sum + delta
    elseif changed then
      local refund = -delta
      for j = 1, #found, 2 do
        if refund <= 0 then break end
        local amount = amountOf(found[j])
        local taken = math.min(amount, refund)
        sum = sum - taken
        refund = refund - taken
        redis.call('ZREM', log, found[j])
        if amount > taken then
          redis.call('ZADD', log, found[j + 1], string.match(found[j], '^(.*:)') .. number(amount - taken))
        end
      end
    elseif delta > 0 and at > now - window then
      changed = true
      seq = seq + 1
      redis.call('ZADD', log, number(at), number(at) .. ':' .. number(seq) .. ':' .. number(delta))
      sum = sum + delta
    end
    if changed then saveLog(log, total, sum, seq, newestOf(log), window) end
  else
    local key = KEYS[k]
    k = k + 1
    local value, stamp = read(key)
    if algorithm == 'f' then
      -- Only the window the take was counted in, and only while it lasts.
      local index = math.floor(at / window)
      local left = (index + 1) * window - now
      if value and stamp == index and left > 0 then
        redis.call('SET', key, number(math.max(0, value + delta)) .. ' ' .. number(index), 'PX', ms(left - TIME_EPSILON))
      end
    else
      local msPerUnit = window / limit
      local used = 0
      if value then used = math.max(0, value - (now - stamp) / msPerUnit) end
      used = used + delta
      if used > 0 then
        redis.call('SET', key, number(used) .. ' ' .. number(now), 'PX', ms(used * msPerUnit))
      elseif value then
        redis.call('DEL', key)
      end
    end
  end
end
return 1
`);
