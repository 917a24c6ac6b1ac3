// libFuzzer target: the Durable Streams offset and header parsers
// (service/streams/offset.h, stream_headers.h), as every reader sends an
// offset and every writer the TTL, expiry and producer headers. Besides
// crashes and sanitizer reports it checks the contract:
//   - parseOffset never accepts a malformed offset silently: a refusal has a
//     reason; an accepted id renders back to exactly the input, at most
//     kMaxOffsetLength bytes of [0-9a-z_];
//   - any id renders to an offset that parses back to the same id, and
//     offsets of one epoch sort as their ids do;
//   - parseTtl accepts exactly the canonical decimals (the value prints back
//     to the input); parseRfc3339's value survives formatRfc3339 and back;
//   - parseProducer yields a claim only for all three headers, with a
//     non-empty id and numbers in [0, 2^53-1];
//   - the fork headers: parseSubOffset accepts exactly the canonical
//     decimals up to kMaxSubOffset; parseForkSource accepts only
//     /v1/stream/{name} with a name that passes the channel rules, and a
//     name re-encoded byte by byte parses back to itself.
//
// Input layout: the whole input is the offset and the TTL and RFC 3339
// text; its first 16 bytes, when there are, also give two ids to render; the
// input split at its first two NULs gives the producer headers.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "service/streams/offset.h"
#include "service/streams/stream_headers.h"
#include "service/protocol/validation.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

uint64_t word(const uint8_t* p) {
  uint64_t v = 0;
  std::memcpy(&v, p, 8);
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  using namespace rtdemo;
  const std::string text(reinterpret_cast<const char*>(bytes), size);

  ParsedOffset p = parseOffset(text);
  if (p.kind == ParsedOffset::kMalformed) check(!p.reason.empty());
  if (p.kind == ParsedOffset::kId) {
    check(renderOffset(p.id) == text);
    check(text.size() <= kMaxOffsetLength);
    for (char c : text) check((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '_');
  }

  if (size >= 16) {
    MessageId a{"ep", word(bytes), word(bytes + 8) & 0xff};
    MessageId b{"ep", word(bytes + 8), word(bytes) & 0xff};
    ParsedOffset pa = parseOffset(renderOffset(a));
    check(pa.kind == ParsedOffset::kId && pa.id == a);
    check((a < b) == (renderOffset(a) < renderOffset(b)));
  }

  int64_t ttl = -1;
  if (parseTtl(text, &ttl).empty()) check(ttl >= 0 && std::to_string(ttl) == text);

  int64_t ms = 0;
  if (parseRfc3339(text, &ms).empty()) {
    int64_t again = 0;
    check(parseRfc3339(formatRfc3339(ms), &again).empty() && again == ms);
  }

  int64_t sub = -1;
  if (parseSubOffset(text, &sub).empty())
    check(sub >= 0 && sub <= kMaxSubOffset && std::to_string(sub) == text);

  std::string source;
  std::string why = parseForkSource(text, &source);
  check(why.empty() != source.empty());
  if (why.empty()) {
    check(text.rfind("/v1/stream/", 0) == 0);
    check(checkChannelName(source).empty());
    std::string encoded = "/v1/stream/";
    for (unsigned char c : source) {
      const char* hex = "0123456789ABCDEF";
      encoded += '%';
      encoded += hex[c >> 4];
      encoded += hex[c & 15];
    }
    std::string again;
    check(parseForkSource(encoded, &again).empty() && again == source);
  }

  size_t first = text.find('\0');
  size_t second = first == std::string::npos ? first : text.find('\0', first + 1);
  if (second != std::string::npos) {
    std::optional<ProducerClaim> claim;
    why = parseProducer(text.substr(0, first), text.substr(first + 1, second - first - 1),
                                    text.substr(second + 1), &claim);
    check(why.empty() == claim.has_value());
    if (claim) {
      check(!claim->id.empty());
      check(claim->epoch >= 0 && claim->epoch <= kMaxProducerNumber);
      check(claim->seq >= 0 && claim->seq <= kMaxProducerNumber);
    }
  }
  return 0;
}
