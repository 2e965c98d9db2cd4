package quota

import "github.com/redis/go-redis/v9"

// Every time in the scripts is in microseconds since the Unix epoch (exact in
// a Lua double up to 2^53, i.e. until the year 2255). ARGV[1] is the time to
// use when a test controls the clock; empty, the script reads Redis TIME, so
// every replica shares one clock. Keys get relative TTLs (PEXPIRE), which hold
// under a test clock too; every decision compares stored times, never relies
// on a key having expired.

const luaPrelude = `
local function clock(arg)
  if arg ~= nil and arg ~= '' then return tonumber(arg) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function int(n) return string.format('%d', n) end
local function ms(us)
  local m = math.ceil(us / 1000)
  if m < 1 then m = 1 end
  return int(m)
end
local function pickday(t, b)
  for i = 1, 3 do
    if b[i] <= t and t < b[i + 1] then return i end
  end
  return nil
end
-- effective concurrency: stored as {eff, at}; every clean window since 'at'
-- adds one back; absent means the configured maximum.
local function effective(key, maxc, win, t, write)
  local v = redis.call('HMGET', key, 'eff', 'at')
  local eff, at = tonumber(v[1]), tonumber(v[2])
  if eff == nil or at == nil then return maxc end
  if eff >= maxc then
    if write then redis.call('DEL', key) end
    return maxc
  end
  local n = math.floor((t - at) / win)
  if n > 0 then
    eff = math.min(maxc, eff + n)
    at = at + n * win
    if write then
      if eff >= maxc then
        redis.call('DEL', key)
      else
        redis.call('HSET', key, 'eff', int(eff), 'at', int(at))
        redis.call('PEXPIRE', key, ms(at + (maxc - eff) * win - t + 1000000))
      end
    end
  end
  return eff
end
local function block(key, t)
  local v = redis.call('HMGET', key, 'until', 'reason')
  local u = tonumber(v[1])
  if u ~= nil and u > t then return u, v[2] or '' end
  return nil, nil
end
`

// admitScript: KEYS window, leases, conc, block, halt, quota day 0, 1, 2.
// ARGV now, day starts b0..b3, dailyQuota, calls, window, maxConc, leaseTTL,
// leaseID, concurrency poll, halt poll.
// Returns {allowed, now, limit, retry-or-expiry, detail}.
var admitScript = redis.NewScript(luaPrelude + `
local t = clock(ARGV[1])
local b = {tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])}
local quota, calls, win = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local maxc, ttl, id = tonumber(ARGV[9]), tonumber(ARGV[10]), ARGV[11]
local cpoll, hpoll = tonumber(ARGV[12]), tonumber(ARGV[13])
local di = pickday(t, b)
if di == nil then return {-1, int(t), 'clock', 0, ''} end

local halt = redis.call('HGET', KEYS[5], 'reason')
if halt then return {0, int(t), 'halted', hpoll, halt} end

local bu, br = block(KEYS[4], t)
if bu then return {0, int(t), 'blocked', int(bu - t), br} end

local qkey = KEYS[5 + di]
local used = tonumber(redis.call('GET', qkey) or '0')
if used >= quota then return {0, int(t), 'quota', int(b[di + 1] - t), int(used)} end

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. int(t - win))
local n = redis.call('ZCARD', KEYS[1])
if n >= calls then
  local e = redis.call('ZRANGE', KEYS[1], n - calls, n - calls, 'WITHSCORES')
  return {0, int(t), 'window', int(tonumber(e[2]) + win + 1 - t), int(n)}
end

redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', int(t))
local eff = effective(KEYS[3], maxc, win, t, true)
local held = redis.call('ZCARD', KEYS[2])
if held >= eff then
  local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  local wait = math.min(tonumber(first[2]) - t, cpoll)
  return {0, int(t), 'concurrency', int(wait), int(held) .. '/' .. int(eff)}
end

local exp = t + ttl
redis.call('ZADD', KEYS[2], int(exp), id)
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[2], ms(tonumber(last[2]) - t + 1000000))
redis.call('ZADD', KEYS[1], int(t), int(t) .. ':' .. id)
redis.call('PEXPIRE', KEYS[1], ms(win + 1000000))
redis.call('INCR', qkey)
redis.call('PEXPIRE', qkey, ms(b[di + 1] - t + 60000000))
return {1, int(t), '', int(exp), ''}
`)

// renewScript: KEYS leases. ARGV now, id, ttl. Returns {ok, now, expires}.
var renewScript = redis.NewScript(luaPrelude + `
local t = clock(ARGV[1])
local s = redis.call('ZSCORE', KEYS[1], ARGV[2])
if not s or tonumber(s) <= t then
  if s then redis.call('ZREM', KEYS[1], ARGV[2]) end
  return {0, int(t), 0}
end
local exp = t + tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], 'XX', int(exp), ARGV[2])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], ms(tonumber(last[2]) - t + 1000000))
return {1, int(t), int(exp)}
`)

