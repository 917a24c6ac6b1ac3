// The WebSocket JSON protocol (service/protocol/ws_protocol.h): commands parsed and
// refused with a reason, server messages encoded, and answers that quote a
// client always valid UTF-8 (issue 18: an error text must never split a
// character or carry a lone surrogate). Also the UTF-8 helpers in
// service/protocol/validation.h those answers rely on.
#include "service/protocol/ws_protocol.h"

#include <gtest/gtest.h>

#include "service/protocol/validation.h"
#include "service/protocol/ws_frame.h"

namespace rtdemo {
namespace {

TEST(WsProtocol, ParsesCommands) {
  wsproto::Command c;
  std::string err;
  ASSERT_TRUE(wsproto::parseCommand(R"({"type":"subscribe","channel":"a","last_id":"e-1","ref":"r1"})", 100, &c, &err)) << err;
  EXPECT_EQ(c.type, wsproto::Command::Type::kSubscribe);
  EXPECT_EQ(c.channel, "a");
  EXPECT_EQ(c.lastId, "e-1");
  EXPECT_EQ(c.ref, "r1");
  wsproto::Command p;
  ASSERT_TRUE(wsproto::parseCommand(R"({"type":"publish","channel":"a","event":"chat","data":"hi\nthere"})", 100, &p, &err));
  EXPECT_EQ(p.data, "hi\nthere");
  EXPECT_EQ(p.event, "chat");
  wsproto::Command u;
  ASSERT_TRUE(wsproto::parseCommand(R"({"type":"unsubscribe","channel":"a"})", 100, &u, &err));
  EXPECT_EQ(u.type, wsproto::Command::Type::kUnsubscribe);
}

TEST(WsProtocol, RefusesBadCommandsWithAReason) {
  for (const char* bad : {"not json", "[1]", R"({"channel":"a"})", R"({"type":"dance","channel":"a"})",
                          R"({"type":"subscribe"})", R"({"type":"subscribe","channel":"bad channel"})",
                          R"({"type":"subscribe","channel":5})", R"({"type":"publish","channel":"a"})",
                          R"({"type":"publish","channel":"a","data":"x","event":"reset"})",
                          R"({"type":"publish","channel":"a","data":")" "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789X" R"("})"}) {
    wsproto::Command c;
    std::string err;
    EXPECT_FALSE(wsproto::parseCommand(bad, 100, &c, &err)) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
}

TEST(WsProtocol, EncodesServerMessages) {
  auto m = makeMessage("c", MessageId{"ep", 4, 0}, "ev", "d\"q", 7);
  EXPECT_EQ(wsproto::encodeMessage(*m),
            R"({"type":"message","channel":"c","id":"ep-4","event":"ev","data":"d\"q","ts":7})");
  EXPECT_EQ(wsproto::encodeAck(*m, "r"), R"({"type":"ack","id":"ep-4","channel":"c","ref":"r"})");
  EXPECT_EQ(wsproto::encodeReset("c", "", "gone"),
            R"({"type":"reset","channel":"c","oldest":null,"reason":"gone"})");
  EXPECT_EQ(wsproto::encodeError("bad", ""), R"({"type":"error","status":400,"error":"bad"})");
}

// A client's unknown type is quoted back in 32 bytes. Cut at byte 32 used
// to fall inside a character: the error frame then held invalid UTF-8, and
// a browser fails the whole connection on such a text frame (RFC 6455 8.1).
TEST(WsProtocol, ErrorQuotingATypeNeverSplitsACharacter) {
  for (size_t ascii = 0; ascii < 4; ++ascii) {
    std::string type = std::string(ascii + 29, 'x');  // 29..32 bytes before the euro signs
    for (int i = 0; i < 4; ++i) type += "\xE2\x82\xAC";  // U+20AC, 3 bytes
    wsproto::Command c;
    std::string err;
    ASSERT_FALSE(wsproto::parseCommand("{\"type\":\"" + type + "\",\"channel\":\"a\"}", 100, &c, &err));
    EXPECT_TRUE(isValidUtf8(err)) << ascii;
    EXPECT_EQ(err.rfind("unknown type '" + type.substr(0, ascii + 29), 0), 0u) << err;
    std::string frame = wsproto::encodeError(err, c.ref);
    EXPECT_TRUE(isValidUtf8(frame)) << frame;
  }
}

// Whatever an error text holds (a backend's message, a quoted input), the
// encoded error is UTF-8: lone surrogates (as CESU-8 bytes), stray bytes
// and cut characters become U+FFFD.
TEST(WsProtocol, EncodedErrorsAreAlwaysUtf8) {
  for (const std::string& bad : {std::string("\xED\xA0\x80"), std::string("\xED\xBF\xBF x"),
                                std::string("cut \xE2\x82"), std::string("\xFF\xFE"),
                                std::string("\xC0\xAF"), std::string("\xF4\x90\x80\x80")}) {
    std::string json = wsproto::encodeError("no: " + bad, "r");
    EXPECT_TRUE(isValidUtf8(json)) << json;
    EXPECT_NE(json.find("\xEF\xBF\xBD"), std::string::npos) << json;
  }
  EXPECT_EQ(wsproto::encodeError("caf\xC3\xA9", ""),
            "{\"type\":\"error\",\"status\":400,\"error\":\"caf\xC3\xA9\"}");
}

// A lone surrogate in a \u escape must never reach an answer. The ref is in
// every answer; POCO's parser refuses such JSON, and parseCommand would
// refuse a ref that is not UTF-8 if it ever let one through.
TEST(WsProtocol, LoneSurrogatesAreNeverEchoed) {
  for (const char* text : {R"({"type":"subscribe","channel":"a","ref":"\ud800"})",
                           R"({"type":"subscribe","channel":"a","ref":"x\udc00"})",
                           R"({"type":"\ud800","channel":"a"})",
                           R"({"type":"\udfff\ud800","channel":"a"})"}) {
    wsproto::Command c;
    std::string err;
    EXPECT_FALSE(wsproto::parseCommand(text, 100, &c, &err)) << text;
    EXPECT_TRUE(isValidUtf8(c.ref)) << text;
    EXPECT_TRUE(isValidUtf8(wsproto::encodeError(err, c.ref))) << text;
  }
  // A surrogate pair is one character and fine.
  wsproto::Command c;
  std::string err;
  ASSERT_TRUE(wsproto::parseCommand(R"({"type":"subscribe","channel":"a","ref":"\ud83d\ude00"})", 100, &c, &err)) << err;
  EXPECT_EQ(c.ref, "\xF0\x9F\x98\x80");
}

// A close reason is cut to 123 bytes (RFC 6455 5.5: 125 bytes of control
// payload, 2 of them the code) at a character boundary, and made UTF-8.
TEST(WsFrameClose, ReasonIsCutAtACharacterBoundary) {
  for (size_t ascii = 118; ascii < 123; ++ascii) {
    std::string reason = std::string(ascii, 'r') + "\xF0\x9F\x98\x80\xF0\x9F\x98\x80";
    std::string frame = ws::encodeClose(1008, reason);
    ASSERT_EQ(static_cast<uint8_t>(frame[0]), 0x88);
    size_t len = static_cast<uint8_t>(frame[1]);
    ASSERT_LE(len, 125u);
    ASSERT_EQ(frame.size(), 2 + len);
    std::string body = frame.substr(4);
    EXPECT_TRUE(isValidUtf8(body)) << ascii;
    EXPECT_EQ(body, reason.substr(0, ascii <= 119 ? ascii + 4 : ascii)) << ascii;
  }
  std::string frame = ws::encodeClose(1000, "bad \xC3");
  EXPECT_EQ(frame.substr(4), "bad \xEF\xBF\xBD");
}

TEST(Utf8, ScanTellsACutCharacterFromABadOne) {
  auto scan = [](const std::string& s) {
    Utf8Scan r = scanUtf8(s);
    return std::make_pair(r.valid, r.complete);
  };
  EXPECT_EQ(scan(""), std::make_pair(true, size_t(0)));
  EXPECT_EQ(scan("ab\xE2\x82"), std::make_pair(true, size_t(2)));    // cut
  EXPECT_EQ(scan("ab\xE2\x82\xAC"), std::make_pair(true, size_t(5)));
  EXPECT_EQ(scan("ab\xF4"), std::make_pair(true, size_t(2)));
  EXPECT_EQ(scan("ab\xF4\x90"), std::make_pair(false, size_t(2)));  // past U+10FFFF
  EXPECT_EQ(scan("a\xED\xA0"), std::make_pair(false, size_t(1)));   // surrogate
  EXPECT_EQ(scan("a\xE0\x80"), std::make_pair(false, size_t(1)));   // overlong
  EXPECT_EQ(scan("a\xC1\xBF"), std::make_pair(false, size_t(1)));   // overlong
  EXPECT_EQ(scan("a\x80"), std::make_pair(false, size_t(1)));
  EXPECT_EQ(scan("a\xF8\x88\x80\x80\x80"), std::make_pair(false, size_t(1)));
}

TEST(Utf8, ExcerptIsValidAndWithinItsLength) {
  EXPECT_EQ(utf8Excerpt("hello", 3), "hel");
  EXPECT_EQ(utf8Excerpt("h\xC3\xA9llo", 2), "h");
  EXPECT_EQ(utf8Excerpt("h\xC3\xA9llo", 3), "h\xC3\xA9");
  EXPECT_EQ(utf8Excerpt("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(utf8Excerpt("a\xFF" "b", 3), "a");
  // One U+FFFD per maximal subpart (Unicode 15, 3.9): a cut character is
  // one, a surrogate's bytes are three.
  EXPECT_EQ(utf8Excerpt("a\xE2\x82"), "a\xEF\xBF\xBD");
  EXPECT_EQ(utf8Excerpt("a\xE2\x82z"), "a\xEF\xBF\xBDz");
  EXPECT_EQ(utf8Excerpt("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(utf8Excerpt("", 0), "");
}

}  // namespace
}  // namespace rtdemo
