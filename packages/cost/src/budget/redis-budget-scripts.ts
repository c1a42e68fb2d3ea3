import { createHash } from 'node:crypto';
import { LATE_SETTLE_WINDOW_MS, MAX_BUDGET_UNITS } from './budget.ts';

// The Redis side of memory-budget-store.ts, written to give the same answers (test-budget-store-suite.ts runs
// against both). Redis runs a script atomically, which is what makes a reservation all-or-nothing across its budgets
// and across every process that shares the Redis.
//
// One budget counter is two keys with the same hash tag:
// - a hash: `p` the start of the period `s` counts (ms), `s` the spend, `r` the sum of live reservations, and one
//   field `#<id>` per reservation: its amount while live, `-` once it has lapsed (a marker that lets a late settle
//   record its cost, and a second settle do nothing);
// - a sorted set of the same ids by deadline: expiry while live, the end of the late-settle window once lapsed.
// Every call first moves what is due (live → lapsed, lapsed → gone), so expiry is exact to the millisecond and costs
// O(log n) per reservation, once.
//
// Numbers: Lua in Redis is 5.1, every number a double, exact only up to 2^53 (about 9 007 currency units of
// 10^-12). Amounts therefore stay decimal text: Redis's HINCRBY adds them as 64-bit integers, the scripts compare
// them as two doubles (digits above and below 10^9), and the new values are read back as text, never through a Lua
// number. Times are integers of ms, far below 2^53.
//
// Time: ARGV[1] is the caller's clock in ms, or '' to read the Redis server's clock (TIME), which every process
// shares: expiry and period changes then happen at one instant for all of them.

/** A Lua script and its SHA-1, for EVALSHA. */
export interface RedisScript {
  readonly text: string;
  readonly sha1: string;
}

/** Most due entries one call moves per counter (see sweep below). */
const SWEEP_LIMIT = 1000;

function script(text: string): RedisScript {
  return { text, sha1: createHash('sha1').update(text).digest('hex') };
}

