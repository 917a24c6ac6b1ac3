// WebSocket framing: server frames as RFC 6455 lays them out, and the
// decoder's refusal of everything a client must not send.
#include "service/protocol/ws_frame.h"

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

// What the first two bytes already decide is refused then, without
// buffering a payload that can only be refused (RFC 6455 5.2, 5.4, 5.5).
TEST(WsFrame, RefusesOnTheHeaderAlone) {
  const std::string big(100000, 'a');
  EXPECT_EQ(feed(clientFrame(0x82, big).substr(0, 2), 1000).code, ws::kCloseUnsupportedData);
  EXPECT_EQ(feed(clientFrame(0x83, big).substr(0, 2), 1000).code, ws::kCloseProtocolError);
  EXPECT_EQ(feed(clientFrame(0x80, big).substr(0, 2), 1000).code, ws::kCloseProtocolError);
  EXPECT_EQ(feed(clientFrame(0x08, "").substr(0, 2), 1000).code, ws::kCloseProtocolError);
}

// RFC 6455 8.1 and 5.6: text is UTF-8 as a whole message; a character may
// be split across fragments, and a bad byte fails the connection when its
// fragment arrives, before the message is finished.
TEST(WsFrame, Utf8IsCheckedPerFragmentAndMayBeSplitAcrossThem) {
  const std::string euro = "\xE2\x82\xAC";
  Fed r = feed(clientFrame(0x01, "a" + euro.substr(0, 1)) + clientFrame(0x00, euro.substr(1, 1)) +
               clientFrame(0x80, euro.substr(2)));
  ASSERT_TRUE(r.ok);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].payload, "a" + euro);

  Fed early = feed(clientFrame(0x01, "ok \xED\xA0"));  // a surrogate, message unfinished
  EXPECT_FALSE(early.ok);
  EXPECT_EQ(early.code, ws::kCloseInvalidPayload);
  Fed cut = feed(clientFrame(0x01, "ok") + clientFrame(0x80, "\xE2\x82"));  // ends inside one
  EXPECT_FALSE(cut.ok);
  EXPECT_EQ(cut.code, ws::kCloseInvalidPayload);
}

// RFC 6455 5.5.1: after a close frame the peer sends nothing more, and
// nothing more is read; a broken stream stays broken.
TEST(WsFrame, NothingIsReadAfterACloseAndAFailureSticks) {
  ws::Decoder d(1000);
  std::vector<ws::Message> out;
  uint16_t code = 0;
  std::string reason;
  std::string bytes = clientFrame(0x81, "before") + clientFrame(0x88, "\x03\xE8") +
                      clientFrame(0x81, "after") + "\xFF\xFF garbage";
  ASSERT_TRUE(d.feed(bytes.data(), bytes.size(), &out, &code, &reason));
  ASSERT_TRUE(d.feed(bytes.data(), bytes.size(), &out, &code, &reason));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].payload, "before");
  EXPECT_EQ(out[1].opcode, ws::kClose);
  EXPECT_EQ(d.bufferedBytes(), 0u);

  ws::Decoder broken(1000);
  std::string bad = clientFrame(0xC1, "x");
  EXPECT_FALSE(broken.feed(bad.data(), bad.size(), &out, &code, &reason));
  std::string good = clientFrame(0x81, "fine");
  code = 0;
  EXPECT_FALSE(broken.feed(good.data(), good.size(), &out, &code, &reason));
  EXPECT_EQ(code, ws::kCloseProtocolError);
}

// What a client can make the decoder hold: one message being reassembled
// and one unfinished frame, never more than the limit + 139 bytes.
TEST(WsFrame, BufferedBytesStayBounded) {
  ws::Decoder d(1000);
  std::vector<ws::Message> out;
  uint16_t code = 0;
  std::string reason;
  std::string bytes = clientFrame(0x01, std::string(600, 'a')) + clientFrame(0x00, std::string(399, 'b')) +
                      clientFrame(0x89, std::string(125, 'p'));
  bytes.pop_back();  // the ping is one byte short
  for (char ch : bytes) {
    ASSERT_TRUE(d.feed(&ch, 1, &out, &code, &reason));
    EXPECT_LT(d.bufferedBytes(), 1000u + 139u);
  }
  EXPECT_EQ(d.bufferedBytes(), 999u + 2 + 4 + 124);
}

// RFC 6455 5.5.1 and 7.4: the answer to a client's close frame.
TEST(WsFrameClose, ReplyToAClientsClose) {
  auto body = [](uint16_t code, const std::string& reason = "") {
    return std::string{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)} + reason;
  };
  EXPECT_EQ(ws::closeReply("").code, 1000);
  EXPECT_EQ(ws::closeReply("\x03").code, 1002);
  for (uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
                        3000, 3999, 4000, 4999})
    EXPECT_EQ(ws::closeReply(body(code, "bye")).code, code) << code;
  for (uint16_t code : {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535})
    EXPECT_EQ(ws::closeReply(body(code)).code, 1002) << code;
  EXPECT_EQ(ws::closeReply(body(1000, "\xCE\xBA\xE1\xBD\xB9")).code, 1000);
  EXPECT_EQ(ws::closeReply(body(1000, "\xCE\xBA\xE1\xBD")).code, 1007);
  EXPECT_EQ(ws::closeReply(body(1000, "\xED\xA0\x80")).code, 1007);
}

}  // namespace
}  // namespace rtdemo
