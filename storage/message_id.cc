// Parsing and formatting of message ids, and epoch generation.
#include "storage/message_id.h"

#include <charconv>
#include <random>

namespace rtdemo {
namespace {

bool parseNumber(std::string_view text, uint64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  // from_chars accepts no sign or space, which is what we want.
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

bool isValidEpoch(std::string_view epoch) {
  if (epoch.empty() || epoch.size() > 16) return false;
  for (char c : epoch) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'))) return false;
  }
  return true;
}

std::optional<MessageId> MessageId::parse(std::string_view text) {
  size_t dash = text.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  MessageId id;
  std::string_view epoch = text.substr(0, dash);
  if (!isValidEpoch(epoch)) return std::nullopt;
  id.epoch = std::string(epoch);
  std::string_view rest = text.substr(dash + 1);
  size_t dash2 = rest.find('-');
  if (dash2 == std::string_view::npos) {
    if (!parseNumber(rest, &id.major)) return std::nullopt;
    return id;
  }
  if (!parseNumber(rest.substr(0, dash2), &id.major)) return std::nullopt;
  if (!parseNumber(rest.substr(dash2 + 1), &id.minor)) return std::nullopt;
  return id;
}

std::string MessageId::toString() const {
  std::string s = epoch + "-" + std::to_string(major);
  if (minor != 0) s += "-" + std::to_string(minor);
  return s;
}

std::string newEpoch() {
  // Ten base-36 characters from the OS entropy source: enough that two
  // databases or two memory-backend runs never share an epoch in practice.
  static const char kAlphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::random_device rd;
  std::uniform_int_distribution<int> pick(0, 35);
  std::string epoch;
  for (int i = 0; i < 10; ++i) epoch += kAlphabet[pick(rd)];
  return epoch;
}

}  // namespace rtdemo
