/**
 * The Lua scripts behind every balance change, so a change and its limit check are one atomic step in Redis,
 * whichever conn instance sends it. Balances are exact integers of any size (a balance is a sum of UInt64
 * amounts and can pass 2^64): the scripts add decimal strings seven digits at a time and never turn an amount
 * into a Lua number (a double, which rounds above 2^53) nor use INCRBY (64 bits).
 *
 * A reservation with an id is also recorded while it is open, as one member of a sorted set by expiry (the
 * member names the id, the balance key and the delta, then ` +` if the account settles: one command to write, one
 * to remove), so that:
 * - a commit or release given twice (a retry after a lost reply) counts once: the first removes the member, and
 *   a commit or release that finds none is a retry;
 * - the reservations of an instance that died are released by any other once their packets expired (SWEEP),
 *   which leaves a `released:<id>` marker for a day;
 * - a commit that comes after such a release (the store was unreachable until then) finds the marker and books
 *   the amount again.
 */

/** Exact arithmetic on decimal integer strings: add, negate, compare. */
const DECIMAL = `
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
  -- below 1e15 a double adds exactly (most balances): no digit strings needed
  if #a < 16 and #b < 16 then return string.format('%.0f', tonumber(a) + tonumber(b)) end
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

-- x * m for a decimal x and an integer 0 <= m < 1e8 (every partial product stays below 2^53)
local function mulSmall (x, m)
  if m == 0 or x == '0' then return '0' end
  local parts, carry, i = {}, 0, #x
  while i > 0 or carry > 0 do
    local product = chunkAt(x, i) * m + carry
    local high = math.floor(product / BASE)
    local low = product - high * BASE
    if low < 0 then high, low = high - 1, low + BASE elseif low >= BASE then high, low = high + 1, low - BASE end
    carry = high
    table.insert(parts, 1, string.format('%07d', low))
    i = i - CHUNK
  end
  return trim(table.concat(parts))
end

-- x / d and x % d for a decimal x >= 0 and an integer 0 < d < 1e8
local function divSmall (x, d)
  local parts, rest, position, length = {}, 0, 1, ((#x - 1) % CHUNK) + 1
  while position <= #x do
    local current = rest * BASE + tonumber(x:sub(position, position + length - 1))
    local q = math.floor(current / d)
    rest = current - q * d
    if rest < 0 then q, rest = q - 1, rest + d elseif rest >= d then q, rest = q + 1, rest - d end
    table.insert(parts, string.format('%07d', q))
    position, length = position + length, CHUNK
  end
  return trim(table.concat(parts)), rest
end

local function compare (a, b)
  if #a < 16 and #b < 16 then
    local x, y = tonumber(a), tonumber(b)
    if x == y then return 0 end
    return (x < y) and -1 or 1
  end
  local aNegative, x = split(a)
  local bNegative, y = split(b)
  if aNegative ~= bNegative then return aNegative and -1 or 1 end
  local order = compareMagnitude(x, y)
  if aNegative then return -order end
  return order
end

`

/**
 * The debits among a balance's open reservations, under `debits:<key>` (a sum < 0; no key when there are none):
 * settlement decisions leave them out, since their packets may yet be rejected. Kept only for the reservations
 * of accounts that settle (`Reservation.settles`): the two commands it takes per change cost a fifth of Redis's
 * time per packet. The sum never goes above 0: a reservation made by an earlier version (which kept no such sum)
 * and closed by this one takes nothing from it.
 */
const DEBITS = `
local function moveDebits (prefix, key, delta)
  local debits = prefix .. 'debits:' .. key
  local sum = add(redis.call('GET', debits) or '0', delta)
  if compare(sum, '0') >= 0 then redis.call('DEL', debits) else redis.call('SET', debits, sum) end
end
`

