// The client behind a chain of proxies (see client_address.h).
#include "service/security/client_address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "Poco/String.h"
#include "Poco/StringTokenizer.h"

namespace rtdemo {
namespace {

// The 4 or 16 bytes of an address, with an IPv4-mapped IPv6 address reduced
// to its IPv4 part: a dual-stack listener reports an IPv4 proxy as
// ::ffff:a.b.c.d, and the operator wrote a.b.c.d.
struct RawAddress {
  bool v6 = false;
  unsigned char bytes[16] = {};
};

RawAddress raw(const Poco::Net::IPAddress& a) {
  RawAddress r;
  const auto* b = static_cast<const unsigned char*>(a.addr());
  if (a.family() == Poco::Net::IPAddress::IPv6 && a.isIPv4Mapped()) {
    std::memcpy(r.bytes, b + 12, 4);
  } else if (a.family() == Poco::Net::IPAddress::IPv6) {
    r.v6 = true;
    std::memcpy(r.bytes, b, 16);
  } else {
    std::memcpy(r.bytes, b, 4);
  }
  return r;
}

// The text form of an address as the rest of rtdemo should see it: the
// mapped form is shown as plain IPv4, like the proxy list.
std::string format(const Poco::Net::IPAddress& a) {
  if (a.family() == Poco::Net::IPAddress::IPv6 && a.isIPv4Mapped()) {
    RawAddress r = raw(a);
    return Poco::Net::IPAddress(r.bytes, 4).toString();
  }
  return a.toString();
}

// Exactly a dotted quad or an RFC 4291 IPv6 text form. Not
// Poco::Net::IPAddress::tryParse: it goes through inet_aton, which also takes
// "1.2.3" and "1.2.3.4 anything", and it refuses "::".
bool parseIp(const std::string& text, Poco::Net::IPAddress* out) {
  if (text.empty() ||
      text.find_first_not_of("0123456789abcdefABCDEF.:") != std::string::npos) {
    return false;
  }
  unsigned char bytes[16];
  if (::inet_pton(AF_INET, text.c_str(), bytes) == 1) {
    *out = Poco::Net::IPAddress(bytes, 4);
    return true;
  }
  if (::inet_pton(AF_INET6, text.c_str(), bytes) == 1) {
    *out = Poco::Net::IPAddress(bytes, 16);
    return true;
  }
  return false;
}

// One X-Forwarded-For entry. Proxies write "a.b.c.d", "a.b.c.d:port",
// "v6", "[v6]" or "[v6]:port"; anything else is not an address.
bool parseHop(std::string entry, Poco::Net::IPAddress* out) {
  Poco::trimInPlace(entry);
  if (!entry.empty() && entry.front() == '[') {
    size_t close = entry.find(']');
    if (close == std::string::npos) return false;
    std::string rest = entry.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
    entry = entry.substr(1, close - 1);
  } else if (std::count(entry.begin(), entry.end(), ':') == 1) {
    entry = entry.substr(0, entry.find(':'));  // IPv4 with a port
  }
  return parseIp(entry, out);
}

}  // namespace

Status TrustedProxies::parse(const std::string& list, TrustedProxies* out) {
  TrustedProxies parsed;
  Poco::StringTokenizer entries(list, ",", Poco::StringTokenizer::TOK_TRIM);
  for (const std::string& entry : entries) {
    if (entry.empty()) continue;  // "a,,b" and a trailing comma are harmless
    auto bad = [&](const std::string& why) {
      return Status::InvalidArgument("'" + entry + "' is not " + why);
    };
    std::string host = entry;
    Range range;
    bool hasPrefix = false;
    unsigned prefix = 0;
    size_t slash = entry.find('/');
    if (slash != std::string::npos) {
      host = entry.substr(0, slash);
      std::string bits = entry.substr(slash + 1);
      if (bits.empty() || bits.size() > 3 ||
          bits.find_first_not_of("0123456789") != std::string::npos) {
        return bad("an address or a CIDR range (bad prefix length)");
      }
      prefix = static_cast<unsigned>(std::stoul(bits));
      hasPrefix = true;
    }
    Poco::Net::IPAddress address;
    if (!parseIp(host, &address)) {
      return bad("an IP address or a CIDR range");
    }
    RawAddress r = raw(address);
    unsigned maxBits = r.v6 ? 128 : 32;
    if (!hasPrefix) prefix = maxBits;
    // A range written from a mapped address (::ffff:10.0.0.0/104) becomes
    // the IPv4 range it denotes.
    if (!r.v6 && address.family() == Poco::Net::IPAddress::IPv6 && hasPrefix) {
      if (prefix < 96) return bad("a range inside ::ffff:0:0/96");
      prefix -= 96;
    }
    if (prefix > maxBits) return bad("a range (prefix longer than the address)");
    range.v6 = r.v6;
    std::memcpy(range.bytes, r.bytes, sizeof range.bytes);
    range.prefix = prefix;
    parsed.ranges_.push_back(range);
  }
  *out = std::move(parsed);
  return Status::OK();
}

bool TrustedProxies::contains(const Poco::Net::IPAddress& address) const {
  RawAddress r = raw(address);
  for (const Range& range : ranges_) {
    if (range.v6 != r.v6) continue;
    unsigned full = range.prefix / 8;
    unsigned rest = range.prefix % 8;
    if (std::memcmp(range.bytes, r.bytes, full) != 0) continue;
    if (rest != 0) {
      auto mask = static_cast<unsigned char>(0xFF << (8 - rest));
      if ((range.bytes[full] & mask) != (r.bytes[full] & mask)) continue;
    }
    return true;
  }
  return false;
}

std::string clientAddress(const Poco::Net::IPAddress& peer,
                          const std::string& forwardedFor,
                          const TrustedProxies& trusted) {
  if (!trusted.contains(peer)) return format(peer);
  Poco::Net::IPAddress client = peer;
  // Right to left: each hop so far is a trusted proxy vouching for the entry
  // before it.
  Poco::StringTokenizer hops(forwardedFor, ",");
  for (size_t i = hops.count(); i-- > 0;) {
    Poco::Net::IPAddress hop;
    if (!parseHop(hops[i], &hop)) break;
    client = hop;
    if (!trusted.contains(hop)) break;
  }
  return format(client);
}

std::string limitUnit(const std::string& address) {
  unsigned char bytes[16];
  if (address.find(':') == std::string::npos ||
      ::inet_pton(AF_INET6, address.c_str(), bytes) != 1)
    return address;
  std::memset(bytes + 8, 0, 8);
  return Poco::Net::IPAddress(bytes, 16).toString() + "/64";
}

}  // namespace rtdemo
