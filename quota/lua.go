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

// admitScript: KEYS window, leases, conc, block, halt, quota day 0, 1, 2,
// epoch. ARGV now, day starts b0..b3, dailyQuota, calls, window, maxConc,
// leaseTTL, leaseID, concurrency poll, halt poll, the epoch this replica
// knows (empty if none), a fresh epoch id, reading ('1': admit the one call
// that reads Marketo's usage after a loss).
// Returns {allowed, now, limit, retry-or-expiry, detail, epoch, detected}.
//
// The epoch (a hash without TTL) is created with the subscription's state.
// Missing, or another than the one this replica knows, while this replica
// knew one: the state was lost (a restart without persistence, an
// asynchronous failover). The script then holds admissions for one window
// (the caller's, guarded) and waits for the day's count to be restored.
var admitScript = redis.NewScript(luaPrelude + `
local t = clock(ARGV[1])
local b = {tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])}
local quota, calls, win = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local maxc, ttl, id = tonumber(ARGV[9]), tonumber(ARGV[10]), ARGV[11]
local cpoll, hpoll = tonumber(ARGV[12]), tonumber(ARGV[13])
local di = pickday(t, b)
if di == nil then return {-1, int(t), 'clock', 0, ''} end

local known, fresh, reading = ARGV[14], ARGV[15], ARGV[16] == '1'
local ekey = KEYS[9]
local ev = redis.call('HMGET', ekey, 'id', 'lost', 'hold', 'state', 'reader', 'readerExp')
local eid, detected = ev[1], 0
local hold, state = tonumber(ev[3] or ''), ev[4]
local function lose()
  hold, state, detected = t + win, 'pending', 1
  redis.call('HSET', ekey, 'lost', '1', 'lostAt', int(t), 'hold', int(hold), 'state', 'pending')
  redis.call('HDEL', ekey, 'reader', 'readerExp', 'count', 'source', 'at')
end
if not eid then
  eid = fresh
  redis.call('HSET', ekey, 'id', eid, 'since', int(t))
  if known ~= '' then lose() end
elseif known ~= '' and eid ~= known and ev[2] ~= '1' then
  lose()
end
local function deny(limit, retry, detail)
  return {0, int(t), limit, int(retry), detail, eid, detected}
end

local halt = redis.call('HGET', KEYS[5], 'reason')
if halt then return deny('halted', hpoll, halt) end

local bu, br = block(KEYS[4], t)
if bu then return deny('blocked', bu - t, br) end

if state == 'pending' then
  if hold ~= nil and t < hold then
    return deny('lost', hold - t, 'limits state lost; holding admissions one window')
  end
  if not reading then return deny('restore', cpoll, "the day's count waits to be restored") end
  local rexp = tonumber(ev[6] or '0')
  if rexp > t then return deny('restore', math.min(rexp - t, cpoll), 'another replica reads the usage') end
elseif reading then
  return deny('restored', 0, '')
end

local qkey = KEYS[5 + di]
local used = tonumber(redis.call('GET', qkey) or '0')
if used >= quota then return deny('quota', b[di + 1] - t, int(used)) end

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. int(t - win))
local n = redis.call('ZCARD', KEYS[1])
if n >= calls then
  local e = redis.call('ZRANGE', KEYS[1], n - calls, n - calls, 'WITHSCORES')
  return deny('window', tonumber(e[2]) + win + 1 - t, int(n))
end

redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', int(t))
local eff = effective(KEYS[3], maxc, win, t, true)
local held = redis.call('ZCARD', KEYS[2])
if held >= eff then
  local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  local wait = math.min(tonumber(first[2]) - t, cpoll)
  return deny('concurrency', wait, int(held) .. '/' .. int(eff))
end

local exp = t + ttl
if reading then redis.call('HSET', ekey, 'reader', id, 'readerExp', int(exp)) end
redis.call('ZADD', KEYS[2], int(exp), id)
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[2], ms(tonumber(last[2]) - t + 1000000))
redis.call('ZADD', KEYS[1], int(t), int(t) .. ':' .. id)
redis.call('PEXPIRE', KEYS[1], ms(win + 1000000))
redis.call('INCR', qkey)
redis.call('PEXPIRE', qkey, ms(b[di + 1] - t + 60000000))
return {1, int(t), '', int(exp), '', eid, detected}
`)

