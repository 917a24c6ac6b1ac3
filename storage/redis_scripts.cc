// The text of the Redis backend's Lua scripts (see redis_scripts.h).
#include "storage/redis_scripts.h"

#include "storage/history_cap.h"

namespace rtdemo {
namespace {

// Helpers both scripts start with.
const std::string kPrelude = R"lua(
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function parseId(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function idLess(a, b)
  local am, as = parseId(a)
  local bm, bs = parseId(b)
  return am < bm or (am == bm and as < bs)
end
-- Every key either script writes is read first, through pcall, so that one
-- holding what rtdemo never writes (a wrong type, a foreign value) is
-- refused with CORRUPT <key> before the first write, and Redis is left as it
-- was. The stream itself is checked by the first write (XADD, or XTRIM in
-- the read script), also through pcall.
local function corrupt(key, what) return redis.error_reply('CORRUPT ' .. key .. ' ' .. what) end
local function read(key, ...)
  local r = redis.pcall(...)
  if type(r) == 'table' and r.err then return nil, corrupt(key, 'is of the wrong type') end
  return r, nil
end
-- The shared keys: epoch, channels, bytes, floor (and one cost list).
-- Returns epoch, floor, bytes, top score, err.
local function checkKeys(epochKey, channelsKey, bytesKey, costKey, floorKey)
  local epoch, err = read(epochKey, 'GET', epochKey)
  if err then return nil, nil, nil, nil, err end
  if not epoch then return nil, nil, nil, nil, redis.error_reply('NOEPOCH history epoch missing') end
  if #epoch > 16 or not string.match(epoch, '^[0-9a-z]+$') then
    return nil, nil, nil, nil, corrupt(epochKey, 'is not an rtdemo epoch')
  end
  local top
  top, err = read(channelsKey, 'ZRANGE', channelsKey, -1, -1, 'WITHSCORES')
  if err then return nil, nil, nil, nil, err end
  local bytes
  bytes, err = read(bytesKey, 'GET', bytesKey)
  if err then return nil, nil, nil, nil, err end
  if bytes and not string.match(bytes, '^%-?%d+$') then
    return nil, nil, nil, nil, corrupt(bytesKey, 'is not a number')
  end
  local _, lerr = read(costKey, 'LLEN', costKey)
  if lerr then return nil, nil, nil, nil, lerr end
  local floor
  floor, err = read(floorKey, 'GET', floorKey)
  if err then return nil, nil, nil, nil, err end
  if floor and not string.match(floor, '^%d+%-%d+$') then
    return nil, nil, nil, nil, corrupt(floorKey, 'is not a stream id')
  end
  return epoch, floor or nil, tonumber(bytes or '0'), tonumber(top[2] or '0'), nil
end
-- After the stream lost `dropped` entries from its front, drops as many
-- costs from the front of its cost list; returns how many bytes went.
local function alignCosts(streamKey, costKey, dropped)
  if dropped <= 0 then return 0 end
  local extra = redis.call('LLEN', costKey) - redis.call('XLEN', streamKey)
  if extra <= 0 then return 0 end
  local freed = 0
  for _, c in ipairs(redis.call('LPOP', costKey, extra)) do freed = freed + (tonumber(c) or 0) end
  return freed
end
-- Retention of one stream: count (exact or approximate) and age. Returns
-- the bytes it freed (not yet taken off the total).
local function trim(streamKey, costKey, maxLen, exact, maxAge)
  local dropped
  if exact then
    dropped = redis.call('XTRIM', streamKey, 'MAXLEN', maxLen)
  else
    dropped = redis.call('XTRIM', streamKey, 'MAXLEN', '~', maxLen)
  end
  if maxAge > 0 then
    local cut = nowMs() - maxAge
    if cut > 0 then
      dropped = dropped + redis.call('XTRIM', streamKey, 'MINID', string.format('%d', cut))
    end
  end
  return alignCosts(streamKey, costKey, dropped)
end
)lua";

// The publishing half both the publish script and the stream script
// (redis_stream_scripts.h) run: one message stored with the cap's
// bookkeeping, and a channel dropped whole. Their state is one table, `st`
// (newPublishState), so that a script publishes several messages and saves
// the total once.
const std::string kPublishLib = R"lua(
-- ARGV 1 to 6 are the limits (redis_scripts.h); KEYS 2 and 4 are P channels
-- and P floor.
local function newPublishState(epoch, floor, bytes, top)
  return {epoch = epoch, floor = floor, bytes = bytes, top = top,
          maxLen = ARGV[1], maxAge = tonumber(ARGV[2]), maxBytes = tonumber(ARGV[3]),
          maxChannels = tonumber(ARGV[4]), prefix = ARGV[5], most = tonumber(ARGV[6]),
          spared = {}, nSpared = 0, evictedChannels = 0, evictedMessages = 0}
end
-- A channel this script writes: the cap never evicts it.
local function spare(st, channel)
  if not st.spared[channel] then st.spared[channel] = true; st.nSpared = st.nSpared + 1 end
end
local function saveBytes(st) redis.call('SET', KEYS[3], string.format('%d', st.bytes)) end
-- Deletes `name`'s stream and cost list, raising the floor to the stream's
-- last-generated-id so that no id is issued twice, and forgets the channel
-- in P channels. Only what rtdemo wrote is deleted; a key of another type
-- under the prefix is left alone (and leaves the bookkeeping, so it is not
-- retried). Returns how many messages went.
local function dropChannel(st, name)
  local vkey, vcost = st.prefix .. 'ch:' .. name, st.prefix .. 'cost:' .. name
  local removed = 0
  if redis.call('TYPE', vkey)['ok'] == 'stream' then
    local info = redis.call('XINFO', 'STREAM', vkey)
    for i = 1, #info, 2 do
      if info[i] == 'last-generated-id' then
        local last = info[i + 1]
        if not st.floor or idLess(st.floor, last) then
          st.floor = last
          redis.call('SET', KEYS[4], st.floor)
        end
      elseif info[i] == 'length' then
        removed = info[i + 1]
      end
    end
    redis.call('DEL', vkey)
  end
  if redis.call('TYPE', vcost)['ok'] == 'list' then
    for _, c in ipairs(redis.call('LRANGE', vcost, 0, -1)) do st.bytes = st.bytes - (tonumber(c) or 0) end
    redis.call('DEL', vcost)
  end
  redis.call('ZREM', KEYS[2], name)
  return removed
end
-- Stores one message in stream `sk` (cost list `ck`) of `channel`, trims it,
-- and applies the global cap, never evicting a spared channel. Returns its id.
local function publishOne(st, sk, ck, channel, event, data)
  -- A new stream starts above every id an evicted one issued, even when the
  -- clock is behind the floor.
  local fresh = st.floor and redis.call('EXISTS', sk) == 0
  local idArg = '*'
  if fresh then
    local fms, fseq = parseId(st.floor)
    if nowMs() <= fms then idArg = string.format('%d-%d', fms, fseq + 1) end
  end
  local id = redis.call('XADD', sk, idArg, 'p', st.epoch, 'e', event, 'd', data)
  if fresh then redis.call('XSETID', sk, id, 'MAXDELETEDID', st.floor) end
  local cost = )lua" + std::to_string(kMessageOverheadBytes) + R"lua( + #event + #data
  redis.call('RPUSH', ck, cost)
  -- Scores count publishes (the highest plus one), so that recency is exact
  -- even for publishes within one millisecond.
  st.top = st.top + 1
  redis.call('ZADD', KEYS[2], st.top, channel)
  st.bytes = st.bytes + cost - trim(sk, ck, st.maxLen, false, st.maxAge)

  -- The global cap: evict the least recently published channels, never a
  -- spared one.
  local channels = redis.call('ZCARD', KEYS[2])
  while st.evictedChannels < st.most and (st.bytes > st.maxBytes or channels > st.maxChannels) do
    local victim = nil
    for _, name in ipairs(redis.call('ZRANGE', KEYS[2], 0, st.nSpared)) do
      if not st.spared[name] then victim = name; break end
    end
    if not victim then break end
    st.evictedMessages = st.evictedMessages + dropChannel(st, victim)
    channels = channels - 1
    st.evictedChannels = st.evictedChannels + 1
  end
  -- Still over with only spared channels left: this channel's own oldest
  -- entries go, down to its newest.
  local over = st.bytes - st.maxBytes
  if over > 0 then
    local len = redis.call('XLEN', sk)
    local costs = redis.call('LRANGE', ck, 0, -2)
    local uncounted = len - #costs - 1
    local k, freed = 0, 0
    while k < #costs and freed < over do
      k = k + 1
      freed = freed + (tonumber(costs[k]) or 0)
    end
    if k > 0 then
      redis.call('XTRIM', sk, 'MAXLEN', len - uncounted - k)
      redis.call('LTRIM', ck, k, -1)
      st.bytes = st.bytes - freed
      st.evictedMessages = st.evictedMessages + uncounted + k
    end
  end
  return id
end
)lua";

}  // namespace

