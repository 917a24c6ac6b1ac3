// The text of the Redis stream script and its rules (see
// redis_stream_scripts.h). Each Lua function of kRules is the function of
// storage/stream_rules.cc with the same name; change both together (the
// rules test fails otherwise).
#include "storage/redis_stream_scripts.h"

#include "storage/redis_scripts.h"

namespace rtdemo {
namespace {

const char* const kRules = R"lua(
-- a < b byte by byte, as std::string compares: Lua's own < on strings
-- follows the server's collation locale, which need not be bytes.
local function bytesLess(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
-- info: {ct, ttl, exp, closed, access, sseq}; numbers as numbers.
local function streamExpired(info, now)
  if info.exp > 0 and now >= info.exp then return true end
  return info.ttl > 0 and now >= info.access + info.ttl * 1000
end
-- existing: an info or nil.
local function decideCreate(existing, ct, ttl, exp)
  if not existing then return 'ok' end
  if existing.ct == ct and existing.ttl == ttl and existing.exp == exp then return 'exists' end
  return 'conflict'
end
-- claim {epoch, seq}; stored {epoch, last} or nil. Returns the outcome, the
-- state to store (nil unless 'ok'), and the epoch and seq to report.
local function decideProducer(claim, stored)
  if stored == nil or claim.epoch > stored.epoch then
    if claim.seq ~= 0 then
      if stored == nil then return 'gap', nil, claim.epoch, 0 end
      return 'epoch0', nil, claim.epoch, 0
    end
    return 'ok', {epoch = claim.epoch, last = 0}, claim.epoch, 0
  end
  if claim.epoch < stored.epoch then return 'stale', nil, stored.epoch, stored.last end
  if claim.seq <= stored.last then return 'duplicate', nil, claim.epoch, stored.last end
  if claim.seq > stored.last + 1 then return 'gap', nil, claim.epoch, stored.last + 1 end
  return 'ok', {epoch = claim.epoch, last = claim.seq}, claim.epoch, claim.seq
end
-- req {ct, n (messages), close, sseq (nil: none), claim (nil: none)}.
-- Returns as decideProducer.
local function decideAppend(info, req, stored)
  local closeOnly = req.close and req.n == 0
  if not closeOnly and req.ct ~= info.ct then return 'ctype', nil, 0, 0 end
  local outcome, state, repEpoch, repSeq = 'ok', nil, 0, 0
  if req.claim then
    outcome, state, repEpoch, repSeq = decideProducer(req.claim, stored)
    if outcome ~= 'ok' then return outcome, nil, repEpoch, repSeq end
  end
  if info.closed then
    -- Closing a closed stream again, with nothing to add, is idempotent.
    if not closeOnly then return 'closed', nil, repEpoch, repSeq end
    return outcome, state, repEpoch, repSeq
  end
  if req.sseq and info.sseq ~= '' and not bytesLess(info.sseq, req.sseq) then
    return 'sseq', nil, repEpoch, repSeq
  end
  return outcome, state, repEpoch, repSeq
end
)lua";

const char* const kOperations = R"lua(
local epoch, floor, bytes, top, err = checkKeys(KEYS[1], KEYS[2], KEYS[3], KEYS[6], KEYS[4])
if err then return err end
-- Every key this script may write is checked before the first write.
for _, k in ipairs({{KEYS[5], 'stream'}, {KEYS[7], 'hash'}, {KEYS[8], 'hash'}}) do
  local t, terr = read(k[1], 'TYPE', k[1])
  if terr then return terr end
  if t['ok'] ~= 'none' and t['ok'] ~= k[2] then return corrupt(k[1], 'is of the wrong type') end
end
local st = newPublishState(epoch, floor, bytes, top)
local op, now, channel = ARGV[7], tonumber(ARGV[8]) or nowMs(), ARGV[9]
local dirty = false
local function fmt(n) return string.format('%d', n) end

-- The channel's last-generated-id, or the floor it would start above.
local function tail()
  if redis.call('EXISTS', KEYS[5]) == 1 then
    local info = redis.call('XINFO', 'STREAM', KEYS[5])
    for i = 1, #info, 2 do
      if info[i] == 'last-generated-id' then return info[i + 1] end
    end
  end
  return st.floor or '0-0'
end
local function loadMeta()
  local v = redis.call('HMGET', KEYS[7], 'ct', 'ttl', 'exp', 'closed', 'start', 'created',
                       'access', 'sseq')
  if not v[1] then return nil end
  return {ct = v[1], ttl = tonumber(v[2]) or 0, exp = tonumber(v[3]) or 0, closed = v[4] == '1',
          start = v[5] or '0-0', created = tonumber(v[6]) or 0, access = tonumber(v[7]) or 0,
          sseq = v[8] or ''}
end
-- Metadata, producers and the channel's history go; the floor keeps its ids.
local function dropStream()
  redis.call('DEL', KEYS[7], KEYS[8])
  dropChannel(st, channel)
  dirty = true
end
-- The stream, or nil; an expired one is dropped here, so expiry needs no timer.
local function liveMeta()
  local m = loadMeta()
  if m and streamExpired(m, now) then
    dropStream()
    return nil
  end
  return m
end
local function publishAll(first, event)
  local ids = {}
  spare(st, channel)
  for i = first, #ARGV do
    ids[#ids + 1] = publishOne(st, KEYS[5], KEYS[6], channel, event, ARGV[i])
    dirty = true
  end
  return ids
end
local function answer(outcome, closed, repEpoch, repSeq, ids)
  if dirty then saveBytes(st) end
  local r = {epoch, outcome, tail(), closed and '1' or '0', fmt(repEpoch), fmt(repSeq)}
  for _, id in ipairs(ids or {}) do r[#r + 1] = id end
  return r
end

if op == 'info' then
  local m = liveMeta()
  if dirty then saveBytes(st) end
  if not m then return {epoch, '0'} end
  return {epoch, '1', m.ct, fmt(m.ttl), fmt(m.exp), m.closed and '1' or '0', m.start, tail(),
          fmt(m.created), fmt(m.access), m.sseq}
elseif op == 'touch' then
  local m = liveMeta()
  if m then redis.call('HSET', KEYS[7], 'access', fmt(now)) end
  if dirty then saveBytes(st) end
  return {epoch}
elseif op == 'delete' then
  local m = liveMeta()
  if not m then return answer('notfound', false, 0, 0) end
  dropStream()
  return answer('ok', false, 0, 0)
elseif op == 'create' then
  local ct, ttl, exp, close = ARGV[10], tonumber(ARGV[11]), tonumber(ARGV[12]), ARGV[13] == '1'
  local m = liveMeta()
  local outcome = decideCreate(m, ct, ttl, exp)
  if outcome ~= 'ok' then return answer(outcome, m.closed, 0, 0) end
  redis.call('HSET', KEYS[7], 'ct', ct, 'ttl', fmt(ttl), 'exp', fmt(exp),
             'closed', close and '1' or '0', 'start', tail(), 'created', fmt(now),
             'access', fmt(now), 'sseq', '')
  return answer('ok', close, 0, 0, publishAll(15, ARGV[14]))
elseif op == 'append' then
  local m = liveMeta()
  if not m then return answer('notfound', false, 0, 0) end
  local req = {ct = ARGV[10], n = #ARGV - 18, close = ARGV[12] == '1'}
  if ARGV[13] == '1' then req.sseq = ARGV[14] end
  local stored = nil
  if ARGV[15] == '1' then
    req.claim = {epoch = tonumber(ARGV[17]), seq = tonumber(ARGV[18])}
    local v = redis.call('HGET', KEYS[8], ARGV[16])
    if v then
      local e, s = string.match(v, '^(%d+) (%d+)$')
      if not e then return corrupt(KEYS[8], 'holds a producer state rtdemo did not write') end
      stored = {epoch = tonumber(e), last = tonumber(s)}
    end
  end
  local outcome, state, repEpoch, repSeq = decideAppend(m, req, stored)
  if outcome ~= 'ok' then return answer(outcome, m.closed, repEpoch, repSeq) end
  -- The producer's state, the messages and the metadata: one script, so a
  -- retry after a crash finds either all of them or none.
  if state then redis.call('HSET', KEYS[8], ARGV[16], fmt(state.epoch) .. ' ' .. fmt(state.last)) end
  local ids = publishAll(19, ARGV[11])
  local closed = m.closed or req.close
  redis.call('HSET', KEYS[7], 'closed', closed and '1' or '0', 'access', fmt(now),
             'sseq', req.sseq or m.sseq)
  return answer('ok', closed, repEpoch, repSeq, ids)
end
return redis.error_reply('ERR unknown stream operation ' .. tostring(op))
)lua";

}  // namespace

const std::string& redisStreamRulesLua() {
  static const std::string text = kRules;
  return text;
}

const std::string& redisStreamScript() {
  static const std::string text = redisPublishLibrary() + kRules + kOperations;
  return text;
}

}  // namespace rtdemo