// restoreScript: KEYS epoch, leases, quota day 0, 1, 2. ARGV now, b0..b3,
// the reading call's lease id, Marketo's count (-1: Marketo could not be
// asked), its source, dailyQuota, calls, window. It releases the reading
// call's lease and, if that call still holds the restore, resumes the day
// from the larger of the count kept since the loss and Marketo's; without
// Marketo's, from the worst case the limits allow: a full window of calls
// in every window since the day began, at most the daily quota.
// Returns {restored, now, count, source}.
var restoreScript = redis.NewScript(luaPrelude + `
local t = clock(ARGV[1])
local b = {tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])}
local di = pickday(t, b)
if di == nil then return {-1, int(t), 0, ''} end
redis.call('ZREM', KEYS[2], ARGV[6])
local ev = redis.call('HMGET', KEYS[1], 'state', 'reader')
if ev[1] ~= 'pending' or ev[2] ~= ARGV[6] then return {0, int(t), 0, ''} end
local count, source = tonumber(ARGV[7]), ARGV[8]
local quota, calls, win = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
if count < 0 then
  count = math.min(quota, calls * math.ceil((t - b[di]) / win))
end
local qkey = KEYS[2 + di]
local n = math.max(tonumber(redis.call('GET', qkey) or '0'), count)
redis.call('SET', qkey, int(n), 'PX', ms(b[di + 1] - t + 60000000))
redis.call('HSET', KEYS[1], 'state', 'done', 'count', int(n), 'source', source, 'at', int(t))
redis.call('HDEL', KEYS[1], 'reader', 'readerExp')
return {1, int(t), int(n), source}
`)

// refundScript: KEYS leases, window, the admission day's quota. ARGV the
// lease id, its window member (admission time ':' id). A lease still held
// is released and its call taken back from the window and the day's count;
// one not held (released, refunded) changes nothing. Returns 1 when
// refunded.
var refundScript = redis.NewScript(`
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[2])
if tonumber(redis.call('GET', KEYS[3]) or '0') > 0 then redis.call('DECR', KEYS[3]) end
return 1
`)

// answeredScript: KEYS leases, window. ARGV now, the lease id, its window
// member (admission time ':' id), the guard band, how long (ms) the window
// key must live for the moved place. A lease still held is released and
// its place in the window moved to now - guard (the member keeps its name:
// Refund finds it). Returns 1 when released.
var answeredScript = redis.NewScript(luaPrelude + `
local t = clock(ARGV[1])
if redis.call('ZREM', KEYS[1], ARGV[2]) == 0 then return 0 end
if redis.call('ZADD', KEYS[2], 'XX', 'CH', int(t - tonumber(ARGV[4])), ARGV[3]) == 1 then
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl >= 0 and ttl < tonumber(ARGV[5]) then redis.call('PEXPIRE', KEYS[2], ARGV[5]) end
end
return 1
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
// day 0, 1, 2, epoch. ARGV now, b0..b3, window, maxConc. Returns {ok, now, used,
// reset, calls, leases, eff, blockedUntil, blockReason, halted, haltReason,
// epoch state, lostAt, restored count, its source, restoredAt, epoch id}.
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
local ev = redis.call('HMGET', KEYS[9], 'state', 'lostAt', 'count', 'source', 'at', 'id')
return {1, int(t), int(used), int(b[di + 1]), calls, leases, int(eff), int(bu or 0), br or '', halted, halt,
  ev[1] or '', ev[2] or '0', ev[3] or '0', ev[4] or '', ev[5] or '0', ev[6] or ''}
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

// claimScript: KEYS epoch, then the claims. ARGV now, owner, ttl (ms), the
// epoch this replica knows (empty if none), renew ('1': the owner believes
// it holds the keys), the grace after a loss (µs). Returns one 1/0 per
// claim.
//
// The claims go with the rest of the state when it is lost (a restart
// without persistence): a call in flight then holds values nobody sees
// claimed. Its renewal (ClaimRenewEvery) puts them back; until it can have,
// for the grace after the loss was found (by this script, the epoch
// missing, or by an admission, lostAt), a value nobody claims is not given
// to a new claim, only to a renewal.
var claimScript = redis.NewScript(luaPrelude + `
local t = clock(ARGV[1])
local owner, ttl, known, renew = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5] == '1'
local fresh = true
if not renew then
  local ev = redis.call('HMGET', KEYS[1], 'id', 'lostAt', 'claimsLostAt')
  local found = tonumber(ev[3] or '')
  if not ev[1] and known ~= '' and not found then
    found = t
    redis.call('HSET', KEYS[1], 'claimsLostAt', int(t))
  end
  local la = math.max(tonumber(ev[2] or '0'), found or 0)
  if la > 0 and t < la + tonumber(ARGV[6]) then fresh = false end
end
local res = {}
for i = 2, #KEYS do
  local k = KEYS[i]
  local v = redis.call('GET', k)
  if not v and (fresh or renew) then
    redis.call('SET', k, owner, 'PX', ARGV[3])
    res[i - 1] = 1
  elseif v == owner then
    redis.call('PEXPIRE', k, ARGV[3])
    res[i - 1] = 1
  else
    res[i - 1] = 0
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
