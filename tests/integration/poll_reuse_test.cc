// Long polls on a kept-alive connection, re-polling as clients do: the hub
// reads plain re-polls itself (service/protocol/poll_continuation.h) and must answer
// them exactly as the HTTP server would, with no message lost or repeated,
// the same headers, and every other request still going to the HTTP server.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>


#include "tests/support/http_client.h"
#include "tests/support/server_process.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

using Answer = HttpResponse;

// One client connection that sends polls and reads their answers in turn.
class PollConnection {
 public:
  explicit PollConnection(int port) : fd_(connectLoopback(port)) {}
  ~PollConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }

  bool send(const std::string& target, const std::string& extraHeaders = "") {
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extraHeaders + "\r\n";
    return ::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size());
  }

  Answer read(std::chrono::milliseconds limit = 10s) {
    return readResponseOn(fd_, &pending_, limit, &closed_);
  }

  // True when the server closes the connection within `limit`.
  bool closedWithin(std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!closed_ && std::chrono::steady_clock::now() < deadline) {
      read(std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now()));
    }
    return closed_;
  }

 private:
  int fd_;
  std::string pending_;
  bool closed_ = false;
};

// The data fields of a poll answer's messages, in order.
std::vector<std::string> dataOf(const std::string& body) {
  std::vector<std::string> out;
  size_t at = 0;
  while ((at = body.find("\"data\":\"", at)) != std::string::npos) {
    at += 8;
    out.push_back(body.substr(at, body.find('"', at) - at));
  }
  return out;
}

long long continued(int port) { return metric(port, "rtdemo_poll_continuations_total"); }

class PollReuseTest : public ::testing::Test {
 protected:
  void start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--backend", "memory", "-D", "rtdemo.poll.timeout.seconds=5"};
    args.insert(args.end(), extra.begin(), extra.end());
    server_ = std::make_unique<ServerProcess>(args);
    ASSERT_TRUE(server_->ready());
    port_ = server_->port();
  }
  std::string cursorOf(const std::string& channel) {
    return jsonField(httpGet(port_, "/poll?channel=" + channel + "&timeout=0").body, "last_id");
  }
  // Sends a poll and waits until the server holds it.
  void park(PollConnection& conn, const std::string& target, long long heldBefore = 0) {
    ASSERT_TRUE(conn.send(target));
    ASSERT_TRUE(waitUntil([&] { return openConnections(port_, "poll") > heldBefore; })) << target;
  }
  std::unique_ptr<ServerProcess> server_;
  int port_ = 0;
};

TEST_F(PollReuseTest, RePollsAreAnsweredWithoutLossWhetherTheMessageCameBeforeOrAfter) {
  start();
  std::string cursor = cursorOf("r");
  PollConnection conn(port_);
  ASSERT_TRUE(conn.ok());
  // The first poll goes through the HTTP server and parks in the hub.
  park(conn, "/poll?channel=r&since=" + urlEncode(cursor));
  std::string id = publish(port_, "r", "m0");
  Answer a = conn.read();
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(dataOf(a.body), std::vector<std::string>{"m0"});
  EXPECT_EQ(jsonField(a.body, "last_id"), id);
  EXPECT_EQ(a.header("connection"), "Keep-Alive");
  const std::string session = a.header("x-session-id");
  EXPECT_FALSE(session.empty()) << "a held answer carries the session id as an immediate one does";
  cursor = id;
  const long long before = continued(port_);

  for (int round = 1; round <= 6; ++round) {
    std::string data = "m" + std::to_string(round);
    if (round % 2 == 1) {
      // Published while the client is between two polls: the next poll
      // must get it at once.
      id = publish(port_, "r", data);
      ASSERT_TRUE(conn.send("/poll?channel=r&since=" + urlEncode(cursor)));
    } else {
      park(conn, "/poll?channel=r&since=" + urlEncode(cursor));
      id = publish(port_, "r", data);
    }
    a = conn.read();
    ASSERT_EQ(a.status, 200) << "round " << round;
    EXPECT_EQ(dataOf(a.body), std::vector<std::string>{data}) << a.body;
    EXPECT_EQ(jsonField(a.body, "last_id"), id);
    EXPECT_EQ(a.header("x-session-id"), session) << "one session per connection";
    cursor = id;
  }
  EXPECT_GE(continued(port_) - before, 6) << "the hub read the re-polls itself";
}