// penalizeScript: KEYS conc (eff, at, cut: the last halving), block, quota day 0, 1, 2. ARGV now, b0..b3,
// block length (0: until the reset), halve (1/0), reason, dailyQuota,
// window, maxConc. Returns {ok, now}.
var penalizeScript = redis.NewScript(luaPrelude + `
local t = clock(ARGV[1])
local b = {tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])}
local length, halve, reason = tonumber(ARGV[6]), ARGV[7] == '1', ARGV[8]
local quota, win, maxc = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
local di = pickday(t, b)
if di == nil then return {-1, int(t)} end
local u = t + length
if length == 0 then
  u = b[di + 1]
  local qkey = KEYS[2 + di]
  local used = tonumber(redis.call('GET', qkey) or '0')
  if used < quota then redis.call('SET', qkey, int(quota)) end
  redis.call('PEXPIRE', qkey, ms(b[di + 1] - t + 60000000))
end
local cur = block(KEYS[2], t)
if cur == nil or cur < u then
  redis.call('HSET', KEYS[2], 'until', int(u), 'reason', reason)
  redis.call('PEXPIRE', KEYS[2], ms(u - t + 1000000))
end
if halve then
  -- One cut per window: the 615s of calls that were in flight together
  -- answer one excess, not one each. A 615 inside the window of the last
  -- cut only restarts the count of clean windows.
  local eff = effective(KEYS[1], maxc, win, t, false)
  local cut = tonumber(redis.call('HGET', KEYS[1], 'cut'))
  if cut ~= nil and t - cut < win then
    redis.call('HSET', KEYS[1], 'eff', int(eff), 'at', int(t))
  else
    eff = math.max(1, math.floor(eff / 2))
    redis.call('HSET', KEYS[1], 'eff', int(eff), 'at', int(t), 'cut', int(t))
  end
  redis.call('PEXPIRE', KEYS[1], ms(math.max(maxc - eff, 1) * win + 1000000))
end
return {1, int(t)}
`)

// snapshotScript (read only): KEYS window, leases, conc, block, halt, quota
// day 0, 1, 2. ARGV now, b0..b3, window, maxConc. Returns {ok, now, used,
// reset, calls, leases, eff, blockedUntil, blockReason, halted, haltReason}.
var snapshotScript = redis.NewScript(luaPrelude + `
local t = clock(ARGV[1])
local b = {tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])}
local win, maxc = tonumber(ARGV[6]), tonumber(ARGV[7])
local di = pickday(t, b)
if di == nil then return {-1, int(t)} end
local used = tonumber(redis.call('GET', KEYS[5 + di]) or '0')
local calls = redis.call('ZCOUNT', KEYS[1], int(t - win), '+inf')
local leases = redis.call('ZCOUNT', KEYS[2], '(' .. int(t), '+inf')
local eff = effective(KEYS[3], maxc, win, t, false)
local bu, br = block(KEYS[4], t)
local halt = redis.call('HGET', KEYS[5], 'reason')
local halted = 0
if halt then halted = 1 else halt = '' end
return {1, int(t), int(used), int(b[di + 1]), calls, leases, int(eff), int(bu or 0), br or '', halted, halt}
`)

// markScript: KEYS mark. ARGV at (µs), ttl (ms). The later mark wins.
var markScript = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]))
if cur == nil or cur < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1
`)

// markManyScript: KEYS marks. ARGV ttl (ms), then one time (µs) per key.
// The later mark wins, per key.
var markManyScript = redis.NewScript(`
for i, k in ipairs(KEYS) do
  local at = tonumber(ARGV[i + 1])
  local cur = tonumber(redis.call('GET', k))
  if cur == nil or cur < at then
    redis.call('SET', k, ARGV[i + 1], 'PX', ARGV[1])
  end
end
return 1
`)

// claimScript: KEYS claims. ARGV owner, ttl (ms). Returns one 1/0 per key.
var claimScript = redis.NewScript(`
local res = {}
for i, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if not v then
    redis.call('SET', k, ARGV[1], 'PX', ARGV[2])
    res[i] = 1
  elseif v == ARGV[1] then
    redis.call('PEXPIRE', k, ARGV[2])
    res[i] = 1
  else
    res[i] = 0
  end
end
return res
`)

// compareDeleteScript: KEYS keys. ARGV value. Deletes the keys holding value.
var compareDeleteScript = redis.NewScript(`
local n = 0
for _, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then
    redis.call('DEL', k)
    n = n + 1
  end
end
return n
`)
