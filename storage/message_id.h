// MessageId: the ordered, epoch-carrying identity of a stored message.
//
// Clients see ids as opaque strings; inside rtdemo they are parsed into this
// struct so that they can be compared and checked against the current epoch.
// The text form is "<epoch>-<major>" or "<epoch>-<major>-<minor>":
//   - memory and SQLite use a per-channel sequence as major (minor is 0),
//   - Redis uses its stream id "<ms>-<n>" as major and minor.
// "<epoch>-0" is the cursor that lies before every message of an epoch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

namespace rtdemo {

struct MessageId {
  std::string epoch;
  uint64_t major = 0;
  uint64_t minor = 0;

  // Parses the text form. Returns nullopt for anything malformed, so that a
  // client's garbage cursor is treated as "unknown id" rather than trusted.
  static std::optional<MessageId> parse(std::string_view text);

  // The cursor before every message of `epoch`.
  static MessageId start(const std::string& epoch) { return {epoch, 0, 0}; }

  std::string toString() const;

  // Order within one epoch; comparing ids of different epochs is meaningless
  // and callers check the epoch first.
  bool operator<(const MessageId& o) const {
    return std::tie(major, minor) < std::tie(o.major, o.minor);
  }
  bool operator==(const MessageId& o) const {
    return epoch == o.epoch && major == o.major && minor == o.minor;
  }
  bool operator!=(const MessageId& o) const { return !(*this == o); }
};

// True if `epoch` is a valid epoch token: 1-16 characters of [0-9a-z].
bool isValidEpoch(std::string_view epoch);

// A fresh random epoch token.
std::string newEpoch();

}  // namespace rtdemo
