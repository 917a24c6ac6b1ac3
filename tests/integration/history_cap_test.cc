// The global history cap (storage/history_cap.h) on the real build/rtdemo:
// its keys are read and checked, one address publishing to ever new channel
// names keeps history under the cap while every publish is still answered
// 201, the evictions are counted at /metrics, and a client resuming in an
// evicted channel gets a `reset` while one that had seen it all does not.
// The policy itself is tested on every backend by the Broker contract
// (tests/broker/broker_contract.cc); this is the service around it.
#include <gtest/gtest.h>

#include <string>

#include "tests/support/http_client.h"
#include "tests/support/server_process.h"

namespace rtdemo {
namespace {

TEST(HistoryCap, ManyChannelsFromOneClientStayUnderTheCapAndEveryPublishIsAccepted) {
  ServerProcess server({"--backend", "memory", "-D", "rtdemo.history.max-channels=3", "-D",
                        "rtdemo.history.max-bytes=1000000"});
  ASSERT_TRUE(server.ready());
  const int port = server.port();
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    std::string id = publish(port, "flood" + std::to_string(i), "x");
    ASSERT_FALSE(id.empty()) << "publish " << i << " was refused";
    ids.push_back(id);
  }
  EXPECT_EQ(metric(port, "rtdemo_history_channels"), 3);
  EXPECT_EQ(metric(port, "rtdemo_history_retained_bytes"), 3 * (1 + 64));
  EXPECT_EQ(metric(port, "rtdemo_history_max_channels"), 3);
  EXPECT_EQ(metric(port, "rtdemo_history_max_bytes"), 1000000);
  EXPECT_EQ(metric(port, "rtdemo_history_evicted_channels_total"), 17);
  EXPECT_EQ(metric(port, "rtdemo_history_evicted_messages_total"), 17);

  // From before flood0's message: it was evicted, so a reset says so.
  const std::string epoch = ids[0].substr(0, ids[0].find('-'));
  HttpResponse before =
      httpGet(port, "/poll?channel=flood0&timeout=1&since=" + urlEncode(epoch + "-0"));
  EXPECT_EQ(before.status, 200);
  EXPECT_NE(before.body.find("\"reset\":true"), std::string::npos) << before.body;
  // A live-only client of the forgotten channel gets a cursor from which it
  // resumes without a reset once the channel is back.
  HttpResponse live = httpGet(port, "/poll?channel=flood0&timeout=1");
  ASSERT_EQ(live.status, 200);
  std::string cursor = jsonField(live.body, "last_id");
  ASSERT_FALSE(cursor.empty()) << live.body;
  std::string again = publish(port, "flood0", "again");
  HttpResponse resumed = httpGet(port, "/poll?channel=flood0&timeout=1&since=" + urlEncode(cursor));
  EXPECT_NE(resumed.body.find(again), std::string::npos) << resumed.body;
  EXPECT_EQ(resumed.body.find("\"reset\""), std::string::npos) << resumed.body;
  // The channels published last kept their history (from the epoch's start
  // a reset is allowed: history cannot tell a new channel from a forgotten
  // one, see storage/history_cap.h).
  HttpResponse kept = httpGet(port, "/poll?channel=flood19&timeout=1&since=" + urlEncode(epoch + "-0"));
  EXPECT_NE(kept.body.find(ids[19]), std::string::npos) << kept.body;
}

TEST(HistoryCap, BadCapValuesStopTheStartWithOneLine) {
  for (const char* arg : {"rtdemo.history.max-bytes=0", "rtdemo.history.max-channels=0",
                          "rtdemo.history.max-bytes=lots"}) {
    ServerProcess::Exit exit = ServerProcess::runToExit({"--backend", "memory", "-D", arg});
    EXPECT_NE(exit.code, 0) << arg;
    std::string key = std::string(arg).substr(0, std::string(arg).find('='));
    EXPECT_NE(exit.stderrText.find(key), std::string::npos) << exit.stderrText;
    EXPECT_EQ(std::count(exit.stderrText.begin(), exit.stderrText.end(), '\n'), 1)
        << exit.stderrText;
  }
}

}  // namespace
}  // namespace rtdemo
