// rtdemo where io_uring is forbidden, as Docker's default seccomp profile
// and systemd's @system-service filter forbid it: io_uring_setup() fails
// with EPERM. Each test first installs that filter on this test process
// (libseccomp); rtdemo, started from here, inherits it. "auto" must say so
// in one log line and still deliver everything with one send() per socket;
// "on" must refuse to start, naming the reason.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/support/forbid_io_uring.h"
#include "tests/support/http_client.h"
#include "tests/support/server_process.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

// Installs the filter on this test process once; rtdemo, started from
// here, inherits it. It cannot be removed, which is fine: every test here
// wants it.
void forbidIoUringHere() {
  static bool done = false;
  if (done) return;
  std::string error;
  ASSERT_TRUE(forbidIoUring(&error)) << error;
  done = true;
}

TEST(IoUringForbidden, OnRefusesToStartAndSaysWhy) {
  forbidIoUringHere();
  ServerProcess::Exit exit = ServerProcess::runToExit(
      {"--backend", "memory", "--port", "0", "-D",
       "rtdemo.hub.io-uring=on"});
  EXPECT_EQ(exit.code, 69) << exit.stderrText;  // EX_UNAVAILABLE
  EXPECT_NE(exit.stderrText.find("rtdemo.hub.io-uring is on but io_uring is unavailable: "
                                 "Operation not permitted"),
            std::string::npos)
      << exit.stderrText;
}

TEST(IoUringForbidden, AutoFallsBackToSendAndDeliversEverything) {
  forbidIoUringHere();
  ServerProcess server({"--backend", "memory", "-D", "rtdemo.hub.io-uring=auto"});
  ASSERT_TRUE(server.ready());
  const int port = server.port();
  // The port accepts before the hub starts, so the line may follow a moment
  // after ready().
  EXPECT_TRUE(waitUntil([&] {
    return server.stderrText().find("io_uring unavailable (Operation not permitted); "
                                    "fan-out uses one send() per socket") != std::string::npos;
  })) << server.stderrText();
  EXPECT_EQ(metric(port, "rtdemo_hub_io_uring_loops"), 0);

  std::vector<std::unique_ptr<SseClient>> subs;
  for (int i = 0; i < 4; ++i) {
    subs.push_back(std::make_unique<SseClient>(port, "/events?channel=fallback"));
    ASSERT_EQ(subs.back()->status(), 200);
  }
  ASSERT_TRUE(waitUntil([&] { return openConnections(port, "sse") == 4; }));
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(publish(port, "fallback", "m" + std::to_string(i)));
  for (auto& sub : subs) {
    auto got = sub->messages(3);
    ASSERT_EQ(got.size(), 3u);
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(got[i].id, ids[i]);
      EXPECT_EQ(got[i].data, "m" + std::to_string(i));
    }
  }
}

}  // namespace
}  // namespace rtdemo