std::string redisPublishLibrary() { return kPrelude + kPublishLib; }

const std::string kRedisPublishScript = kPrelude + kPublishLib + R"lua(
local n = (#ARGV - 6) / 3
local epoch, floor, bytes, top, err = checkKeys(KEYS[1], KEYS[2], KEYS[3], KEYS[6], KEYS[4])
if err then return err end
-- Every element's keys are checked before the first write, so that a batch
-- is stored whole or not at all. The channels of the batch are spared by
-- the cap: a publish never evicts the history it just wrote.
local st = newPublishState(epoch, floor, bytes, top)
for i = 0, n - 1 do
  local sk, ck = KEYS[5 + 2 * i], KEYS[6 + 2 * i]
  local t, terr = read(sk, 'TYPE', sk)
  if terr then return terr end
  if t['ok'] ~= 'none' and t['ok'] ~= 'stream' then return corrupt(sk, 'is of the wrong type') end
  local _, lerr = read(ck, 'LLEN', ck)
  if lerr then return lerr end
  spare(st, ARGV[7 + 3 * i])
end

local reply = {epoch, 0, 0}
for i = 0, n - 1 do
  reply[4 + i] = publishOne(st, KEYS[5 + 2 * i], KEYS[6 + 2 * i], ARGV[7 + 3 * i],
                            ARGV[8 + 3 * i], ARGV[9 + 3 * i])
end
saveBytes(st)
reply[2], reply[3] = st.evictedChannels, st.evictedMessages
return reply
)lua";