/**
 * One balance change: the key prefix; `index` (reservations by expiry); the balance's key after the prefix; delta; minimum and maximum ('' for none); action 'adjust' | 'reserve' (both checked against the limits) |
 * 'commit' | 'release'; the reservation id ('' for none) and its packet's expiry (ms). Returns 'ok' | 'minimum' | 'maximum', the balance before, and after (or as it would have been).
 */
const CHANGE = `
local function change (prefix, index, key, delta, minimum, maximum, action, id, expiresAt)
  -- 'reserve+', 'commit+', 'release+': the account settles, so its debits in flight are kept apart (and marked
  -- in the reservation's member, for the sweep)
  local settles = action:byte(-1) == 43
  if settles then action = action:sub(1, -2) end
  local member
  if id ~= '' then
    member = id .. ' ' .. key .. ' ' .. delta
    if settles then member = member .. ' +' end
  end
  local balance = prefix .. key
  local before = redis.call('GET', balance) or '0'
  if action == 'commit' or action == 'release' then
    local open = true
    if id ~= '' then open = redis.call('ZREM', index, member) == 1 end
    if not open then
      -- released by a sweep when its packet expired, fulfilled after all: the amount counts again
      if action == 'commit' and redis.call('DEL', prefix .. 'released:' .. id) == 1 then
        local after = add(before, delta)
        redis.call('SET', balance, after)
        return 'ok', before, after
      end
      -- committed or released already: this is a retry
      return 'ok', before, before
    end
    if settles and delta:byte(1) == 45 then moveDebits(prefix, key, negate(delta)) end
    if action == 'commit' then return 'ok', before, before end
    local after = add(before, negate(delta))
    redis.call('SET', balance, after)
    return 'ok', before, after
  end
  local after = add(before, delta)
  -- the delta's sign picks the limit it moves towards; a zero delta moves towards neither
  if delta:byte(1) == 45 then
    if minimum ~= '' and compare(after, minimum) < 0 then return 'minimum', before, after end
  elseif delta ~= '0' and maximum ~= '' and compare(after, maximum) > 0 then
    return 'maximum', before, after
  end
  redis.call('SET', balance, after)
  if action == 'reserve' then
    if id ~= '' then redis.call('ZADD', index, expiresAt, member) end
    if settles and delta:byte(1) == 45 then moveDebits(prefix, key, delta) end
  end
  return 'ok', before, after
end
`

/** Fields per change in BATCH_SCRIPT's ARGV. */
export const BATCH_FIELDS = 7

/**
 * Several balance changes in one call, each atomic and in order (the changes issued by concurrent packets in one
 * turn of the event loop go together: one command instead of one per change).
 * ARGV[1] the key prefix; ARGV[2] the changes, BATCH_FIELDS
 * values each, all separated by spaces (one argument costs less than seven per change on both sides): key,
 * delta, minimum, maximum, action, reservation id, expiry ('-' for no minimum, maximum or id). The keys are built from the prefix (a single
 * Redis or a replicated one, not Redis Cluster). Returns three values per change (see CHANGE), space-separated.
 */
export const BATCH_SCRIPT = DECIMAL + DEBITS + CHANGE + `
local prefix = ARGV[1]
local index = prefix .. 'reservations'
local results, n = {}, 0
for key, delta, minimum, maximum, action, id, expiresAt in string.gmatch(ARGV[2], '(%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+)') do
  if id == '-' then id = '' end
  if minimum == '-' then minimum = '' end
  if maximum == '-' then maximum = '' end
  local outcome, before, after = change(prefix, index, key, delta, minimum, maximum, action, id, expiresAt)
  results[n + 1], results[n + 2], results[n + 3] = outcome, before, after
  n = n + 3
end
return table.concat(results, ' ')
`

/**
 * Releases reservations whose packets expired before ARGV[1] (ms) and that nobody committed or released (their
 * connector died or lost the store): at most ARGV[2] of them. KEYS[1] the expiry index; ARGV[3] the key prefix;
 * ARGV[4] how long the marker `released:<id>` is kept (ms). Returns how many were released.
 */
