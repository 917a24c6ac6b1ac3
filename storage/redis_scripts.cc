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
-- Reads every key the script will write and refuses, before any write, what
-- rtdemo did not put there: a bad value is an error (CORRUPT, or WRONGTYPE
-- from Redis itself) and leaves Redis as it was. Returns the epoch and floor.
local function checkKeys()
  for i, want in ipairs({'string', 'stream', 'zset', 'string', 'list', 'string'}) do
    local t = redis.call('TYPE', KEYS[i])['ok']
    if t ~= want and t ~= 'none' then
      return nil, nil, redis.error_reply('CORRUPT ' .. KEYS[i] .. ' is a ' .. t .. ', not a ' .. want)
    end
  end
  local epoch = redis.call('GET', KEYS[1])
  if not epoch then return nil, nil, redis.error_reply('NOEPOCH history epoch missing') end
  if #epoch > 16 or not string.match(epoch, '^[0-9a-z]+$') then
    return nil, nil, redis.error_reply('CORRUPT ' .. KEYS[1] .. ' is not an rtdemo epoch')
  end
  local bytes = redis.call('GET', KEYS[4])
  if bytes and not string.match(bytes, '^%-?%d+$') then
    return nil, nil, redis.error_reply('CORRUPT ' .. KEYS[4] .. ' is not a number')
  end
  local floor = redis.call('GET', KEYS[6])
  if floor and not string.match(floor, '^%d+%-%d+$') then
    return nil, nil, redis.error_reply('CORRUPT ' .. KEYS[6] .. ' is not a stream id')
  end
  return epoch, floor, nil
end
-- After the stream lost entries from its front, drops as many costs from
-- the front of its cost list and the total; returns how many bytes went.
local function alignCosts(streamKey, costKey, bytesKey)
  local extra = redis.call('LLEN', costKey) - redis.call('XLEN', streamKey)
  if extra <= 0 then return 0 end
  local freed = 0
  for _, c in ipairs(redis.call('LPOP', costKey, extra)) do freed = freed + (tonumber(c) or 0) end
  if freed > 0 then redis.call('DECRBY', bytesKey, freed) end
  return freed
end
-- Retention of one stream: count (exact or approximate) and age.
local function trim(streamKey, costKey, bytesKey, maxLen, exact, maxAge)
  if exact then
    redis.call('XTRIM', streamKey, 'MAXLEN', maxLen)
  else
    redis.call('XTRIM', streamKey, 'MAXLEN', '~', maxLen)
  end
  if maxAge > 0 then
    local cut = nowMs() - maxAge
    if cut > 0 then redis.call('XTRIM', streamKey, 'MINID', string.format('%d', cut)) end
  end
  alignCosts(streamKey, costKey, bytesKey)
end
)lua";

}  // namespace

const std::string kRedisPublishScript = kPrelude + R"lua(
local epoch, floor, err = checkKeys()
if err then return err end
local channel, prefix = ARGV[7], ARGV[8]
local fresh = redis.call('EXISTS', KEYS[2]) == 0
-- A new stream starts above every id an evicted one issued, even when the
-- clock is behind the floor.
local idArg = '*'
if fresh and floor then
  local fms, fseq = parseId(floor)
  if nowMs() <= fms then idArg = string.format('%d-%d', fms, fseq + 1) end
end
local id = redis.call('XADD', KEYS[2], idArg, 'p', epoch, 'e', ARGV[3], 'd', ARGV[4])
if fresh and floor then redis.call('XSETID', KEYS[2], id, 'MAXDELETEDID', floor) end
local cost = )lua" + std::to_string(kMessageOverheadBytes) + R"lua( + #ARGV[3] + #ARGV[4]
redis.call('RPUSH', KEYS[5], cost)
redis.call('INCRBY', KEYS[4], cost)
-- Scores count publishes (the highest plus one), so that recency is exact
-- even for publishes within one millisecond.
local top = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')
redis.call('ZADD', KEYS[3], (tonumber(top[2]) or 0) + 1, channel)
trim(KEYS[2], KEYS[5], KEYS[4], ARGV[1], false, tonumber(ARGV[2]))

-- The global cap: evict the least recently published channels, never this one.
local maxBytes, maxChannels, most = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[9])
local evictedChannels, evictedMessages = 0, 0
local function bytes() return tonumber(redis.call('GET', KEYS[4]) or '0') end
while evictedChannels < most and
      (bytes() > maxBytes or redis.call('ZCARD', KEYS[3]) > maxChannels) do
  local victim = nil
  for _, name in ipairs(redis.call('ZRANGE', KEYS[3], 0, 1)) do
    if name ~= channel then victim = name; break end
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
          redis.call('SET', KEYS[6], floor)
        end
      elseif info[i] == 'length' then
        evictedMessages = evictedMessages + info[i + 1]
      end
    end
    redis.call('DEL', vkey)
  end
  local freed = 0
  if redis.call('TYPE', vcost)['ok'] == 'list' then
    for _, c in ipairs(redis.call('LRANGE', vcost, 0, -1)) do freed = freed + (tonumber(c) or 0) end
    redis.call('DEL', vcost)
  end
  if freed > 0 then redis.call('DECRBY', KEYS[4], freed) end
  redis.call('ZREM', KEYS[3], victim)
  evictedChannels = evictedChannels + 1
end
-- Still over with only this channel left: its own oldest entries go, down
-- to its newest.
local over = bytes() - maxBytes
if over > 0 then
  local len = redis.call('XLEN', KEYS[2])
  local costs = redis.call('LRANGE', KEYS[5], 0, -2)
  local uncounted = len - #costs - 1
  local k, freed = 0, 0
  while k < #costs and freed < over do
    k = k + 1
    freed = freed + (tonumber(costs[k]) or 0)
  end
  if k > 0 then
    redis.call('XTRIM', KEYS[2], 'MAXLEN', len - uncounted - k)
    redis.call('LTRIM', KEYS[5], k, -1)
    redis.call('DECRBY', KEYS[4], freed)
    evictedMessages = evictedMessages + uncounted + k
  end
end
return {id, epoch, evictedChannels, evictedMessages}
)lua";

const std::string kRedisReadScript = kPrelude + R"lua(
local epoch, floor, err = checkKeys()
if err then return err end
floor = floor or ''
if redis.call('EXISTS', KEYS[2]) == 0 then return {epoch, '', '0-0', '', {}, 0, floor} end
trim(KEYS[2], KEYS[5], KEYS[4], ARGV[1], true, tonumber(ARGV[2]))
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
