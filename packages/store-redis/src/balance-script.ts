/**
 * The one Lua script behind every balance change, so a change and its limit check are one atomic step in
 * Redis, whichever conn instance sends it. Balances are exact integers of any size (a balance is a sum of
 * UInt64 amounts and can pass 2^64): the script adds decimal strings seven digits at a time and never turns
 * an amount into a Lua number (a double, which rounds above 2^53) nor uses INCRBY (64 bits).
 *
 * KEYS[1] the balance (reservations included), KEYS[2] the reservations alone.
 * ARGV[1] delta; ARGV[2] minimum ('' for none); ARGV[3] maximum ('' for none);
 * ARGV[4] what to do: 'adjust' | 'reserve' (both checked against the limits) | 'commit' | 'release'.
 * Returns { 'ok' | 'minimum' | 'maximum', balance before, balance after (or as it would have been) }.
 */
export const BALANCE_SCRIPT = `
local CHUNK = 7
local BASE = 10000000

local function compareMagnitude (x, y)
  if #x ~= #y then return (#x < #y) and -1 or 1 end
  if x == y then return 0 end
  return (x < y) and -1 or 1
end

local function trim (digits)
  local trimmed = digits:gsub('^0+', '')
  if trimmed == '' then return '0' end
  return trimmed
end

local function chunkAt (x, i)
  if i <= 0 then return 0 end
  return tonumber(x:sub(math.max(1, i - CHUNK + 1), i))
end

local function addMagnitude (x, y)
  local parts, carry, i, j = {}, 0, #x, #y
  while i > 0 or j > 0 or carry > 0 do
    local sum = chunkAt(x, i) + chunkAt(y, j) + carry
    carry = (sum >= BASE) and 1 or 0
    table.insert(parts, 1, string.format('%07d', sum - carry * BASE))
    i, j = i - CHUNK, j - CHUNK
  end
  return trim(table.concat(parts))
end

-- x >= y
local function subtractMagnitude (x, y)
  local parts, borrow, i, j = {}, 0, #x, #y
  while i > 0 do
    local difference = chunkAt(x, i) - chunkAt(y, j) - borrow
    borrow = (difference < 0) and 1 or 0
    table.insert(parts, 1, string.format('%07d', difference + borrow * BASE))
    i, j = i - CHUNK, j - CHUNK
  end
  return trim(table.concat(parts))
end

local function split (a)
  if a:sub(1, 1) == '-' then return true, a:sub(2) end
  return false, a
end

local function signed (negative, magnitude)
  if negative and magnitude ~= '0' then return '-' .. magnitude end
  return magnitude
end

local function add (a, b)
  local aNegative, x = split(a)
  local bNegative, y = split(b)
  if aNegative == bNegative then return signed(aNegative, addMagnitude(x, y)) end
  local order = compareMagnitude(x, y)
  if order == 0 then return '0' end
  if order > 0 then return signed(aNegative, subtractMagnitude(x, y)) end
  return signed(bNegative, subtractMagnitude(y, x))
end

local function negate (a)
  local negative, magnitude = split(a)
  return signed(not negative, magnitude)
end

local function compare (a, b)
  local aNegative, x = split(a)
  local bNegative, y = split(b)
  if aNegative ~= bNegative then return aNegative and -1 or 1 end
  local order = compareMagnitude(x, y)
  if aNegative then return -order end
  return order
end

local delta, minimum, maximum, action = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local before = redis.call('GET', KEYS[1]) or '0'
if action == 'commit' or action == 'release' then
  redis.call('SET', KEYS[2], add(redis.call('GET', KEYS[2]) or '0', negate(delta)))
  if action == 'commit' then return { 'ok', before, before } end
  local after = add(before, negate(delta))
  redis.call('SET', KEYS[1], after)
  return { 'ok', before, after }
end
local after = add(before, delta)
local direction = compare(delta, '0')
if direction > 0 and maximum ~= '' and compare(after, maximum) > 0 then return { 'maximum', before, after } end
if direction < 0 and minimum ~= '' and compare(after, minimum) < 0 then return { 'minimum', before, after } end
redis.call('SET', KEYS[1], after)
if action == 'reserve' then redis.call('SET', KEYS[2], add(redis.call('GET', KEYS[2]) or '0', delta)) end
return { 'ok', before, after }
`