const PRELUDE = `
local DAY = 86400000
local LATE = ${LATE_SETTLE_WINDOW_MS}
local MAX = '${MAX_BUDGET_UNITS}'
local SWEEP_LIMIT = ${SWEEP_LIMIT}
local now = tonumber(ARGV[1])
if not now then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end

local function text(number) return string.format('%.0f', number) end

-- Non-negative integer text as two exact doubles: the digits above 10^9 and the last nine.
local BASE = 1000000000
local function split(digits)
  local length = #digits
  if length <= 9 then return 0, tonumber(digits) end
  return tonumber(string.sub(digits, 1, length - 9)), tonumber(string.sub(digits, length - 8))
end
-- Whether the sum of the texts after the first is at most the first, exactly.
local function within(limit, ...)
  local high, low = 0, 0
  for _, digits in ipairs({...}) do
    local h, l = split(digits)
    high, low = high + h, low + l
    if low >= BASE then high, low = high + 1, low - BASE end
  end
  local limitHigh, limitLow = split(limit)
  return high < limitHigh or (high == limitHigh and low <= limitLow)
end

-- UTC calendar: days since 1970-01-01 to and from (year, month, day), after Howard Hinnant's civil_from_days and
-- days_from_civil (proleptic Gregorian, floor division).
local function civil(days)
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local day = doy - math.floor((153 * mp + 2) / 5) + 1
  local month = mp < 10 and mp + 3 or mp - 9
  local year = yoe + era * 400
  if month <= 2 then year = year + 1 end
  return year, month, day
end
local function daysFromCivil(year, month, day)
  if month <= 2 then year = year - 1 end
  local era = math.floor(year / 400)
  local yoe = year - era * 400
  local mp = month > 2 and month - 3 or month + 9
  local doy = math.floor((153 * mp + 2) / 5) + day - 1
  return era * 146097 + yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy - 719468
end
-- The period containing t: its start and end in ms (no end for 'total').
local function bounds(period, t)
  if period == 'total' then return 0, nil end
  local days = math.floor(t / DAY)
  if period == 'day' then return days * DAY, (days + 1) * DAY end
  local year, month, day = civil(days)
  if month == 12 then year, month = year + 1, 1 else month = month + 1 end
  return (days - day + 1) * DAY, daysFromCivil(year, month, 1) * DAY
end

-- Calls command(key, ...) with args in slices: Lua's unpack has a limit of a few thousand values.
local function sliced(command, key, args)
  for first = 1, #args, 1000 do
    redis.call(command, key, unpack(args, first, math.min(first + 999, #args)))
  end
end

-- Moves what is due, in a few commands however many: a live reservation past its expiry stops counting and becomes
-- a lapsed marker; a marker past the late-settle window goes. At most SWEEP_LIMIT per call, so that the call after a
-- crash of a process with many requests in flight does not hold Redis (and every other client) for long; the rest
-- are moved by the next calls and count until then, which can refuse, never overspend.
local function sweep(hash, zset)
  local due = redis.call('ZRANGEBYSCORE', zset, '-inf', text(now), 'WITHSCORES', 'LIMIT', 0, SWEEP_LIMIT)
  if #due == 0 then return end
  local fields = {}
  for i = 1, #due, 2 do fields[#fields + 1] = '#' .. due[i] end
  local amounts = {}
  for first = 1, #fields, 1000 do
    local slice = redis.call('HMGET', hash, unpack(fields, first, math.min(first + 999, #fields)))
    for k = 1, #slice do amounts[first + k - 1] = slice[k] end
  end
  local high, low = 0, 0
  local lapsed, rescored, goneFields, goneIds = {}, {}, {}, {}
  for k = 1, #fields do
    local amount, id, deadline = amounts[k], due[2 * k - 1], tonumber(due[2 * k])
    if amount and amount ~= '-' then
      local h, l = split(amount)
      high, low = high + h, low + l
      if low >= BASE then high, low = high + 1, low - BASE end
      lapsed[#lapsed + 1] = fields[k]
      lapsed[#lapsed + 1] = '-'
      rescored[#rescored + 1] = text(deadline + LATE)
      rescored[#rescored + 1] = id
    else
      goneFields[#goneFields + 1] = fields[k]
      goneIds[#goneIds + 1] = id
    end
  end
  -- The sum of live reservations is at most 'r', itself within 64 bits: one exact decrement.
  if high > 0 then
    redis.call('HINCRBY', hash, 'r', '-' .. text(high) .. string.format('%09d', low))
  elseif low > 0 then
    redis.call('HINCRBY', hash, 'r', '-' .. text(low))
  end
  sliced('HSET', hash, lapsed)
  sliced('ZADD', zset, rescored)
  sliced('HDEL', hash, goneFields)
  sliced('ZREM', zset, goneIds)
end

-- A counter brought up to date: due reservations moved, and the spend of a past period read as zero (written only
-- by touch, when something is written). A stored period newer than now (a caller's clock behind another's) stays.
local function open(hash, zset, period)
  sweep(hash, zset)
  local start, finish = bounds(period, now)
  local counter = { hash = hash, zset = zset, spent = '0', fresh = true }
  local stored = tonumber(redis.call('HGET', hash, 'p'))
  if stored and stored >= start then
    counter.fresh = false
    counter.spent = redis.call('HGET', hash, 's') or '0'
    if stored > start then start, finish = bounds(period, stored) end
  end
  counter.start, counter.finish = start, finish
  counter.reserved = redis.call('HGET', hash, 'r') or '0'
  return counter
end

-- Before writing: a new period starts from zero spend (reservations carry over: they still count until settled).
local function touch(counter)
  if counter.fresh then
    redis.call('HSET', counter.hash, 'p', text(counter.start), 's', '0')
    counter.fresh, counter.spent = false, '0'
  end
end

-- After writing: a day or month counter lives while its period lasts and while any reservation or marker in it may
-- still be settled; then it is worth nothing and expires. A 'total' counter is kept.
local function keep(counter)
  if not counter.finish then return end
  local keepUntil = counter.finish
  local last = redis.call('ZRANGE', counter.zset, -1, -1, 'WITHSCORES')
  if last[2] then keepUntil = math.max(keepUntil, tonumber(last[2]) + LATE) end
  local ttl = text(math.max(1, math.ceil(keepUntil - now)))
  redis.call('PEXPIRE', counter.hash, ttl)
  redis.call('PEXPIRE', counter.zset, ttl)
end

-- HINCRBY's reply is a Lua number, inexact above 2^53: the new value is read back as text.
local function add(counter, field, amount)
  redis.call('HINCRBY', counter.hash, field, amount)
  return redis.call('HGET', counter.hash, field)
end
`;

