// Client address: who is really on the other end of a request, when rtdemo
// sits behind a reverse proxy (deploy/caddy/Caddyfile).
//
// Behind a proxy, every connection's peer is the proxy itself. The proxy
// names the client in X-Forwarded-For, appending the address it saw to
// whatever the request already carried, so the header is a list with the
// most recently added (most trustworthy) hop on the right. Anyone can send
// that header, so it is believed only when the peer is one of the configured
// proxies (rtdemo.trusted-proxies), and then only as far left as the hops are
// themselves trusted: the answer is the right-most address that is not a
// trusted proxy. A client that forges the header can only add entries to the
// left of the address its proxy appended, and those are never reached.
//
// Used for log lines, and for the per-address limits through limitUnit();
// an HTTP request's peer and headers are read by http/request_security.h. The
// result is always an address rtdemo formatted itself, never text copied from
// the header, so it is safe to log.
//
// Thread safety: TrustedProxies is immutable after parse(); const methods may
// be called from any number of threads.
#pragma once

#include <string>
#include <vector>

#include "Poco/Net/IPAddress.h"
#include "storage/status.h"

namespace rtdemo {

// The set of proxy addresses allowed to name a client: single addresses and
// CIDR ranges, IPv4 and IPv6. Empty (the default) trusts no one, so the
// header is ignored and the peer is the client.
class TrustedProxies {
 public:
  // Parses a comma-separated list such as "127.0.0.1, ::1, 10.0.0.0/8".
  // Spaces around entries are ignored; an empty list is valid. Returns
  // InvalidArgument naming the first entry that is not an address or a
  // range, and leaves *out unchanged.
  static Status parse(const std::string& list, TrustedProxies* out);

  // True when address is in one of the entries. An IPv4-mapped IPv6 address
  // (::ffff:a.b.c.d, what a dual-stack socket reports) counts as its IPv4
  // address.
  bool contains(const Poco::Net::IPAddress& address) const;

  bool empty() const { return ranges_.empty(); }

 private:
  struct Range {
    bool v6 = false;
    unsigned char bytes[16] = {};  // network address, 4 or 16 bytes used
    unsigned prefix = 0;           // leading bits that must match
  };

  // Constant after parse().
  std::vector<Range> ranges_;
};

// The client's address, formatted as text. peer is the connection's remote
// address; forwardedFor is the X-Forwarded-For value (several headers joined
// with commas, as HTTP allows), empty when there was none.
//
// - An untrusted peer is the client, whatever the header says.
// - Otherwise the header is read from the right; the first entry that is not
//   a trusted proxy is the client.
// - If every entry is trusted, the left-most one is the client.
// - An entry that is not an address (garbage, "unknown", a port we cannot
//   read) ends the walk: nothing left of it can be believed, and the last
//   trusted hop before it is the best answer.
std::string clientAddress(const Poco::Net::IPAddress& peer,
                          const std::string& forwardedFor,
                          const TrustedProxies& trusted);

// The unit that per-address limits count (streams and kept-alive
// connections per address, the publish rate): the address itself for IPv4,
// and its /64 for IPv6, written "2001:db8:1:2::/64". A host or a home
// network is routinely given a whole /64 and may use any address in it, so
// counting per /128 would let one client multiply every limit by 2^64.
// `address` is what clientAddress() returned; anything that is not an
// address is returned unchanged.
std::string limitUnit(const std::string& address);

}  // namespace rtdemo
