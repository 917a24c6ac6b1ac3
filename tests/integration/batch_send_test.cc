// Batch publish on the real build/rtdemo (issue 21, docs/protocol.md "Batch
// publish"): a JSON array or NDJSON body of POST /send is stored in order
// in one commit and answered with the ids in order; one bad element, or a
// batch over the limits, refuses the whole batch and stores nothing. Run on
// memory and SQLite, whose batch paths differ (one lock, one COMMIT).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "Poco/JSON/Array.h"
#include "Poco/JSON/Object.h"
#include "Poco/JSON/Parser.h"
#include "tests/support/http_client.h"
#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"

namespace rtdemo {
namespace {

using namespace std::chrono_literals;

struct Stored {
  std::string id, data;
};

// The ids of a batch answer {"messages":[{"id","channel"},...]}, in order.
std::vector<std::string> batchIds(const std::string& body) {
  std::vector<std::string> ids;
  Poco::JSON::Object::Ptr root =
      Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
  Poco::JSON::Array::Ptr messages = root->getArray("messages");
  if (!messages) return ids;
  for (size_t i = 0; i < messages->size(); i++)
    ids.push_back(messages->getObject(static_cast<unsigned>(i))->getValue<std::string>("id"));
  return ids;
}

// Everything `channel` holds, oldest first, read by a poll from the start.
std::vector<Stored> history(int port, const std::string& channel) {
  std::vector<Stored> out;
  HttpResponse r = httpGet(port, "/poll?channel=" + channel + "&since=0&timeout=0");
  EXPECT_EQ(r.status, 200) << r.body;
  if (r.status != 200) return out;
  Poco::JSON::Object::Ptr root =
      Poco::JSON::Parser().parse(r.body).extract<Poco::JSON::Object::Ptr>();
  Poco::JSON::Array::Ptr messages = root->getArray("messages");
  for (size_t i = 0; messages && i < messages->size(); i++) {
    Poco::JSON::Object::Ptr m = messages->getObject(static_cast<unsigned>(i));
    out.push_back({m->getValue<std::string>("id"), m->getValue<std::string>("data")});
  }
  return out;
}

class BatchSend : public ::testing::TestWithParam<std::string> {
 protected:
  std::vector<std::string> args(std::vector<std::string> extra = {}) {
    std::vector<std::string> a = {"--backend", GetParam(), "-D",
                                  "rtdemo.sqlite.path=" + dir_.file("history.db")};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  TempDir dir_;
};

TEST_P(BatchSend, JsonArrayIsAnsweredAndDeliveredInOrder) {
  ServerProcess server(args());
  ASSERT_TRUE(server.ready()) << server.stderrText();
  const int port = server.port();
  SseClient sse(port, "/events?channel=b");
  ASSERT_EQ(sse.status(), 200);
  ASSERT_TRUE(waitUntil([&] { return openConnections(port, "sse") == 1; }));

  std::string body = "[";
  for (int i = 0; i < 50; i++)
    body += std::string(i ? "," : "") + "{\"channel\":\"b\",\"data\":\"m" + std::to_string(i) + "\"}";
  body += "]";
  HttpResponse r = httpRequest(port, "POST", "/send", body, "application/json");
  ASSERT_EQ(r.status, 201) << r.body;
  std::vector<std::string> ids = batchIds(r.body);
  ASSERT_EQ(ids.size(), 50u) << r.body;

  std::vector<SseEvent> got = sse.messages(50, 20s);
  ASSERT_EQ(got.size(), 50u);
  std::vector<Stored> stored = history(port, "b");
  ASSERT_EQ(stored.size(), 50u);
  for (size_t i = 0; i < 50; i++) {
    EXPECT_EQ(got[i].id, ids[i]) << i;
    EXPECT_EQ(got[i].data, "m" + std::to_string(i)) << i;
    EXPECT_EQ(stored[i].id, ids[i]) << i;
  }
}

TEST_P(BatchSend, NdjsonIsOneMessagePerLine) {
  ServerProcess server(args());
  ASSERT_TRUE(server.ready()) << server.stderrText();
  const int port = server.port();
  HttpResponse r = httpRequest(port, "POST", "/send",
                               "{\"channel\":\"n\",\"data\":\"one\"}\n\n"
                               "{\"channel\":\"n\",\"data\":\"two\"}\n",
                               "application/x-ndjson");
  ASSERT_EQ(r.status, 201) << r.body;
  std::vector<std::string> ids = batchIds(r.body);
  std::vector<Stored> stored = history(port, "n");
  ASSERT_EQ(ids.size(), 2u);
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[0].data, "one");
  EXPECT_EQ(stored[1].data, "two");
  EXPECT_EQ(stored[0].id, ids[0]);
  EXPECT_EQ(stored[1].id, ids[1]);
}

TEST_P(BatchSend, OneBadElementRefusesTheWholeBatch) {
  ServerProcess server(args());
  ASSERT_TRUE(server.ready()) << server.stderrText();
  const int port = server.port();
  HttpResponse r = httpRequest(port, "POST", "/send",
                               "[{\"channel\":\"w\",\"data\":\"ok\"},"
                               "{\"channel\":\"w\",\"data\":\"ok too\"},"
                               "{\"channel\":\"bad channel!\",\"data\":\"no\"}]",
                               "application/json");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("\"index\":2"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"error\""), std::string::npos) << r.body;
  // Nothing of it stored: the next message is the channel's first.
  std::string marker = publish(port, "w", "marker");
  std::vector<Stored> stored = history(port, "w");
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].id, marker);

  HttpResponse empty = httpRequest(port, "POST", "/send", "[]", "application/json");
  EXPECT_EQ(empty.status, 400) << empty.body;
}

TEST_P(BatchSend, OverTheLimitsIs413AndStoresNothing) {
  ServerProcess server(args({"-D", "rtdemo.send.batch.max-messages=3", "-D",
                             "rtdemo.send.batch.max-bytes=400"}));
  ASSERT_TRUE(server.ready()) << server.stderrText();
  const int port = server.port();
  HttpResponse many = httpRequest(port, "POST", "/send",
                                  "[{\"channel\":\"l\",\"data\":\"1\"},{\"channel\":\"l\",\"data\":\"2\"},"
                                  "{\"channel\":\"l\",\"data\":\"3\"},{\"channel\":\"l\",\"data\":\"4\"}]",
                                  "application/json");
  EXPECT_EQ(many.status, 413) << many.body;
  EXPECT_NE(many.body.find("rtdemo.send.batch.max-messages"), std::string::npos) << many.body;
  const std::string big(300, 'x');
  HttpResponse heavy = httpRequest(port, "POST", "/send",
                                   "[{\"channel\":\"l\",\"data\":\"" + big + "\"},{\"channel\":\"l\",\"data\":\"" +
                                       big + "\"}]",
                                   "application/json");
  EXPECT_EQ(heavy.status, 413) << heavy.body;
  EXPECT_NE(heavy.body.find("\"index\":1"), std::string::npos) << heavy.body;
  EXPECT_TRUE(history(port, "l").empty());
  // Under both limits the same server takes a batch.
  EXPECT_EQ(httpRequest(port, "POST", "/send", "[{\"channel\":\"l\",\"data\":\"1\"}]", "application/json")
                .status,
            201);
}

INSTANTIATE_TEST_SUITE_P(Backends, BatchSend, ::testing::Values("memory", "sqlite"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace rtdemo
