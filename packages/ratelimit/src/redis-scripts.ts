import { createHash } from 'node:crypto';

// The Redis side of the two algorithms of memory-store.ts, written to give the same numbers (test-store-suite.ts
// runs against both). Redis runs a script atomically, which is what makes a take all-or-nothing across its limits
// and across every process sharing the Redis. Lua in Redis is 5.1: every number is a double, a missing key reads
// as `false`, and a number in a reply is truncated to an integer, so the script rounds before replying.
//
// Time: ARGV[1] is the caller's clock in ms, or '' to read the Redis server's clock (TIME). What a GCRA counter
// owes drains with the time elapsed since another process wrote it; one clock for every replica is what keeps that
// elapsed time true when their own clocks disagree.

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
-- A counter is stored as 'value stamp': gcra, units owed and when (ms); fixed-window, units counted and the
-- window's index.
local function read(key)
  local stored = redis.call('GET', key)
  if not stored then return nil, nil end
  local value, stamp = string.match(stored, '^(%S+) (%S+)$')
  return tonumber(value), tonumber(stamp)
end
`;

/**
 * KEYS[i]: the counter of limit i. ARGV[1]: now or ''. Then four ARGV per limit: algorithm ('g' gcra, 'f'
 * fixed-window), limit, windowMs, cost.
 * Reply: {allowed 0|1, now (floored), refusedIndex (0-based, -1), retryAfterMs (-1: never), then per limit
 * remaining and resetMs, as the limit stands after the take when allowed, before it (untouched) when refused}.
 */
export const TAKE_SCRIPT: RedisScript = script(`${PRELUDE}
local reply = {1, math.floor(now), -1, 0}
local before, after, writes = {}, {}, {}
local longest = 0
for i = 1, #KEYS do
  local base = 1 + (i - 1) * 4
  local algorithm, limit = ARGV[base + 1], tonumber(ARGV[base + 2])
  local window, cost = tonumber(ARGV[base + 3]), tonumber(ARGV[base + 4])
  local value, stamp = read(KEYS[i])
  local used, wait = 0, 0
  if algorithm == 'f' then
    local index = math.floor(now / window)
    if value and stamp == index then used = value end
    local reset = (index + 1) * window - now
    before[i] = {limit - used, reset}
    after[i] = {limit - used - cost, reset}
    writes[i] = {number(used + cost) .. ' ' .. number(index), ms(reset - TIME_EPSILON)}
    if used + cost > limit + slack(limit) then
      if cost > limit + slack(limit) then wait = math.huge else wait = ms(reset - TIME_EPSILON) end
    end
  else
    local msPerUnit = window / limit
    if value then used = math.max(0, value - (now - stamp) / msPerUnit) end
    before[i] = {limit - used, used * msPerUnit}
    after[i] = {limit - used - cost, (used + cost) * msPerUnit}
    writes[i] = {number(used + cost) .. ' ' .. number(now), ms((used + cost) * msPerUnit)}
    if used + cost > limit + slack(limit) then
      if cost > limit + slack(limit) then
        wait = math.huge
      else
        wait = ms((used + cost - limit) * msPerUnit - TIME_EPSILON)
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
  for i = 1, #KEYS do
    -- A take of nothing leaves the counter as it was.
    if after[i][3] > 0 then redis.call('SET', KEYS[i], writes[i][1], 'PX', writes[i][2]) end
  end
end
for i = 1, #KEYS do
  local limit = tonumber(ARGV[1 + (i - 1) * 4 + 2])
  reply[3 + i * 2] = math.max(0, math.floor(states[i][1] + slack(limit)))
  reply[4 + i * 2] = math.max(0, math.ceil(states[i][2] - TIME_EPSILON))
end
return reply
`);

/**
 * KEYS[i]: the counter of limit i. ARGV[1]: now or ''; ARGV[2]: delta (units, negative for a refund); ARGV[3]: the
 * time of the take being corrected. Then three ARGV per limit: algorithm, limit, windowMs. Reply: 1.
 */
export const ADJUST_SCRIPT: RedisScript = script(`${PRELUDE}
local delta, at = tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 1, #KEYS do
  local base = 3 + (i - 1) * 3
  local algorithm, limit, window = ARGV[base + 1], tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3])
  local value, stamp = read(KEYS[i])
  if algorithm == 'f' then
    -- Only the window the take was counted in, and only while it lasts.
    local index = math.floor(at / window)
    local left = (index + 1) * window - now
    if value and stamp == index and left > 0 then
      redis.call('SET', KEYS[i], number(math.max(0, value + delta)) .. ' ' .. number(index), 'PX', ms(left - TIME_EPSILON))
    end
  else
    local msPerUnit = window / limit
    local used = 0
    if value then used = math.max(0, value - (now - stamp) / msPerUnit) end
    used = used + delta
    if used > 0 then
      redis.call('SET', KEYS[i], number(used) .. ' ' .. number(now), 'PX', ms(used * msPerUnit))
    elseif value then
      redis.call('DEL', KEYS[i])
    end
  end
end
return 1
`);