TEST_F(PollReuseTest, ARePollFromAnOlderIdGetsTheHistoryAfterIt) {
  start();
  std::string c0 = cursorOf("h");
  PollConnection conn(port_);
  park(conn, "/poll?channel=h&since=" + urlEncode(c0));
  std::string id1 = publish(port_, "h", "one");
  ASSERT_EQ(dataOf(conn.read().body), std::vector<std::string>{"one"});
  publish(port_, "h", "two");
  std::string id3 = publish(port_, "h", "three");
  // From before "one": the client lost an answer and asks again.
  ASSERT_TRUE(conn.send("/poll?channel=h&since=" + urlEncode(c0)));
  Answer a = conn.read();
  EXPECT_EQ(dataOf(a.body), (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_EQ(jsonField(a.body, "last_id"), id3);
  // And carries on live from there.
  park(conn, "/poll?channel=h&since=" + urlEncode(id3));
  publish(port_, "h", "four");
  EXPECT_EQ(dataOf(conn.read().body), std::vector<std::string>{"four"});
  (void)id1;
}

TEST_F(PollReuseTest, MoreThanABatchBetweenPollsComesInBatchesWithNoGap) {
  start({"-D", "rtdemo.poll.max-batch=5"});
  std::string cursor = cursorOf("b");
  PollConnection conn(port_);
  park(conn, "/poll?channel=b&since=" + urlEncode(cursor));
  publish(port_, "b", "x0");
  Answer a = conn.read();
  ASSERT_EQ(dataOf(a.body), std::vector<std::string>{"x0"});
  cursor = jsonField(a.body, "last_id");
  std::vector<std::string> sent;
  for (int i = 1; i <= 12; ++i) {
    sent.push_back("x" + std::to_string(i));
    publish(port_, "b", sent.back());
  }
  std::vector<std::string> got;
  for (int poll = 0; poll < 3; ++poll) {
    ASSERT_TRUE(conn.send("/poll?channel=b&since=" + urlEncode(cursor)));
    a = conn.read();
    ASSERT_EQ(a.status, 200);
    auto data = dataOf(a.body);
    EXPECT_LE(data.size(), 5u);
    got.insert(got.end(), data.begin(), data.end());
    cursor = jsonField(a.body, "last_id");
  }
  EXPECT_EQ(got, sent);
}

TEST_F(PollReuseTest, OtherRequestsOnTheConnectionGoToTheHttpServer) {
  start();
  std::string cursor = cursorOf("o");
  PollConnection conn(port_);
  park(conn, "/poll?channel=o&since=" + urlEncode(cursor));
  std::string id = publish(port_, "o", "first");
  ASSERT_EQ(conn.read().status, 200);
  const long long before = continued(port_);

  // A poll that asks not to wait: an empty answer at once, from the hub.
  ASSERT_TRUE(conn.send("/poll?channel=o&timeout=0&since=" + urlEncode(id)));
  Answer a = conn.read();
  ASSERT_EQ(a.status, 200);
  EXPECT_TRUE(dataOf(a.body).empty());
  EXPECT_EQ(jsonField(a.body, "last_id"), id);
  EXPECT_EQ(continued(port_) - before, 1);

  // Another channel, a bad request and another path: the HTTP server's.
  std::string other = cursorOf("o2");
  ASSERT_TRUE(conn.send("/poll?channel=o2&timeout=0&since=" + urlEncode(other)));
  EXPECT_EQ(conn.read().status, 200);
  ASSERT_TRUE(conn.send("/poll?channel=o&timeout=soon&since=" + urlEncode(id)));
  a = conn.read();
  EXPECT_EQ(a.status, 400);
  EXPECT_NE(a.body.find("timeout"), std::string::npos) << a.body;
}

TEST_F(PollReuseTest, HealthCheckAfterAHeldPollIsServed) {
  start();
  std::string cursor = cursorOf("hc");
  PollConnection conn(port_);
  park(conn, "/poll?channel=hc&since=" + urlEncode(cursor));
  publish(port_, "hc", "x");
  ASSERT_EQ(conn.read().status, 200);
  ASSERT_TRUE(conn.send("/healthz"));
  EXPECT_EQ(conn.read().status, 200);
}

TEST_F(PollReuseTest, HeldAnswersCarryCorsHeadersAndAnotherOriginIsCheckedAgain) {
  start({"-D", "rtdemo.cors.origins=https://app.example"});
  std::string cursor = cursorOf("x");
  PollConnection conn(port_);
  const std::string origin = "Origin: https://app.example\r\n";
  ASSERT_TRUE(conn.send("/poll?channel=x&since=" + urlEncode(cursor), origin));
  ASSERT_TRUE(waitUntil([&] { return openConnections(port_, "poll") > 0; }));
  std::string id = publish(port_, "x", "hello");
  Answer a = conn.read();
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(a.header("access-control-allow-origin"), "https://app.example")
      << "a cross-origin page can read an answer the hub wrote";
  // The re-poll from the same origin: answered by the hub, same headers.
  ASSERT_TRUE(conn.send("/poll?channel=x&since=" + urlEncode(id), origin));
  ASSERT_TRUE(waitUntil([&] { return openConnections(port_, "poll") > 0; }));
  id = publish(port_, "x", "again");
  a = conn.read();
  EXPECT_EQ(dataOf(a.body), std::vector<std::string>{"again"});
  EXPECT_EQ(a.header("access-control-allow-origin"), "https://app.example");
  // An unlisted origin on the same connection does not inherit the grant.
  ASSERT_TRUE(conn.send("/poll?channel=x&timeout=0&since=" + urlEncode(id),
                        "Origin: https://evil.example\r\n"));
  a = conn.read();
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.header("access-control-allow-origin"), "");
}

TEST_F(PollReuseTest, ConnectionCloseOnARePollEndsTheConnectionAfterItsAnswer) {
  start();
  std::string cursor = cursorOf("cc");
  PollConnection conn(port_);
  park(conn, "/poll?channel=cc&since=" + urlEncode(cursor));
  std::string id = publish(port_, "cc", "a");
  ASSERT_EQ(conn.read().status, 200);
  ASSERT_TRUE(conn.send("/poll?channel=cc&since=" + urlEncode(id), "Connection: close\r\n"));
  ASSERT_TRUE(waitUntil([&] { return openConnections(port_, "poll") > 0; }));
  publish(port_, "cc", "b");
  Answer a = conn.read();
  EXPECT_EQ(dataOf(a.body), std::vector<std::string>{"b"});
  EXPECT_EQ(a.header("connection"), "close");
  EXPECT_TRUE(conn.closedWithin(5s));
}

TEST_F(PollReuseTest, PipelinedRePollIsAnsweredAfterTheFirst) {
  start();
  std::string cursor = cursorOf("pl");
  PollConnection conn(port_);
  park(conn, "/poll?channel=pl&since=" + urlEncode(cursor));
  // The next request arrives while the first is still parked.
  ASSERT_TRUE(conn.send("/poll?channel=pl&timeout=0&since=" + urlEncode(cursor)));
  std::string id = publish(port_, "pl", "p1");
  Answer first = conn.read();
  EXPECT_EQ(dataOf(first.body), std::vector<std::string>{"p1"});
  // The second asked from the old cursor, so it gets p1 again, from history.
  Answer second = conn.read();
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(dataOf(second.body), std::vector<std::string>{"p1"});
  EXPECT_EQ(jsonField(second.body, "last_id"), id);
}

}  // namespace
}  // namespace rtdemo
