// Chaos on Redis (chaos_harness.h says what runs and what is asserted):
// rtdemo SIGKILLed 5 times under load and redis-server SIGKILLed twice
// between them, each restarted where it was; Redis keeps its AOF with
// appendfsync always, so whatever it acknowledged survives its own crash.
#include "tests/support/chaos_harness.h"

namespace rtdemo {
namespace {

TEST_F(ChaosTest, RedisKilledTwiceAndRtdemoFiveTimesLosesAndDoublesNothing) {
  redis_ = std::make_unique<RedisServer>("always");
  ASSERT_TRUE(redis_->running());
  args_ = {"--backend", "redis",
           "-D", "rtdemo.redis.port=" + std::to_string(redis_->port()),
           "-D", "rtdemo.redis.prefix=chaos:",
           "-D", "rtdemo.redis.timeout.ms=1000"};
  for (const std::string& a : commonArgs()) args_.push_back(a);
  run({"rtdemo", "redis", "rtdemo", "rtdemo", "redis", "rtdemo", "rtdemo"});
}

}  // namespace
}  // namespace rtdemo
