// The limit mechanics without a server: token buckets, the open-connection
// registry (with real sockets, since it tells open from closed by the
// descriptor's identity), CORS decisions and the security keys.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "Poco/AutoPtr.h"
#include "Poco/Util/MapConfiguration.h"
#include "service/security/connection_limits.h"
#include "service/security/handshake_watchdog.h"
#include "service/security/rate_limiter.h"
#include "service/security/security.h"
#include "service/security/security_settings.h"

namespace rtdemo {
namespace {

TEST(RateLimiter, BurstThenRefill) {
  RateLimiter r(2, 3);  // 2 per second, bursts of 3
  EXPECT_EQ(r.take("a", 0), 0);
  EXPECT_EQ(r.take("a", 0), 0);
  EXPECT_EQ(r.take("a", 0), 0);
  EXPECT_EQ(r.take("a", 0), 1);    // empty: a token in 0.5 s, rounded up
  EXPECT_EQ(r.take("b", 0), 0);    // other addresses have their own bucket
  EXPECT_EQ(r.take("a", 500), 0);  // refilled one
  EXPECT_GT(r.take("a", 500), 0);
  EXPECT_EQ(r.take("a", 10000), 0);
}

TEST(RateLimiter, ZeroRateIsOff) {
  RateLimiter r(0, 1);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(r.take("a", 0), 0);
}

TEST(RateLimiter, ManyAddressesStayBounded) {
  RateLimiter r(1, 1);
  for (size_t i = 0; i < RateLimiter::kMaxTracked * 2; ++i)
    ASSERT_EQ(r.take("addr" + std::to_string(i), 0), 0);
}

struct SocketPair {
  int fd[2] = {-1, -1};
  SocketPair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fd), 0); }
  ~SocketPair() { close(); }
  void close() {
    for (int& f : fd) {
      if (f >= 0) ::close(f);
      f = -1;
    }
  }
};

Subscriber who(const std::string& addr, const std::string& channel = "c",
               Transport transport = Transport::kSse) {
  return {"s-" + addr + channel, addr, channel, transport};
}

TEST(ConnectionLimits, PerAddressLimitFreesWhenAConnectionCloses) {
  ConnectionLimits limits(2, 0);
  SocketPair a, b, c;
  EXPECT_EQ(limits.open(a.fd[0], who("1.1.1.1"), false).status, 0);
  EXPECT_EQ(limits.open(b.fd[0], who("1.1.1.1"), false).status, 0);
  EXPECT_EQ(limits.open(c.fd[0], who("1.1.1.1"), false).status, 429);
  EXPECT_EQ(limits.open(c.fd[0], who("2.2.2.2"), false).status, 0);
  SocketPair d;
  EXPECT_EQ(limits.open(d.fd[0], who("1.1.1.1"), true).status, 0);  // exempt
  a.close();
  SocketPair e;
  EXPECT_EQ(limits.open(e.fd[0], who("1.1.1.1"), false).status,
            429);  // d counts
  b.close();
  EXPECT_EQ(limits.open(e.fd[0], who("1.1.1.1"), false).status, 0);
}

TEST(ConnectionLimits, ReusedDescriptorNumberIsANewConnection) {
  ConnectionLimits limits(1, 0);
  SocketPair a;
  ASSERT_EQ(limits.open(a.fd[0], who("1.1.1.1"), false).status, 0);
  int number = a.fd[0];
  // The same socket parking again is never refused.
  EXPECT_EQ(limits.open(number, who("1.1.1.1"), false).status, 0);
  a.close();
  SocketPair b;  // likely takes the same descriptor numbers
  int other = b.fd[0] == number ? b.fd[1] : b.fd[0];
  SocketPair c;
  ASSERT_EQ(limits.open(other, who("1.1.1.1"), false).status, 0);
  if (b.fd[0] == number || b.fd[1] == number) {
    int reused = number;
    // Not the registered socket any more: counted like any new one.
    EXPECT_EQ(limits.open(reused, who("1.1.1.1"), false).status, 429);
  }
}

TEST(ConnectionLimits, TotalLimitAndPresence) {
  ConnectionLimits limits(0, 2);
  SocketPair a, b, c;
  EXPECT_EQ(limits.open(a.fd[0], who("1.1.1.1", "room", Transport::kSse), false).status,
            0);
  EXPECT_EQ(limits.open(b.fd[0], who("2.2.2.2", "room", Transport::kPoll), false).status,
            0);
  EXPECT_EQ(limits.open(c.fd[0], who("3.3.3.3", "room"), false).status, 503);
  EXPECT_EQ(limits.present("room").size(), 2u);
  EXPECT_EQ(limits.present("other").size(), 0u);
  a.close();
  auto present = limits.present("room");
  ASSERT_EQ(present.size(), 1u);
  EXPECT_EQ(present[0].transport, Transport::kPoll);
}

