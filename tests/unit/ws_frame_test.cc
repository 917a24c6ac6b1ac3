// WebSocket framing: server frames as RFC 6455 lays them out, and the
// decoder's refusal of everything a client must not send.
#include "service/ws_frame.h"

#include <gtest/gtest.h>

#include "tests/support/ws_test_client.h"

namespace rtdemo {
namespace {

std::string clientFrame(uint8_t firstByte, const std::string& payload, bool mask = true) {
  return encodeClientFrame(firstByte, payload, mask);
}

struct Fed {
  bool ok = true;
  std::vector<ws::Message> messages;
  uint16_t code = 0;
};

Fed feed(const std::string& bytes, size_t max = 1000, size_t chunk = 0) {
  ws::Decoder d(max);
  Fed r{true, {}, 0};
  std::string reason;
  if (chunk == 0) chunk = bytes.size();
  for (size_t i = 0; i < bytes.size() && r.ok; i += chunk)
    r.ok = d.feed(bytes.data() + i, std::min(chunk, bytes.size() - i), &r.messages, &r.code, &reason);
  return r;
}

TEST(WsFrame, EncodesServerFramesUnmasked) {
  EXPECT_EQ(ws::encodeFrame(ws::kText, "hi"), std::string("\x81\x02hi", 4));
  std::string mid = ws::encodeFrame(ws::kText, std::string(300, 'a'));
  EXPECT_EQ(static_cast<uint8_t>(mid[1]), 126);
  EXPECT_EQ((static_cast<uint8_t>(mid[2]) << 8) | static_cast<uint8_t>(mid[3]), 300);
  EXPECT_EQ(mid.size(), 304u);
  std::string big = ws::encodeFrame(ws::kText, std::string(70000, 'a'));
  EXPECT_EQ(static_cast<uint8_t>(big[1]), 127);
  EXPECT_EQ(big.size(), 70010u);
  std::string close = ws::encodeClose(1009, "too big");
  EXPECT_EQ(static_cast<uint8_t>(close[0]), 0x88);
  EXPECT_EQ(close.substr(2, 2), std::string("\x03\xF1", 2));
  EXPECT_LE(ws::encodeClose(1000, std::string(500, 'r')).size(), 127u);
}

TEST(WsFrame, DecodesMaskedTextWhateverTheChunking) {
  std::string two = clientFrame(0x81, "hello") + clientFrame(0x81, std::string(400, 'x'));
  for (size_t chunk : {size_t(0), size_t(1), size_t(3), size_t(7)}) {
    Fed r = feed(two, 1000, chunk);
    ASSERT_TRUE(r.ok);
    ASSERT_EQ(r.messages.size(), 2u);
    EXPECT_EQ(r.messages[0].payload, "hello");
    EXPECT_EQ(r.messages[1].payload, std::string(400, 'x'));
  }
}

TEST(WsFrame, ReassemblesFragmentsAndPassesControlFramesBetween) {
  std::string bytes = clientFrame(0x01, "he") + clientFrame(0x89, "p") + clientFrame(0x80, "llo");
  Fed r = feed(bytes);
  ASSERT_TRUE(r.ok);
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].opcode, ws::kPing);
  EXPECT_EQ(r.messages[1].payload, "hello");
}

TEST(WsFrame, RefusesWhatClientsMustNotSend) {
  struct Case {
    std::string bytes;
    uint16_t code;
  };
  const std::vector<Case> cases = {
      {clientFrame(0x81, "x", false), ws::kCloseProtocolError},         // unmasked
      {clientFrame(0xC1, "x"), ws::kCloseProtocolError},                // RSV1
      {clientFrame(0x82, "bin"), ws::kCloseUnsupportedData},            // binary
      {clientFrame(0x83, "x"), ws::kCloseProtocolError},                // reserved opcode
      {clientFrame(0x09, "p"), ws::kCloseProtocolError},                // fragmented ping
      {clientFrame(0x89, std::string(126, 'p')), ws::kCloseProtocolError},  // long ping
      {clientFrame(0x80, "x"), ws::kCloseProtocolError},                // stray continuation
      {clientFrame(0x01, "a") + clientFrame(0x81, "b"), ws::kCloseProtocolError},
      {clientFrame(0x81, std::string(1001, 'a')), ws::kCloseTooBig},
      {clientFrame(0x01, std::string(600, 'a')) + clientFrame(0x80, std::string(600, 'a')), ws::kCloseTooBig},
      {clientFrame(0x81, "\xC3\x28"), ws::kCloseInvalidPayload},
  };
  for (const Case& c : cases) {
    Fed r = feed(c.bytes);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.code, c.code);
  }
}

TEST(WsFrame, OversizedLengthIsRefusedBeforeThePayloadArrives) {
  // Only the header of a 1 GB frame: refused without waiting for the data.
  std::string header = clientFrame(0x81, std::string(70000, 'a')).substr(0, 14);
  Fed r = feed(header, 1000);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, ws::kCloseTooBig);
}

// Issue 18, item 1: the continuation's 64-bit length 2^64-1 used to wrap the
// size checks, and the payload copy then threw std::length_error, which took
// the whole server down. It must be a plain 1009 (RFC 6455 7.4.1), whatever
// the chunking, and with nothing thrown.
TEST(WsFrame, LengthNear2To64IsTooBigAndNeverWraps) {
  const std::string unfinished("\x01\x81\x00\x00\x00\x00\x41", 7);
  const std::string huge("\x80\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\x00\x00\x00\x00", 14);
  for (size_t chunk : {size_t(0), size_t(1), size_t(5)}) {
    Fed r;
    ASSERT_NO_THROW(r = feed(unfinished + huge, 1000, chunk));
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.code, ws::kCloseTooBig);
    EXPECT_TRUE(r.messages.empty());
  }
  // Every length that the sum used to wrap: the largest ones, and those just
  // past what is already buffered in fragments.
  for (uint64_t len : {~uint64_t(0), ~uint64_t(0) - 1, ~uint64_t(0) - 999, uint64_t(1) << 63,
                       (uint64_t(1) << 63) - 1, uint64_t(1000), uint64_t(1001)}) {
    std::string frame("\x80\xFF", 2);
    for (int s = 56; s >= 0; s -= 8) frame.push_back(static_cast<char>((len >> s) & 0xFF));
    frame.append(4, '\0');
    Fed r;
    ASSERT_NO_THROW(r = feed(unfinished + frame, 1000));
    EXPECT_FALSE(r.ok) << len;
    EXPECT_EQ(r.code, ws::kCloseTooBig) << len;
  }
  // Up to the limit exactly is still a message.
  Fed r = feed(unfinished + clientFrame(0x80, std::string(999, 'b')), 1000);
  ASSERT_TRUE(r.ok);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].payload, "A" + std::string(999, 'b'));
}

}  // namespace
}  // namespace rtdemo