/**
 * KEYS: hash and sorted set of each budget. ARGV: now or '', id, amount, ttlMs, then period and limit per budget.
 * Reply: {allowed 0|1, now, expiresAt, then per budget: fits 0|1, spent, reserved (as they stand after the
 * reservation when allowed, untouched when refused), period start}.
 */
export const RESERVE_SCRIPT: RedisScript = script(`${PRELUDE}
local id, amount, ttl = ARGV[2], ARGV[3], tonumber(ARGV[4])
local counters, reply = {}, {1, now, now + ttl}
for i = 1, #KEYS / 2 do
  local counter = open(KEYS[2 * i - 1], KEYS[2 * i], ARGV[3 + 2 * i])
  counters[i] = counter
  local fits = 1
  if not within(ARGV[4 + 2 * i], counter.spent, counter.reserved, amount) then
    fits = 0
    reply[1] = 0
  end
  reply[4 * i] = fits
end
for i = 1, #counters do
  local counter = counters[i]
  if reply[1] == 1 then
    touch(counter)
    counter.reserved = add(counter, 'r', amount)
    redis.call('HSET', counter.hash, '#' .. id, amount)
    redis.call('ZADD', counter.zset, text(now + ttl), id)
    keep(counter)
  end
  reply[4 * i + 1] = counter.spent
  reply[4 * i + 2] = counter.reserved
  reply[4 * i + 3] = counter.start
end
return reply
`);

/**
 * KEYS: hash and sorted set of each budget. ARGV: now or '', id, actual, degraded ('1' records the cost without a
 * reservation to release), then the period per budget.
 * Reply: {now, then per budget: 0 nothing (already settled), 1 settled, 2 settled late (the reservation had lapsed)}.
 */
export const SETTLE_SCRIPT: RedisScript = script(`${PRELUDE}
local id, actual, degraded = ARGV[2], ARGV[3], ARGV[4] == '1'
local reply = {now}
for i = 1, #KEYS / 2 do
  local counter = open(KEYS[2 * i - 1], KEYS[2 * i], ARGV[4 + i])
  local field = '#' .. id
  local entry = redis.call('HGET', counter.hash, field)
  local status = 0
  if entry then
    redis.call('HDEL', counter.hash, field)
    redis.call('ZREM', counter.zset, id)
    if entry == '-' then
      status = 2
    else
      status = 1
      if entry ~= '0' then redis.call('HINCRBY', counter.hash, 'r', '-' .. entry) end
    end
  elseif degraded then
    status = 1
  end
  if status ~= 0 then
    touch(counter)
    -- Past the ceiling the spend stays at it: HINCRBY would fail after other writes of this script.
    if within(MAX, counter.spent, actual) then
      redis.call('HINCRBY', counter.hash, 's', actual)
    else
      redis.call('HSET', counter.hash, 's', MAX)
    end
    keep(counter)
  end
  reply[i + 1] = status
end
return reply
`);

/**
 * KEYS: hash and sorted set of each budget. ARGV: now or '', then the period per budget.
 * Reply: {now, then per budget: spent, reserved, period start}.
 */
export const READ_SCRIPT: RedisScript = script(`${PRELUDE}
local reply = {now}
for i = 1, #KEYS / 2 do
  local counter = open(KEYS[2 * i - 1], KEYS[2 * i], ARGV[1 + i])
  reply[3 * i - 1] = counter.spent
  reply[3 * i] = counter.reserved
  reply[3 * i + 1] = counter.start
end
return reply
`);

/**
 * KEYS: hash and sorted set of one budget. ARGV: now or '', period, spent.
 * Reply: {now, spent, reserved, period start}.
 */
export const SET_SPENT_SCRIPT: RedisScript = script(`${PRELUDE}
local counter = open(KEYS[1], KEYS[2], ARGV[2])
touch(counter)
redis.call('HSET', counter.hash, 's', ARGV[3])
keep(counter)
return {now, ARGV[3], counter.reserved, counter.start}
`);