TEST(ConnectionLimits, KeptAliveConnectionsCountPerAddressOnly) {
  ConnectionLimits limits(2, 1);
  SocketPair a, b, c;
  ConnectionLimits::Identity ida, idb, idc;
  EXPECT_TRUE(limits.holdIdle(a.fd[0], "1.1.1.1", false, &ida));
  EXPECT_TRUE(limits.holdIdle(a.fd[0], "1.1.1.1", false, &ida));  // again
  EXPECT_TRUE(limits.holdIdle(b.fd[0], "1.1.1.1", false, &idb));
  EXPECT_FALSE(limits.holdIdle(c.fd[0], "1.1.1.1", false, &idc));
  EXPECT_TRUE(limits.holdIdle(c.fd[0], "1.1.1.1", true, &idc));  // exempt
  EXPECT_EQ(limits.trackedIdle(), 3u);
  // Not streams: the total (1) still has room, and nobody is present.
  EXPECT_EQ(limits.tracked(), 0u);
  EXPECT_EQ(limits.present("").size(), 0u);
  SocketPair d;
  EXPECT_EQ(limits.open(d.fd[0], who("1.1.1.1"), false).status, 429);
  EXPECT_EQ(limits.open(d.fd[0], who("2.2.2.2"), false).status, 0);
  EXPECT_EQ(limits.tracked(), 1u);
  limits.releaseIdle(c.fd[0], idc);
  limits.releaseIdle(b.fd[0], idb);
  EXPECT_EQ(limits.trackedIdle(), 1u);
  // A release for a socket that is not the registered one changes nothing.
  limits.releaseIdle(a.fd[0], idb);
  limits.releaseIdle(d.fd[0], idb);
  EXPECT_EQ(limits.trackedIdle(), 1u);
  EXPECT_EQ(limits.tracked(), 1u);
}

TEST(ConnectionLimits, AKeptAliveConnectionBecomingAStreamKeepsItsPlace) {
  ConnectionLimits limits(2, 2);
  SocketPair a, b, c;
  ConnectionLimits::Identity ida, idb;
  ASSERT_TRUE(limits.holdIdle(a.fd[0], "1.1.1.1", false, &ida));
  ASSERT_TRUE(limits.holdIdle(b.fd[0], "1.1.1.1", false, &idb));
  // At its per-address limit, the address's own kept-alive connection may
  // still become a stream: it is counted already.
  EXPECT_EQ(limits.open(a.fd[0], who("1.1.1.1", "room"), false).status, 0);
  EXPECT_EQ(limits.trackedIdle(), 1u);
  EXPECT_EQ(limits.tracked(), 1u);
  EXPECT_EQ(limits.present("room").size(), 1u);
  // The stream's entry is the hub's to release, not the connection's.
  limits.releaseIdle(a.fd[0], ida);
  EXPECT_EQ(limits.tracked(), 1u);
  // New to the total, though.
  ASSERT_EQ(limits.open(c.fd[0], who("2.2.2.2", "room"), false).status, 0);
  EXPECT_EQ(limits.open(b.fd[0], who("1.1.1.1", "room"), false).status, 503);
  EXPECT_EQ(limits.trackedIdle(), 1u);  // refused: still kept alive
}

TEST(HandshakeWatchdog, IdleConnectionsHoldTheirShareAndGoWhenThePoolIsFull) {
  HandshakeWatchdog w(nullptr);  // no thread: relieve() is called here
  w.setThreads(Pool::kServer, 4);
  w.setIdlePercent(50);  // two idle connections at most
  SocketPair a, b, c, d, other;
  uint64_t ta = w.add(a.fd[0], Pool::kServer);
  uint64_t tb = w.add(b.fd[0], Pool::kServer);
  uint64_t tc = w.add(c.fd[0], Pool::kServer);
  w.add(other.fd[0], Pool::kReturned);  // another pool: not counted here
  EXPECT_TRUE(w.mayIdle(Pool::kServer));
  EXPECT_TRUE(w.armIdle(ta, 0));
  EXPECT_TRUE(w.armIdle(tb, 0));
  EXPECT_FALSE(w.mayIdle(Pool::kServer));
  EXPECT_FALSE(w.armIdle(tc, 0));  // its share is taken
  EXPECT_FALSE(w.busy(Pool::kServer));
  EXPECT_EQ(w.relieve(Pool::kServer), 0u);  // a thread is still free
  uint64_t td = w.add(d.fd[0], Pool::kServer);
  EXPECT_TRUE(w.busy(Pool::kServer));
  EXPECT_EQ(w.relieve(Pool::kServer), 2u);
  // The idle ones' read side is shut (POCO sees the end of the stream);
  // they can still send. The busy ones are untouched.
  char byte;
  EXPECT_EQ(::recv(a.fd[0], &byte, 1, MSG_DONTWAIT), 0);
  EXPECT_EQ(::send(a.fd[0], "x", 1, MSG_NOSIGNAL), 1);
  EXPECT_EQ(::recv(c.fd[0], &byte, 1, MSG_DONTWAIT), -1);
  HandshakeWatchdog::PoolStats st = w.stats(Pool::kServer);
  EXPECT_EQ(st.connections, 4u);
  EXPECT_EQ(st.idle, 0u);
  EXPECT_EQ(st.idleClosed, 2u);
  EXPECT_EQ(w.relieve(Pool::kServer), 0u);  // each is closed once
  w.remove(ta);
  w.remove(td);
  EXPECT_FALSE(w.busy(Pool::kServer));
  EXPECT_EQ(w.stats(Pool::kReturned).connections, 1u);
}

