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

}  // namespace

const std::string kRedisPublishScript = kPrelude + R"lua(
local n = (#ARGV - 6) / 3
local maxLen, maxAge = ARGV[1], tonumber(ARGV[2])
local maxBytes, maxChannels = tonumber(ARGV[3]), tonumber(ARGV[4])
local prefix, most = ARGV[5], tonumber(ARGV[6])
local epoch, floor, bytes, top, err = checkKeys(KEYS[1], KEYS[2], KEYS[3], KEYS[6], KEYS[4])
if err then return err end
-- Every element's keys are checked before the first write, so that a batch
-- is stored whole or not at all. The channels of the batch are spared by
-- the cap: a publish never evicts the history it just wrote.
local spared, nSpared = {}, 0
for i = 0, n - 1 do
  local sk, ck = KEYS[5 + 2 * i], KEYS[6 + 2 * i]
  local t, terr = read(sk, 'TYPE', sk)
  if terr then return terr end
  if t['ok'] ~= 'none' and t['ok'] ~= 'stream' then return corrupt(sk, 'is of the wrong type') end
  local _, lerr = read(ck, 'LLEN', ck)
  if lerr then return lerr end
  local channel = ARGV[7 + 3 * i]
  if not spared[channel] then spared[channel] = true; nSpared = nSpared + 1 end
end

local evictedChannels, evictedMessages = 0, 0
local function publishOne(sk, ck, channel, event, data)
  -- A new stream starts above every id an evicted one issued, even when the
  -- clock is behind the floor.
  local fresh = floor and redis.call('EXISTS', sk) == 0
  local idArg = '*'
  if fresh then
    local fms, fseq = parseId(floor)
    if nowMs() <= fms then idArg = string.format('%d-%d', fms, fseq + 1) end
  end
  local id = redis.call('XADD', sk, idArg, 'p', epoch, 'e', event, 'd', data)
  if fresh then redis.call('XSETID', sk, id, 'MAXDELETEDID', floor) end
  local cost = )lua" + std::to_string(kMessageOverheadBytes) + R"lua( + #event + #data
  redis.call('RPUSH', ck, cost)
  -- Scores count publishes (the highest plus one), so that recency is exact
  -- even for publishes within one millisecond.
  top = top + 1
  redis.call('ZADD', KEYS[2], top, channel)
  bytes = bytes + cost - trim(sk, ck, maxLen, false, maxAge)

  -- The global cap: evict the least recently published channels, never one
  -- of this batch.
  local channels = redis.call('ZCARD', KEYS[2])
  while evictedChannels < most and (bytes > maxBytes or channels > maxChannels) do
    local victim = nil
    for _, name in ipairs(redis.call('ZRANGE', KEYS[2], 0, nSpared)) do
      if not spared[name] then victim = name; break end
    end
    if not victim then break end
    local vkey, vcost = prefix .. 'ch:' .. victim, prefix .. 'cost:' .. victim
    -- Only what rtdemo wrote is deleted; a key of another type under the
    -- prefix is left alone (and leaves the bookkeeping, so it is not retried).
    if redis.call('TYPE', vkey)['ok'] == 'stream' then
      local info = redis.call('XINFO', 'STREAM', vkey)
      for i = 1, #info, 2 do
        if info[i] == 'last-generated-id' then
          local last = info[i + 1]
          if not floor or idLess(floor, last) then
            floor = last
            redis.call('SET', KEYS[4], floor)
          end
        elseif info[i] == 'length' then
          evictedMessages = evictedMessages + info[i + 1]
        end
      end
      redis.call('DEL', vkey)
    end
    if redis.call('TYPE', vcost)['ok'] == 'list' then
      for _, c in ipairs(redis.call('LRANGE', vcost, 0, -1)) do bytes = bytes - (tonumber(c) or 0) end
      redis.call('DEL', vcost)
    end
    redis.call('ZREM', KEYS[2], victim)
    channels = channels - 1
    evictedChannels = evictedChannels + 1
  end
  -- Still over with only this batch's channels left: this channel's own
  -- oldest entries go, down to its newest.
  local over = bytes - maxBytes
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
      bytes = bytes - freed
      evictedMessages = evictedMessages + uncounted + k
    end
  end
  return id
end

local reply = {epoch, 0, 0}
for i = 0, n - 1 do
  reply[4 + i] = publishOne(KEYS[5 + 2 * i], KEYS[6 + 2 * i], ARGV[7 + 3 * i],
                            ARGV[8 + 3 * i], ARGV[9 + 3 * i])
end
redis.call('SET', KEYS[3], string.format('%d', bytes))
reply[2], reply[3] = evictedChannels, evictedMessages
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
