// Chaos on SQLite (chaos_harness.h says what runs and what is asserted):
// rtdemo SIGKILLed 5 times under load, restarted on the same database file
// each time, with synchronous=full.
#include <cstdlib>

#include "tests/support/chaos_harness.h"

namespace rtdemo {
namespace {

TEST_F(ChaosTest, SqliteKilledFiveTimesLosesAndDoublesNothing) {
  char dir[] = "/tmp/rtdemo-chaos-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  args_ = {"--backend", "sqlite", "-D", std::string("rtdemo.sqlite.path=") + dir + "/chaos.db",
           "-D", "rtdemo.sqlite.synchronous=full"};
  for (const std::string& a : commonArgs()) args_.push_back(a);
  run({"rtdemo", "rtdemo", "rtdemo", "rtdemo", "rtdemo"});
  TearDown();  // the clients stop before the file goes
  std::system(("rm -rf " + std::string(dir)).c_str());
}

}  // namespace
}  // namespace rtdemo
