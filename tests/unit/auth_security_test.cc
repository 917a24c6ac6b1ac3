// Security's transport-neutral token rules (security.h) without a server:
// what checkSubscribe() and checkPublish() decide, and the token expiry they
// hand on so that a stream can be ended when its token expires.
#include <gtest/gtest.h>

#include <chrono>

#include "service/security/security.h"

namespace rtdemo {
namespace {

const std::string kSecret = "0123456789abcdef0123456789abcdef";

int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

SecuritySettings jwtSettings() {
  SecuritySettings s;
  s.publishAuth = "jwt";
  s.jwtSecret = kSecret;
  s.privatePrefix = "private:";
  return s;
}

Credentials bearer(const std::string& token) {
  Credentials c;
  c.source = Credentials::Source::kHeader;
  c.token = token;
  return c;
}

std::string token(int64_t expiresAt) {
  TokenClaims claims;
  claims.publish = ChannelPatterns({"*"});
  claims.subscribe = ChannelPatterns({"private:*"});
  return JwtVerifier(kSecret, "HS256", 0).sign(claims, now(), 0, expiresAt);
}

TEST(Security, ChecksHandOnTheTokenExpiry) {
  Security security(jwtSettings(), TrustedProxies());
  const int64_t exp = now() + 600;
  Verdict sub = security.checkSubscribe(bearer(token(exp)), "private:room");
  ASSERT_TRUE(sub.ok()) << sub.error;
  ASSERT_TRUE(sub.tokenExpiresAt.has_value());
  EXPECT_EQ(*sub.tokenExpiresAt, exp);
  Verdict pub = security.checkPublish(bearer(token(exp)), "news");
  ASSERT_TRUE(pub.ok()) << pub.error;
  EXPECT_EQ(pub.tokenExpiresAt, std::optional<int64_t>(exp));

  // A token without exp never expires; a public channel checks no token,
  // so nothing about it can expire either.
  EXPECT_FALSE(security.checkSubscribe(bearer(token(0)), "private:room")
                   .tokenExpiresAt.has_value());
  EXPECT_FALSE(security.checkSubscribe(bearer(token(exp)), "public")
                   .tokenExpiresAt.has_value());
}

TEST(Security, AnExpiredTokenIsRefused) {
  Security security(jwtSettings(), TrustedProxies());
  Verdict v =
      security.checkSubscribe(bearer(token(now() - 3600)), "private:room");
  EXPECT_EQ(v.status, 401);
  EXPECT_FALSE(v.tokenExpiresAt.has_value());
}

}  // namespace
}  // namespace rtdemo
