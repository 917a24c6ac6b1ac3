// The Redis stream script's rules against storage/stream_rules.h: the Lua
// mirror (redisStreamRulesLua(), redis_stream_scripts.h) and the C++ rules
// must answer every case the same way, or the Redis backend would decide a
// producer's append differently from memory and SQLite. Each case of a grid
// of stream states and requests is run through both: the Lua in the test
// program's real redis-server (EVAL), the C++ here, and every answer
// compared, outcome, state to store and reported epoch and seq alike.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <sstream>

#include "storage/redis_stream_scripts.h"
#include "storage/stream_rules.h"
#include "tests/broker/redis_broker_support.h"

namespace rtdemo {
namespace {

// The short names the Lua answers with (as redis_streams.cc reads them).
std::string codeOf(StreamOutcome o) {
  switch (o) {
    case StreamOutcome::kOk: return "ok";
    case StreamOutcome::kExists: return "exists";
    case StreamOutcome::kDuplicate: return "duplicate";
    case StreamOutcome::kNotFound: return "notfound";
    case StreamOutcome::kConfigConflict: return "conflict";
    case StreamOutcome::kContentTypeMismatch: return "ctype";
    case StreamOutcome::kClosed: return "closed";
    case StreamOutcome::kStreamSeqRegression: return "sseq";
    case StreamOutcome::kStaleEpoch: return "stale";
    case StreamOutcome::kSeqGap: return "gap";
    case StreamOutcome::kEpochNotFromZero: return "epoch0";
  }
  return "?";
}

// Runs decideAppend on each case of 14 ARGV and answers five lines a case.
const char* const kAppendDriver = R"lua(
local out = {}
for b = 0, #ARGV - 1, 14 do
  local a = function(i) return ARGV[b + i] end
  local info = {ct = a(1), closed = a(2) == '1', sseq = a(3)}
  local req = {ct = a(4), n = tonumber(a(5)), close = a(6) == '1'}
  if a(7) == '1' then req.sseq = a(8) end
  if a(9) == '1' then req.claim = {epoch = tonumber(a(10)), seq = tonumber(a(11))} end
  local stored = nil
  if a(12) == '1' then stored = {epoch = tonumber(a(13)), last = tonumber(a(14))} end
  local o, s, e, q = decideAppend(info, req, stored)
  out[#out + 1] = o
  out[#out + 1] = s and string.format('%d %d', s.epoch, s.last) or '-'
  out[#out + 1] = string.format('%d', e)
  out[#out + 1] = string.format('%d', q)
end
return out
)lua";

// streamExpired and decideCreate on 6 ARGV a case: exp, ttl, access, now,
// then the existing and requested configuration as ct|ttl|exp ("" = none).
const char* const kLifeDriver = R"lua(
local out = {}
for b = 0, #ARGV - 1, 6 do
  local info = {exp = tonumber(ARGV[b + 1]), ttl = tonumber(ARGV[b + 2]),
                access = tonumber(ARGV[b + 3])}
  out[#out + 1] = streamExpired(info, tonumber(ARGV[b + 4])) and '1' or '0'
  local existing = nil
  if ARGV[b + 5] ~= '' then
    local ct, ttl, exp = string.match(ARGV[b + 5], '^([^|]*)|(%d+)|(%d+)$')
    existing = {ct = ct, ttl = tonumber(ttl), exp = tonumber(exp)}
  end
  local ct, ttl, exp = string.match(ARGV[b + 6], '^([^|]*)|(%d+)|(%d+)$')
  out[#out + 1] = decideCreate(existing, ct, tonumber(ttl), tonumber(exp))
end
return out
)lua";

// EVALs `driver` after the rules over `args`; the reply's lines.
std::vector<std::string> evalRules(RedisServer* server, const char* driver,
                                   const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"EVAL", redisStreamRulesLua() + driver, "0"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::istringstream reply(server->command(argv));
  std::vector<std::string> lines;
  for (std::string line; std::getline(reply, line);) lines.push_back(line);
  return lines;
}

struct AppendCase {
  StreamInfo info;
  StreamAppend append;
  std::optional<ProducerState> stored;
};

TEST(RedisStreamRules, DecideAppendAgreesWithTheCppRulesOnEveryCase) {
  RedisServer* server = sharedServer();
  ASSERT_TRUE(server->running());
  // Stream-Seq values that order differently as bytes and as numbers, a
  // prefix, and bytes above 0x7f (which a collation locale would reorder).
  const std::vector<std::string> lastSeqs = {"", "10", "\xc3\xa9"};
  const std::vector<std::optional<std::string>> seqs = {
      std::nullopt, "09", "10", "100", "2", "\x7f", "\xc3\xa9", "\xff"};
  std::vector<std::optional<ProducerClaim>> claims = {std::nullopt};
  for (int64_t e = 0; e <= 2; ++e)
    for (int64_t s = 0; s <= 3; ++s) claims.push_back(ProducerClaim{"p", e, s});
  const std::vector<std::optional<ProducerState>> storedStates = {
      std::nullopt, ProducerState{1, 0}, ProducerState{1, 2}};

  std::vector<AppendCase> cases;
  for (const char* type : {"text/plain", "application/json"})
    for (size_t n = 0; n <= 2; ++n)
      for (bool close : {false, true})
        for (bool closed : {false, true})
          for (const std::string& last : lastSeqs)
            for (const auto& seq : seqs)
              for (const auto& claim : claims)
                for (const auto& stored : storedStates) {
                  AppendCase c;
                  c.info.config.contentType = "text/plain";
                  c.info.closed = closed;
                  c.info.lastStreamSeq = last;
                  c.append.contentType = type;
                  c.append.messages.assign(n, "m");
                  c.append.close = close;
                  c.append.streamSeq = seq;
                  c.append.producer = claim;
                  c.stored = stored;
                  cases.push_back(c);
                }

  const size_t kBatch = 2000;
  size_t compared = 0;
  std::map<std::string, size_t> seen;  // every outcome must be exercised
  for (size_t from = 0; from < cases.size(); from += kBatch) {
    std::vector<std::string> args;
    size_t to = std::min(cases.size(), from + kBatch);
    for (size_t i = from; i < to; ++i) {
      const AppendCase& c = cases[i];
      const ProducerClaim p = c.append.producer.value_or(ProducerClaim{});
      const ProducerState s = c.stored.value_or(ProducerState{});
      args.insert(args.end(),
                  {c.info.config.contentType, c.info.closed ? "1" : "0", c.info.lastStreamSeq,
                   c.append.contentType, std::to_string(c.append.messages.size()),
                   c.append.close ? "1" : "0", c.append.streamSeq ? "1" : "0",
                   c.append.streamSeq.value_or(""), c.append.producer ? "1" : "0",
                   std::to_string(p.epoch), std::to_string(p.seq), c.stored ? "1" : "0",
                   std::to_string(s.epoch), std::to_string(s.lastSeq)});
    }
    std::vector<std::string> lua = evalRules(server, kAppendDriver, args);
    ASSERT_EQ(lua.size(), 4 * (to - from)) << (lua.empty() ? "" : lua[0]);
    for (size_t i = from; i < to; ++i) {
      const AppendCase& c = cases[i];
      AppendDecision d = decideAppend(c.info, c.append, c.stored ? &*c.stored : nullptr);
      const std::string* got = &lua[4 * (i - from)];
      std::string state = "-";
      if (d.outcome == StreamOutcome::kOk && c.append.producer)
        state = std::to_string(d.producer.epoch) + " " + std::to_string(d.producer.lastSeq);
      std::string want[4] = {codeOf(d.outcome), state, std::to_string(d.reportEpoch),
                             std::to_string(d.reportSeq)};
      for (int k = 0; k < 4; ++k) {
        ASSERT_EQ(got[k], want[k]) << "case " << i << " field " << k;
      }
      ++seen[want[0]];
      ++compared;
    }
  }
  EXPECT_EQ(compared, cases.size());
  for (const char* o : {"ok", "duplicate", "ctype", "closed", "sseq", "stale", "gap", "epoch0"})
    EXPECT_GT(seen[o], 0u) << o << " never decided: the grid misses a rule";
}

TEST(RedisStreamRules, ExpiryAndCreateAgreeWithTheCppRules) {
  RedisServer* server = sharedServer();
  ASSERT_TRUE(server->running());
  const std::vector<std::string> configs = {"", "text/plain|0|0", "text/plain|60|0",
                                            "text/plain|0|5000", "application/json|0|0"};
  auto parse = [](const std::string& text, StreamConfig* c) {
    size_t a = text.find('|'), b = text.rfind('|');
    c->contentType = text.substr(0, a);
    c->ttlSeconds = std::stoll(text.substr(a + 1, b - a - 1));
    c->expiresAtMs = std::stoll(text.substr(b + 1));
  };
  std::vector<std::string> args;
  std::vector<std::string> want;
  for (int64_t exp : {0, 1000, 2000})
    for (int64_t ttl : {0, 1, 2})
      for (int64_t access : {0, 500})
        for (int64_t now : {0, 999, 1000, 1499, 1500, 1999, 2000, 2500, 3000})
          for (const std::string& existing : configs)
            for (size_t r = 1; r < configs.size(); ++r) {
              StreamInfo info;
              info.config.expiresAtMs = exp;
              info.config.ttlSeconds = ttl;
              info.lastAccessMs = access;
              want.push_back(streamExpired(info, now) ? "1" : "0");
              StreamInfo there;
              if (!existing.empty()) parse(existing, &there.config);
              StreamConfig requested;
              parse(configs[r], &requested);
              want.push_back(
                  codeOf(decideCreate(existing.empty() ? nullptr : &there, requested)));
              args.insert(args.end(), {std::to_string(exp), std::to_string(ttl),
                                       std::to_string(access), std::to_string(now), existing,
                                       configs[r]});
            }
  std::vector<std::string> lua = evalRules(server, kLifeDriver, args);
  ASSERT_EQ(lua.size(), want.size()) << (lua.empty() ? "" : lua[0]);
  for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(lua[i], want[i]) << "answer " << i;
}

}  // namespace
}  // namespace rtdemo
