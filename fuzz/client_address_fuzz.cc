// libFuzzer target: who the client is (service/security/client_address.h). The
// X-Forwarded-For header comes from any client, and the proxy list from
// the operator's configuration; besides crashes and sanitizer reports it
// checks the contract:
//   - clientAddress() returns an address rtdemo formatted itself: it parses
//     back as IPv4 or IPv6 and is never an IPv4-mapped IPv6 form;
//   - an untrusted peer is the client whatever the header says, and the
//     header can only name an address that it holds;
//   - limitUnit() of it is the address itself (IPv4) or a /64 whose last
//     64 bits are zero, and is the same for every address of that /64;
//   - TrustedProxies::parse() accepts or refuses with a reason, and never
//     changes its output on a refusal.
//
// Input layout: byte 0 picks the trusted proxies (bits 0-1) and the peer
// (bits 2-4); the rest is the X-Forwarded-For value, which is also parsed as
// a proxy list.
#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "service/security/client_address.h"

namespace {

bool parsesAsIp(const std::string& text, unsigned char* bytes, bool* v6) {
  if (::inet_pton(AF_INET, text.c_str(), bytes) == 1) return *v6 = false, true;
  if (::inet_pton(AF_INET6, text.c_str(), bytes) == 1) return *v6 = true, true;
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  if (size == 0) return 0;
  static const char* const kLists[] = {"", "127.0.0.1, ::1", "10.0.0.0/8, fd00::/8",
                                       "0.0.0.0/0, ::/0"};
  static const char* const kPeers[] = {"127.0.0.1", "::1",          "10.1.2.3",
                                       "fd00::7",   "203.0.113.9", "2001:db8:1:2::3",
                                       "::ffff:10.0.0.1", "::ffff:198.51.100.2"};
  rtdemo::TrustedProxies trusted;
  if (!rtdemo::TrustedProxies::parse(kLists[bytes[0] & 3], &trusted).ok()) std::abort();
  const Poco::Net::IPAddress peer(kPeers[(bytes[0] >> 2) & 7]);
  const std::string header(reinterpret_cast<const char*>(bytes) + 1, size - 1);

  std::string client = rtdemo::clientAddress(peer, header, trusted);
  unsigned char raw[16];
  bool v6 = false;
  if (!parsesAsIp(client, raw, &v6)) std::abort();
  if (v6) {
    static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(raw, kMapped, 12) == 0) std::abort();
  }
  const std::string peerText = rtdemo::clientAddress(peer, "", rtdemo::TrustedProxies());
  if (!trusted.contains(peer) && client != peerText) std::abort();
  if (client != peerText && header.find_first_of("0123456789abcdefABCDEF:") == std::string::npos)
    std::abort();

  std::string unit = rtdemo::limitUnit(client);
  if (!v6) {
    if (unit != client) std::abort();
  } else {
    if (unit.size() < 4 || unit.compare(unit.size() - 3, 3, "/64") != 0) std::abort();
    unsigned char net[16];
    bool netV6 = false;
    if (!parsesAsIp(unit.substr(0, unit.size() - 3), net, &netV6) || !netV6) std::abort();
    if (std::memcmp(net, raw, 8) != 0) std::abort();
    for (int i = 8; i < 16; ++i)
      if (net[i] != 0) std::abort();
    // Another address of the same /64 has the same unit.
    unsigned char other[16];
    std::memcpy(other, raw, 16);
    other[15] ^= 0x5a;
    if (rtdemo::limitUnit(Poco::Net::IPAddress(other, 16).toString()) != unit) std::abort();
  }

  // The header as a proxy list.
  rtdemo::TrustedProxies parsed = trusted;
  rtdemo::Status s = rtdemo::TrustedProxies::parse(header, &parsed);
  if (!s.ok()) {
    if (s.message().empty()) std::abort();
    if (parsed.empty() != trusted.empty()) std::abort();  // left unchanged
  } else {
    parsed.contains(peer);
  }
  return 0;
}
