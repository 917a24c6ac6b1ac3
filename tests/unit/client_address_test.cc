// clientAddress() and TrustedProxies: who the client is behind a proxy, and
// that a client can never choose its own address by sending X-Forwarded-For.
#include "service/security/client_address.h"

#include <gtest/gtest.h>

namespace rtdemo {
namespace {

Poco::Net::IPAddress ip(const std::string& text) {
  return Poco::Net::IPAddress(text);
}

TrustedProxies trust(const std::string& list) {
  TrustedProxies t;
  Status s = TrustedProxies::parse(list, &t);
  EXPECT_TRUE(s.ok()) << s.toString();
  return t;
}

TEST(ClientAddress, NoTrustedProxiesMeansThePeerWhateverTheHeaderSays) {
  TrustedProxies none;
  EXPECT_EQ(clientAddress(ip("203.0.113.7"), "198.51.100.1", none), "203.0.113.7");
  EXPECT_EQ(clientAddress(ip("127.0.0.1"), "198.51.100.1", none), "127.0.0.1");
}

TEST(ClientAddress, UntrustedPeerCannotNameAClient) {
  TrustedProxies t = trust("127.0.0.1");
  EXPECT_EQ(clientAddress(ip("203.0.113.7"), "198.51.100.1", t), "203.0.113.7");
}

TEST(ClientAddress, TrustedPeerNamesTheClient) {
  TrustedProxies t = trust("127.0.0.1");
  EXPECT_EQ(clientAddress(ip("127.0.0.1"), "198.51.100.1", t), "198.51.100.1");
  EXPECT_EQ(clientAddress(ip("127.0.0.1"), " 198.51.100.1 ", t), "198.51.100.1");
}

TEST(ClientAddress, TrustedPeerWithoutHeaderIsTheClient) {
  TrustedProxies t = trust("127.0.0.1");
  EXPECT_EQ(clientAddress(ip("127.0.0.1"), "", t), "127.0.0.1");
}

TEST(ClientAddress, ForgedEntriesLeftOfTheProxysOwnAreIgnored) {
  // The client sent "X-Forwarded-For: 10.9.9.9"; the proxy appended the
  // address it really saw.
  TrustedProxies t = trust("127.0.0.1");
  EXPECT_EQ(clientAddress(ip("127.0.0.1"), "10.9.9.9, 198.51.100.1", t),
            "198.51.100.1");
}

TEST(ClientAddress, WalksLeftPastEveryTrustedHop) {
  // CDN -> load balancer (10.0.0.5) -> Caddy (127.0.0.1) -> rtdemo.
  TrustedProxies t = trust("127.0.0.1, 10.0.0.0/8");
  EXPECT_EQ(clientAddress(ip("127.0.0.1"), "1.1.1.1, 198.51.100.1, 10.0.0.5", t),
            "198.51.100.1");
}

TEST(ClientAddress, AllHopsTrustedGivesTheLeftMost) {
  TrustedProxies t = trust("127.0.0.1, 10.0.0.0/8");
  EXPECT_EQ(clientAddress(ip("127.0.0.1"), "10.1.2.3, 10.0.0.5", t), "10.1.2.3");
}

TEST(ClientAddress, GarbageStopsTheWalkAtTheLastTrustedHop) {
  TrustedProxies t = trust("127.0.0.1, 10.0.0.0/8");
  EXPECT_EQ(clientAddress(ip("127.0.0.1"), "198.51.100.1, unknown, 10.0.0.5", t),
            "10.0.0.5");
  EXPECT_EQ(clientAddress(ip("127.0.0.1"), "<script>", t), "127.0.0.1");
  EXPECT_EQ(clientAddress(ip("127.0.0.1"), "198.51.100.1,", t), "127.0.0.1");
  EXPECT_EQ(clientAddress(ip("127.0.0.1"), "1.2.3.4\r\nX-Evil: 1", t), "127.0.0.1");
  EXPECT_EQ(clientAddress(ip("127.0.0.1"), "1.2.3", t), "127.0.0.1");
  EXPECT_EQ(clientAddress(ip("127.0.0.1"), "fe80::1%eth0", t), "127.0.0.1");
}

TEST(ClientAddress, EntriesWithPortsAndBrackets) {
  TrustedProxies t = trust("127.0.0.1");
  EXPECT_EQ(clientAddress(ip("127.0.0.1"), "198.51.100.1:5555", t), "198.51.100.1");
  EXPECT_EQ(clientAddress(ip("127.0.0.1"), "2001:db8::1", t), "2001:db8::1");
  EXPECT_EQ(clientAddress(ip("127.0.0.1"), "[2001:db8::1]", t), "2001:db8::1");
  EXPECT_EQ(clientAddress(ip("127.0.0.1"), "[2001:db8::1]:443", t), "2001:db8::1");
  EXPECT_EQ(clientAddress(ip("127.0.0.1"), "[2001:db8::1]x", t), "127.0.0.1");
}

TEST(ClientAddress, Ipv6Proxy) {
  TrustedProxies t = trust("::1");
  EXPECT_EQ(clientAddress(ip("::1"), "198.51.100.1", t), "198.51.100.1");
  EXPECT_EQ(clientAddress(ip("127.0.0.1"), "198.51.100.1", t), "127.0.0.1");
}

TEST(ClientAddress, MappedIpv4PeerMatchesItsIpv4Entry) {
  // What a dual-stack listener reports for an IPv4 proxy.
  TrustedProxies t = trust("127.0.0.1");
  EXPECT_EQ(clientAddress(ip("::ffff:127.0.0.1"), "198.51.100.1", t), "198.51.100.1");
  EXPECT_EQ(clientAddress(ip("::ffff:203.0.113.7"), "198.51.100.1", t), "203.0.113.7");
}

TEST(TrustedProxies, CidrRanges) {
  TrustedProxies t = trust("10.0.0.0/8, 192.168.1.128/25, fd00::/8");
  EXPECT_TRUE(t.contains(ip("10.255.0.1")));
  EXPECT_FALSE(t.contains(ip("11.0.0.1")));
  EXPECT_TRUE(t.contains(ip("192.168.1.200")));
  EXPECT_FALSE(t.contains(ip("192.168.1.127")));
  EXPECT_TRUE(t.contains(ip("fd12::1")));
  EXPECT_FALSE(t.contains(ip("fe80::1")));
  EXPECT_FALSE(t.contains(ip("::ffff:11.0.0.1")));
  EXPECT_TRUE(t.contains(ip("::ffff:10.0.0.1")));
}

TEST(TrustedProxies, EdgePrefixes) {
  EXPECT_TRUE(trust("0.0.0.0/0").contains(ip("203.0.113.7")));
  EXPECT_FALSE(trust("0.0.0.0/0").contains(ip("2001:db8::1")));
  EXPECT_TRUE(trust("::/0").contains(ip("2001:db8::1")));
  EXPECT_TRUE(trust("::ffff:10.0.0.0/104").contains(ip("10.1.2.3")));
  EXPECT_FALSE(trust("10.0.0.1/32").contains(ip("10.0.0.2")));
}

TEST(TrustedProxies, EmptyListsAreValid) {
  EXPECT_TRUE(trust("").empty());
  EXPECT_TRUE(trust(" , ").empty());
  EXPECT_FALSE(trust("127.0.0.1,").empty());
}

TEST(TrustedProxies, BadEntriesAreRefusedByName) {
  for (const char* bad : {"localhost", "127.0.0.1/33", "::1/129", "10.0.0.0/",
                          "10.0.0.0/x", "1.2.3", "10.0.0.0/8/8",
                          "::ffff:10.0.0.0/95", "127.0.0.1:80"}) {
    TrustedProxies t = trust("127.0.0.1");
    Status s = TrustedProxies::parse(std::string("::1, ") + bad, &t);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.message().find(bad), std::string::npos) << s.message();
    // A failed parse leaves the old list in place.
    EXPECT_TRUE(t.contains(ip("127.0.0.1"))) << bad;
  }
}

TEST(LimitUnit, IPv4IsTheAddressIPv6IsItsSlash64) {
  EXPECT_EQ(limitUnit("203.0.113.7"), "203.0.113.7");
  EXPECT_EQ(limitUnit("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  EXPECT_EQ(limitUnit("2001:db8:1:2::1"), limitUnit("2001:db8:1:2:ffff:ffff:ffff:ffff"));
  EXPECT_NE(limitUnit("2001:db8:1:2::1"), limitUnit("2001:db8:1:3::1"));
  EXPECT_EQ(limitUnit("::1"), "::/64");
  // What clientAddress() writes for a dual-stack IPv4 client is IPv4.
  EXPECT_EQ(limitUnit(clientAddress(ip("::ffff:198.51.100.9"), "", TrustedProxies())),
            "198.51.100.9");
  // Not an address (clientAddress() never returns one): left as it is.
  EXPECT_EQ(limitUnit("unknown"), "unknown");
}

}  // namespace
}  // namespace rtdemo
