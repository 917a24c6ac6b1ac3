// The Durable Streams parsers and encoders (service/streams/): offsets,
// headers, JSON-mode bodies, Stream-Cursor and the SSE events, each refusal
// with its reason.
#include <gtest/gtest.h>

#include "service/streams/json_messages.h"
#include "service/streams/offset.h"
#include "service/streams/stream_cursor.h"
#include "service/streams/stream_headers.h"
#include "service/streams/stream_sse.h"

namespace rtdemo {
namespace {

using Strings = std::vector<std::string>;

TEST(StreamOffset, RendersIdsSoTheySortInStreamOrder) {
  MessageId a{"k3v9q2", 42, 0}, b{"k3v9q2", 255, 0}, c{"k3v9q2", 256, 7};
  EXPECT_EQ(renderOffset(a), "k3v9q2_000000000000002a_0000000000000000");
  EXPECT_LT(renderOffset(a), renderOffset(b));
  EXPECT_LT(renderOffset(b), renderOffset(c));
  MessageId big{"zzzzzzzzzzzzzzzz", ~uint64_t(0), ~uint64_t(0)};
  EXPECT_EQ(renderOffset(big).size(), kMaxOffsetLength);
  for (const MessageId& id : {a, b, c, big}) {
    ParsedOffset p = parseOffset(renderOffset(id));
    ASSERT_EQ(p.kind, ParsedOffset::kId) << p.reason;
    EXPECT_EQ(p.id, id);
  }
}

TEST(StreamOffset, SentinelsAndTheReferenceStart) {
  EXPECT_EQ(parseOffset("-1").kind, ParsedOffset::kStart);
  EXPECT_EQ(parseOffset("0000000000000000_0000000000000000").kind, ParsedOffset::kStart);
  EXPECT_EQ(parseOffset("now").kind, ParsedOffset::kNow);
}

TEST(StreamOffset, AnythingElseIsMalformed) {
  for (const char* bad :
       {"", "e_1_2", "e_000000000000002A_0000000000000000", "E_000000000000002a_0000000000000000",
        "e_000000000000002a_0000000000000000_", "e_000000000000002a", "_000000000000002a_0000000000000000",
        "e,x", "e 1", "../x", "e/0", "9999999999999999_9999999999999999", "-2", "NOW",
        "e_000000000000002a_000000000000000\n"}) {
    ParsedOffset p = parseOffset(bad);
    EXPECT_EQ(p.kind, ParsedOffset::kMalformed) << bad;
    EXPECT_FALSE(p.reason.empty()) << bad;
  }
  EXPECT_EQ(parseOffset(std::string(51, 'a')).reason, "offset too long");
}

TEST(StreamHeaders, TtlIsCanonicalDecimal) {
  int64_t s = -1;
  EXPECT_EQ(parseTtl("3600", &s), "");
  EXPECT_EQ(s, 3600);
  EXPECT_EQ(parseTtl("0", &s), "");
  EXPECT_EQ(s, 0);
  for (const char* bad : {"", "+3600", "03600", "3600.0", "3.6e3", "-1", " 1", "1 ", "abc",
                          "99999999999999999999"}) {
    EXPECT_NE(parseTtl(bad, &s), "") << bad;
  }
}

TEST(StreamHeaders, ExpiresAtIsRfc3339) {
  int64_t ms = 0;
  EXPECT_EQ(parseRfc3339("1970-01-01T00:00:00Z", &ms), "");
  EXPECT_EQ(ms, 0);
  EXPECT_EQ(parseRfc3339("2026-01-24T10:00:00.123Z", &ms), "");
  EXPECT_EQ(formatRfc3339(ms), "2026-01-24T10:00:00.123Z");
  int64_t withOffset = 0;
  EXPECT_EQ(parseRfc3339("2026-01-24T12:30:00.123+02:30", &withOffset), "");
  EXPECT_EQ(withOffset, ms);
  EXPECT_EQ(parseRfc3339("2024-02-29T23:59:60.5-00:00", &ms), "");
  for (const char* bad : {"", "2026-01-24", "2026-01-24 10:00:00Z", "2026-13-01T00:00:00Z",
                          "2025-02-29T00:00:00Z", "2026-01-24T24:00:00Z", "2026-01-24T10:00:00",
                          "2026-01-24T10:00:00.Z", "2026-01-24T10:00:00+0200", "tomorrow",
                          "2026-01-24T10:00:00Zjunk"}) {
    EXPECT_NE(parseRfc3339(bad, &ms), "") << bad;
  }
}

TEST(StreamHeaders, ProducerHeadersComeTogetherAndInRange) {
  std::optional<ProducerClaim> claim;
  EXPECT_EQ(parseProducer(std::nullopt, std::nullopt, std::nullopt, &claim), "");
  EXPECT_FALSE(claim);
  EXPECT_EQ(parseProducer(std::string("p"), std::string("0"), std::string("9007199254740991"), &claim), "");
  ASSERT_TRUE(claim);
  EXPECT_EQ(claim->seq, kMaxProducerNumber);
  EXPECT_NE(parseProducer(std::string("p"), std::string("0"), std::nullopt, &claim), "");
  EXPECT_FALSE(claim);
  EXPECT_NE(parseProducer(std::string(""), std::string("0"), std::string("0"), &claim), "");
  EXPECT_NE(parseProducer(std::string("p"), std::string("-1"), std::string("0"), &claim), "");
  EXPECT_NE(parseProducer(std::string("p"), std::string("0"), std::string("9007199254740992"), &claim), "");
  EXPECT_NE(parseProducer(std::string("p"), std::string("1.5"), std::string("0"), &claim), "");
}

TEST(StreamHeaders, ContentTypesAndFlags) {
  EXPECT_EQ(normaliseContentType("Application/JSON; charset=utf-8"), "application/json");
  EXPECT_EQ(normaliseContentType("text/plain"), "text/plain");
  EXPECT_EQ(normaliseContentType("nonsense"), "");
  EXPECT_EQ(normaliseContentType("/x"), "");
  EXPECT_TRUE(isTextContentType("text/csv"));
  EXPECT_TRUE(isTextContentType("application/json"));
  EXPECT_FALSE(isTextContentType("application/octet-stream"));
  bool flag = true;
  EXPECT_EQ(parseFlag(std::nullopt, &flag), "");
  EXPECT_FALSE(flag);
  EXPECT_EQ(parseFlag(std::string("TRUE"), &flag), "");
  EXPECT_TRUE(flag);
  EXPECT_NE(parseFlag(std::string("yes"), &flag), "");
}

TEST(StreamJsonBody, FlattensOneLevelAndKeepsTheBytes) {
  EXPECT_EQ(splitJsonBody(R"({"event": "created"})", false).messages,
            Strings({R"({"event": "created"})"}));
  EXPECT_EQ(splitJsonBody(R"( [{"event":"a"} , {"event":"b"}] )", false).messages,
            Strings({R"({"event":"a"})", R"({"event":"b"})"}));
  EXPECT_EQ(splitJsonBody("[[1,2], [3,4]]", false).messages, Strings({"[1,2]", "[3,4]"}));
  EXPECT_EQ(splitJsonBody("[[[1,2,3]]]", false).messages, Strings({"[[1,2,3]]"}));
  EXPECT_EQ(splitJsonBody("1.50e+3", false).messages, Strings({"1.50e+3"}));
  EXPECT_EQ(splitJsonBody(R"(["\u00e9\n", null, true, -0])", false).messages,
            Strings({R"("\u00e9\n")", "null", "true", "-0"}));
  JsonMessages empty = splitJsonBody("[ ]", true);
  EXPECT_EQ(empty.error, "");
  EXPECT_TRUE(empty.messages.empty());
}

TEST(StreamJsonBody, RefusesWhatIsNotOneJsonValue) {
  for (const char* bad : {"", "  ", "[]", "[1,]", "{\"a\":1,}", "01", "1 2", "[1] [2]", "'x'",
                          "{a:1}", "\"\x01\"", "\"\\x\"", "[1", "nul", "NaN", "[1}", "\"\\u12\""}) {
    JsonMessages m = splitJsonBody(bad, false);
    EXPECT_NE(m.error, "") << bad;
    EXPECT_TRUE(m.messages.empty()) << bad;
  }
  EXPECT_NE(splitJsonBody("\"\xff\"", false).error, "");
  EXPECT_NE(splitJsonBody(std::string(300, '[') + std::string(300, ']'), false).error, "");
  EXPECT_EQ(splitJsonBody(std::string(200, '[') + std::string(200, ']'), false).error, "");
}

TEST(StreamJsonBody, JoinIsAnArray) {
  EXPECT_EQ(joinJsonMessages({}), "[]");
  EXPECT_EQ(joinJsonMessages({"1", "{\"a\":2}"}), "[1,{\"a\":2}]");
}

TEST(StreamCursor, IsTheIntervalNumberAndMovesPastAClientAtOrAhead) {
  const int64_t t = kCursorEpochMs + 100 * kCursorIntervalMs + 5;
  EXPECT_EQ(nextStreamCursor(t, "", 7), "100");
  EXPECT_EQ(nextStreamCursor(t, "99", 7), "100");     // behind: now
  EXPECT_EQ(nextStreamCursor(t, "100", 7), "107");    // at now: past it
  EXPECT_EQ(nextStreamCursor(t, "500", 3), "503");    // ahead: past it
  EXPECT_EQ(nextStreamCursor(t, "abc", 7), "100");    // not a number: ignored
  EXPECT_EQ(nextStreamCursor(t, "-5", 7), "100");
  EXPECT_EQ(nextStreamCursor(0, "", 7), "0");         // before the cursor epoch
}

TEST(StreamSse, EveryLineOfAPayloadIsOneDataLineSoNoEventCanBeForged) {
  EXPECT_EQ(encodeStreamDataEvent("hello", false), "event: data\ndata:hello\n\n");
  // LF, CRLF and a lone CR each end a line; none survives into the output
  // except as the line structure, so "\n\nevent: control" stays data.
  EXPECT_EQ(encodeStreamDataEvent("a\nb\r\nc\rd", false),
            "event: data\ndata:a\ndata:b\ndata:c\ndata:d\n\n");
  EXPECT_EQ(encodeStreamDataEvent("x\n\nevent: control\ndata:{}", false),
            "event: data\ndata:x\ndata:\ndata:event: control\ndata:data:{}\n\n");
  // A leading space survives the reader's stripping of one.
  EXPECT_EQ(encodeStreamDataEvent(" sp", false), "event: data\ndata:  sp\n\n");
  EXPECT_EQ(encodeStreamDataEvent("", false), "event: data\ndata:\n\n");
  EXPECT_EQ(encodeStreamDataEvent(std::string("\x00\xff\n", 3), true),
            "event: data\ndata:AP8K\n\n");
}

TEST(StreamSse, ControlEventsCarryTheOffsetAndLeaveTheCursorOutWhenClosed) {
  StreamControl c;
  c.nextOffset = "e_1";
  c.cursor = "42";
  EXPECT_EQ(encodeStreamControlEvent(c),
            "event: control\ndata:{\"streamNextOffset\":\"e_1\",\"streamCursor\":\"42\"}\n\n");
  c.upToDate = true;
  c.closed = true;
  EXPECT_EQ(encodeStreamControlEvent(c),
            "event: control\ndata:{\"streamNextOffset\":\"e_1\",\"upToDate\":true,"
            "\"streamClosed\":true}\n\n");
}

}  // namespace
}  // namespace rtdemo
