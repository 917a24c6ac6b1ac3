// The SSE encoder against the WHATWG parsing rules: whatever bytes a payload
// holds, a browser must see exactly one event with exactly that data.
#include "service/protocol/sse_encoder.h"

#include <gtest/gtest.h>

#include "tests/support/sse_parser.h"

#include <map>
#include <vector>

namespace rtdemo {
namespace {

std::vector<SseEvent> parseStream(const std::string& s) { return parseSse(s); }

MessagePtr msg(const std::string& data, const std::string& event = "") {
  return makeMessage("c", MessageId{"ep", 7, 0}, event, data, 1);
}

TEST(SseEncoder, PlainMessage) {
  EXPECT_EQ(sse::encodeMessage(*msg("hello")), "id: ep-7\ndata: hello\n\n");
  EXPECT_EQ(sse::encodeMessage(*msg("hi", "greet")), "id: ep-7\nevent: greet\ndata: hi\n\n");
}

TEST(SseEncoder, LineBreaksBecomeSeparateDataLines) {
  EXPECT_EQ(sse::encodeMessage(*msg("a\nb")), "id: ep-7\ndata: a\ndata: b\n\n");
  EXPECT_EQ(sse::encodeMessage(*msg("a\r\nb")), "id: ep-7\ndata: a\ndata: b\n\n");
  EXPECT_EQ(sse::encodeMessage(*msg("a\rb")), "id: ep-7\ndata: a\ndata: b\n\n");
  EXPECT_EQ(sse::encodeMessage(*msg("a\n\nb")), "id: ep-7\ndata: a\ndata: \ndata: b\n\n");
  EXPECT_EQ(sse::encodeMessage(*msg("end\n")), "id: ep-7\ndata: end\ndata: \n\n");
  EXPECT_EQ(sse::encodeMessage(*msg("")), "id: ep-7\ndata: \n\n");
}

TEST(SseEncoder, InjectionAttemptsStayInsideOneEvent) {
  const std::vector<std::string> payloads = {
      "x\n\nid: 999\nevent: reset\ndata: owned",
      "x\r\rid: 999\r\revent: evil",
      "x\r\n\r\nretry: 1\r\n\r\ndata: two",
      "id: 5",
      "data: nested",
      ": comment\n",
      std::string("nul\0inside", 10),
      "\n\n\n",
      "\r",
      "h\xC3\xA9llo \xE2\x99\xA5",
  };
  for (const std::string& p : payloads) {
    std::string stream = sse::encodeMessage(*msg(p, "kind"));
    auto events = parseStream(stream);
    ASSERT_EQ(events.size(), 1u) << p;
    EXPECT_EQ(events[0].id, "ep-7");
    EXPECT_EQ(events[0].type, "kind");
    // Browsers turn every CR, LF and CRLF into LF.
    std::string expected;
    for (size_t i = 0; i < p.size(); ++i) {
      if (p[i] == '\r') {
        expected += '\n';
        if (i + 1 < p.size() && p[i + 1] == '\n') ++i;
      } else {
        expected += p[i];
      }
    }
    EXPECT_EQ(events[0].data, expected) << p;
    // No line of the stream may start a field the payload did not own.
    EXPECT_EQ(stream.find("\nretry:"), std::string::npos);
  }
}

TEST(SseEncoder, VeryLongLinesAreKeptWhole) {
  std::string longLine(200000, 'a');
  auto events = parseStream(sse::encodeMessage(*msg(longLine)));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, longLine);
}

TEST(SseEncoder, IdOrEventWithLineBreakOrNulIsNeverEmitted) {
  Message bad = *msg("d");
  bad.idText = "ep-1\nevent: evil";
  bad.event = std::string("a\0b", 3);
  std::string stream = sse::encodeMessage(bad);
  EXPECT_EQ(stream.find("evil"), std::string::npos);
  EXPECT_EQ(stream.find('\0'), std::string::npos);
  auto events = parseStream(stream);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "d");
}

TEST(SseEncoder, PreambleHeartbeatAndReset) {
  EXPECT_EQ(sse::encodePreamble(1500), ": rtdemo\nretry: 1500\n\n");
  auto hb = parseStream(sse::encodeHeartbeat(42));
  ASSERT_EQ(hb.size(), 1u);
  EXPECT_EQ(hb[0].type, "heartbeat");
  EXPECT_EQ(hb[0].data, "42");
  EXPECT_EQ(hb[0].id, "");
  auto reset = parseStream(sse::encodeReset("ep-0", "ep-3", "trimmed"));
  ASSERT_EQ(reset.size(), 1u);
  EXPECT_EQ(reset[0].type, "reset");
  EXPECT_EQ(reset[0].id, "ep-0");
  EXPECT_EQ(reset[0].data, "{\"oldest\":\"ep-3\",\"reason\":\"trimmed\"}");
  EXPECT_EQ(parseStream(sse::encodeReset("ep-0", "", "gone"))[0].data,
            "{\"oldest\":null,\"reason\":\"gone\"}");
}

}  // namespace
}  // namespace rtdemo