const std::string kRedisReadScript = kPrelude + R"lua(
local epoch, floor, bytes, _, err = checkKeys(KEYS[1], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
if err then return err end
floor = floor or ''
if redis.call('EXISTS', KEYS[2]) == 0 then return {epoch, '', '0-0', '', {}, 0, floor} end
local _, serr = read(KEYS[2], 'XLEN', KEYS[2])
if serr then return serr end
local freed = trim(KEYS[2], KEYS[5], ARGV[1], true, tonumber(ARGV[2]))
if freed > 0 then redis.call('SET', KEYS[4], string.format('%d', bytes - freed)) end
local info = redis.call('XINFO', 'STREAM', KEYS[2])
local last, maxdel, first, added, length = '', '0-0', '', 0, 0
for i = 1, #info, 2 do
  local k = info[i]
  if k == 'last-generated-id' then last = info[i + 1]
  elseif k == 'max-deleted-entry-id' then maxdel = info[i + 1]
  elseif k == 'entries-added' then added = info[i + 1]
  elseif k == 'length' then length = info[i + 1]
  elseif k == 'first-entry' and info[i + 1] then first = info[i + 1][1] end
end
local entries = {}
if tonumber(ARGV[4]) > 0 then
  entries = redis.call('XRANGE', KEYS[2], ARGV[3], '+', 'COUNT', ARGV[4])
end
local trimmed = 0
if added > length then trimmed = 1 end
return {epoch, last, maxdel, first, entries, trimmed, floor}
)lua";

}  // namespace rtdemo