TEST(Security, OneIPv6Slash64IsOneAddressForEveryLimit) {
  SecuritySettings settings;
  settings.sendRatePerIp = 1;
  settings.sendBurstPerIp = 1;
  settings.streamsPerIp = 1;
  settings.limitsExempt = TrustedProxies();  // loopback is not at stake here
  Security security(settings, TrustedProxies());
  // The publish rate.
  EXPECT_TRUE(security.admitPublish("2001:db8:0:1::1").ok());
  EXPECT_EQ(security.admitPublish("2001:db8:0:1:abcd::2").status, 429);
  EXPECT_TRUE(security.admitPublish("2001:db8:0:2::1").ok());  // next /64
  EXPECT_TRUE(security.admitPublish("192.0.2.1").ok());
  EXPECT_TRUE(security.admitPublish("192.0.2.2").ok());  // IPv4: per address
  // Open streams.
  SocketPair a, b, c;
  EXPECT_TRUE(security.admitStream(a.fd[0], who("2001:db8:0:1::1")).ok());
  EXPECT_EQ(security.admitStream(b.fd[0], who("2001:db8:0:1::ffff")).status,
            429);
  EXPECT_TRUE(security.admitStream(c.fd[0], who("2001:db8:0:2::1")).ok());
}

Status load(std::initializer_list<std::pair<const char*, const char*>> kv,
            SecuritySettings* out) {
  Poco::AutoPtr<Poco::Util::MapConfiguration> config(
      new Poco::Util::MapConfiguration);
  for (auto& p : kv) config->setString(p.first, p.second);
  return loadSecuritySettings(*config, out);
}

TEST(SecuritySettings, DefaultsProtectWithoutGettingInTheWay) {
  SecuritySettings s;
  ASSERT_TRUE(load({}, &s).ok());
  EXPECT_FALSE(s.jwtEnabled());
  EXPECT_FALSE(s.hasPrivateChannels());
  EXPECT_FALSE(s.presence);
  EXPECT_TRUE(s.corsOrigins.empty());
  EXPECT_EQ(s.streamsPerIp, 1000u);
  EXPECT_EQ(s.keepAliveIdlePercent, 50);
  Poco::Net::IPAddress loop("127.0.0.9"), v6("::1"), out("192.0.2.1");
  EXPECT_TRUE(s.limitsExempt.contains(loop));
  EXPECT_TRUE(s.limitsExempt.contains(v6));
  EXPECT_FALSE(s.limitsExempt.contains(out));
}

TEST(SecuritySettings, RefusesUnsafeCombinations) {
  SecuritySettings s;
  EXPECT_FALSE(load({{"rtdemo.auth.publish", "jwt"}}, &s).ok());  // no key
  EXPECT_FALSE(load({{"rtdemo.auth.publish", "jwt"},
                     {"rtdemo.auth.jwt.secret", "short"}},
                    &s)
                   .ok());
  EXPECT_FALSE(load({{"rtdemo.auth.publish", "basic"}}, &s).ok());
  EXPECT_FALSE(load({{"rtdemo.auth.jwt.algorithm", "none"}}, &s).ok());
  EXPECT_FALSE(load({{"rtdemo.auth.jwt.algorithm", "RS256"}}, &s).ok());
  EXPECT_FALSE(
      load({{"rtdemo.cors.origins", "*"}, {"rtdemo.cors.credentials", "on"}},
           &s)
          .ok());
  EXPECT_FALSE(
      load({{"rtdemo.cors.origins", "https://a.example/path"}}, &s).ok());
  EXPECT_FALSE(load({{"rtdemo.limits.channel.max-length", "65"}}, &s).ok());
  EXPECT_FALSE(load({{"rtdemo.limits.exempt", "localhost"}}, &s).ok());
  EXPECT_FALSE(
      load({{"rtdemo.limits.keep-alive.idle-percent", "101"}}, &s).ok());
  EXPECT_FALSE(
      load({{"rtdemo.limits.keep-alive.idle-percent", "half"}}, &s).ok());
  EXPECT_TRUE(load({{"rtdemo.cors.origins", "*"}}, &s).ok());
  EXPECT_TRUE(
      load({{"rtdemo.cors.origins", "https://a.example, http://b.example:8080"},
            {"rtdemo.cors.credentials", "on"},
            {"rtdemo.limits.exempt", ""}},
           &s)
          .ok());
  EXPECT_EQ(s.corsOrigins.size(), 2u);
  EXPECT_TRUE(s.limitsExempt.empty());
}

}  // namespace
}  // namespace rtdemo
