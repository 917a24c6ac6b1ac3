// Parsers of the Durable Streams request headers (docs/durable-streams.md):
// Stream-TTL, Stream-Expires-At, the producer triple, Content-Type, the
// presence flags and the fork headers (Stream-Forked-From,
// Stream-Fork-Sub-Offset; Stream-Fork-Offset is an offset, offset.h). Each answers a value or the reason for a 400, so that the
// transport refuses bad input before anything is stored.
//
// Thread-safe: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storage/stream.h"

namespace rtdemo {

// The largest integer a producer epoch or seq may be (JavaScript's
// Number.MAX_SAFE_INTEGER, as the protocol asks).
constexpr int64_t kMaxProducerNumber = (int64_t(1) << 53) - 1;

// Stream-TTL: a non-negative decimal integer, no sign, no leading zero (but
// "0" itself), no fraction or exponent. Sets *seconds, or returns the reason.
std::string parseTtl(std::string_view text, int64_t* seconds);

// Stream-Expires-At: an RFC 3339 date-time ("2026-01-24T10:00:00Z", an
// optional fraction, "Z" or a "+hh:mm"/"-hh:mm" offset). Sets *ms (since
// 1970, UTC, fraction truncated to milliseconds), or returns the reason.
std::string parseRfc3339(std::string_view text, int64_t* ms);

// Formats ms as RFC 3339 in UTC with milliseconds ("...T10:00:00.000Z"),
// which parseRfc3339() reads back to the same ms.
std::string formatRfc3339(int64_t ms);

// The producer headers, each absent (nullopt) or as sent. All three or
// none (*out stays empty); otherwise the reason.
std::string parseProducer(const std::optional<std::string>& id,
                          const std::optional<std::string>& epoch,
                          const std::optional<std::string>& seq,
                          std::optional<ProducerClaim>* out);

// A Content-Type as streams compare it: the media type in lower case,
// without parameters or spaces ("Application/JSON; charset=utf-8" is
// "application/json"). "" for a value with no type/subtype.
std::string normaliseContentType(std::string_view text);

// True for the content types whose appends are text on rtdemo's own
// transports (text/*, application/json); the others are stored with the
// event type "binary".
bool isTextContentType(std::string_view normalised);

// Stream-Forked-From: the source stream's path, "/v1/stream/{name}", with
// the name percent-encoded as in a request line. Sets *name to the decoded
// name, which follows the channel rules (checkChannelName), or returns the
// reason.
std::string parseForkSource(std::string_view text, std::string* name);

// Stream-Fork-Sub-Offset: a non-negative decimal integer written as
// Stream-TTL is (no sign, no leading zero but "0", no fraction), at most
// kMaxSubOffset. Sets *value, or returns the reason.
constexpr int64_t kMaxSubOffset = (int64_t(1) << 53) - 1;
std::string parseSubOffset(std::string_view text, int64_t* value);

// Stream-Closed and the like: "true" (any case) is true, an absent header
// or "false" is false; anything else is the reason.
std::string parseFlag(const std::optional<std::string>& text, bool* out);

}  // namespace rtdemo