export const SWEEP_SCRIPT = DECIMAL + DEBITS + `
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(members) do
  local id, key, delta, settles = string.match(member, '^(%S+) (%S+) (%S+)( ?%+?)$')
  if id then
    local balance = ARGV[3] .. key
    redis.call('SET', balance, add(redis.call('GET', balance) or '0', negate(delta)))
    if settles == ' +' and delta:byte(1) == 45 then moveDebits(ARGV[3], key, negate(delta)) end
    redis.call('SET', ARGV[3] .. 'released:' .. id, '1', 'PX', ARGV[4])
  else
    -- left by conn 0.1 (a bare id, the reservation in a hash of its own): released the same way
    local record = ARGV[3] .. 'reservation:' .. member
    local fields = redis.call('HMGET', record, 'state', 'delta', 'balance')
    if fields[1] == 'reserved' then
      redis.call('SET', fields[3], add(redis.call('GET', fields[3]) or '0', negate(fields[2])))
    end
    redis.call('DEL', record)
  end
  redis.call('ZREM', KEYS[1], member)
end
return #members
`

/**
 * The settlement decision, atomic across connectors. KEYS[1] the balance, KEYS[2] the settlement record, KEYS[3]
 * the balance's debits in flight. ARGV[1] threshold; ARGV[2] settleTo; ARGV[3], ARGV[4] the record's text before
 * and after its amount. The balance decided on leaves out the debits of packets in flight (they may yet be
 * rejected). If no record exists and that balance is below the threshold, stores the record for
 * settleTo - balance. Returns { 'claimed', amount } or { 'busy' | 'none', balance }.
 */
export const CLAIM_SCRIPT = DECIMAL + `
local balance = add(redis.call('GET', KEYS[1]) or '0', negate(redis.call('GET', KEYS[3]) or '0'))
if redis.call('EXISTS', KEYS[2]) == 1 then return { 'busy', balance } end
if compare(balance, ARGV[1]) >= 0 then return { 'none', balance } end
local amount = add(ARGV[2], negate(balance))
if compare(amount, '0') <= 0 then return { 'none', balance } end
redis.call('SET', KEYS[2], ARGV[3] .. amount .. ARGV[4])
return { 'claimed', amount }
`

/**
 * A token bucket shared by connectors (rate and throughput limits), refilled by Redis's clock so the instances'
 * clocks do not matter. KEYS[1] the bucket (a hash: tokens, last refill ms, remainder in token-ms).
 * ARGV[1] at least; ARGV[2] at most; ARGV[3] capacity; ARGV[4] refill count; ARGV[5] refill period (ms, below
 * 1e8); ARGV[6] how long an untouched bucket is kept (ms; gone, it comes back full, as it would be by then).
 * Takes min(tokens, at most) if there are at least `at least`, else nothing; returns what it took.
 */
export const TOKENS_SCRIPT = DECIMAL + `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'last', 'rest')
local capacity, period = ARGV[3], tonumber(ARGV[5])
local tokens, last, rest = state[1], tonumber(state[2]), tonumber(state[3])
if not tokens then tokens, last, rest = capacity, now, 0 end
local elapsed = now - last
if elapsed > 0 then
  last = now
  if compare(tokens, capacity) >= 0 then
    rest = 0
  else
    if elapsed > 99999999 then elapsed = 99999999 end
    local whole, left = divSmall(add(mulSmall(ARGV[4], elapsed), tostring(rest)), period)
    tokens, rest = add(tokens, whole), left
    if compare(tokens, capacity) >= 0 then tokens, rest = capacity, 0 end
  end
end
local taken = '0'
if compare(tokens, ARGV[1]) >= 0 then
  taken = tokens
  if compare(taken, ARGV[2]) > 0 then taken = ARGV[2] end
  tokens = add(tokens, negate(taken))
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'last', string.format('%d', last), 'rest', string.format('%d', rest))
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return taken
`
