// JwtVerifier and ChannelPatterns: every way a token is refused, and what a
// good one allows. Tokens are made with the verifier's own sign() (the one
// rtdemo-token uses) or crafted byte by byte for the attacks.
#include <gtest/gtest.h>


#include "Poco/JWT/Signer.h"
#include "Poco/JWT/Token.h"
#include "service/security/jwt_verifier.h"
#include "tests/support/base64url.h"

namespace rtdemo {
namespace {

const std::string kSecret = "0123456789abcdef0123456789abcdef";
constexpr int64_t kNow = 1800000000;

TokenClaims publishTo(std::vector<std::string> p) {
  TokenClaims c;
  c.publish = ChannelPatterns(std::move(p));
  return c;
}

TEST(ChannelPatterns, ExactPrefixAndWildcard) {
  ChannelPatterns p({"news", "team-7:*"});
  EXPECT_TRUE(p.covers("news"));
  EXPECT_FALSE(p.covers("news2"));
  EXPECT_FALSE(p.covers("new"));
  EXPECT_TRUE(p.covers("team-7:"));
  EXPECT_TRUE(p.covers("team-7:chat"));
  EXPECT_FALSE(p.covers("team-7"));
  EXPECT_FALSE(p.covers("team-70:chat"));
  EXPECT_TRUE(ChannelPatterns({"*"}).covers("anything"));
  EXPECT_FALSE(ChannelPatterns().covers("demo"));
}

TEST(JwtVerifier, AcceptsItsOwnToken) {
  JwtVerifier v(kSecret, "HS256", 30);
  TokenClaims c = publishTo({"news"});
  c.subscribe = ChannelPatterns({"private:*"});
  c.subject = "alice";
  TokenCheck check = v.verify(v.sign(c, kNow, 0, kNow + 60), kNow);
  ASSERT_TRUE(check.ok) << check.error;
  EXPECT_TRUE(check.claims.publish.covers("news"));
  EXPECT_TRUE(check.claims.subscribe.covers("private:x"));
  EXPECT_EQ(check.claims.subject, "alice");
  EXPECT_EQ(check.claims.expiresAt, kNow + 60);
}

TEST(JwtVerifier, RefusesMissingAndMalformed) {
  JwtVerifier v(kSecret, "HS256", 0);
  for (const std::string& t :
       std::vector<std::string>{"", "abc", "a.b", "a.b.c", "....", "e30.e30.",
                                std::string(9000, 'a')}) {
    TokenCheck check = v.verify(t, kNow);
    EXPECT_FALSE(check.ok) << t;
    EXPECT_FALSE(check.error.empty());
  }
}

TEST(JwtVerifier, RefusesBadSignature) {
  JwtVerifier v(kSecret, "HS256", 0);
  JwtVerifier other("another secret that is long enough!!", "HS256", 0);
  EXPECT_FALSE(v.verify(other.sign(publishTo({"*"}), kNow, 0, 0), kNow).ok);
  std::string t = v.sign(publishTo({"news"}), kNow, 0, 0);
  // Change the payload but keep the signature: it must no longer verify.
  size_t dot1 = t.find('.'), dot2 = t.rfind('.');
  std::string forged = t.substr(0, dot1 + 1) +
                       b64url(R"({"publish":["*"],"iat":1800000000})") +
                       t.substr(dot2);
  EXPECT_EQ(v.verify(forged, kNow).error, "bad token signature");
  std::string flipped = t;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(v.verify(flipped, kNow).ok);
}

TEST(JwtVerifier, RefusesAlgNone) {
  JwtVerifier v(kSecret, "HS256", 0);
  std::string payload = b64url(R"({"publish":["*"]})");
  for (std::string alg : {"none", "None", "NONE", ""}) {
    std::string header = b64url(R"({"alg":")" + alg + R"(","typ":"JWT"})");
    EXPECT_FALSE(v.verify(header + "." + payload + ".", kNow).ok) << alg;
    EXPECT_FALSE(v.verify(header + "." + payload + ".c2ln", kNow).ok) << alg;
  }
  std::string noAlg = b64url(R"({"typ":"JWT"})") + "." + payload + ".";
  EXPECT_FALSE(v.verify(noAlg, kNow).ok);
}

TEST(JwtVerifier, RefusesOtherAlgorithmsEvenWithTheRightKey) {
  JwtVerifier v(kSecret, "HS256", 0);
  Poco::JWT::Token token;
  token.payload().set("publish", Poco::JSON::Array::Ptr(new Poco::JSON::Array));
  Poco::JWT::Signer signer(kSecret);
  signer.addAlgorithm("HS512");
  std::string hs512 = signer.sign(token, "HS512");
  TokenCheck check = v.verify(hs512, kNow);
  EXPECT_FALSE(check.ok);
  EXPECT_NE(check.error.find("HS512"), std::string::npos);
  // And the other way round: a verifier configured for HS512 refuses HS256.
  JwtVerifier v512(kSecret, "HS512", 0);
  EXPECT_TRUE(v512.verify(hs512, kNow).ok);
  EXPECT_FALSE(v512.verify(v.sign(publishTo({"*"}), kNow, 0, 0), kNow).ok);
}

TEST(JwtVerifier, ExpiryAndNotBeforeWithLeeway) {
  JwtVerifier strict(kSecret, "HS256", 0);
  JwtVerifier lenient(kSecret, "HS256", 30);
  std::string expired = strict.sign(publishTo({"*"}), kNow - 100, 0, kNow - 10);
  EXPECT_EQ(strict.verify(expired, kNow).error, "token has expired");
  EXPECT_TRUE(lenient.verify(expired, kNow).ok);  // within 30 s of skew
  EXPECT_FALSE(lenient.verify(expired, kNow + 25).ok);
  std::string exactlyNow = strict.sign(publishTo({"*"}), kNow, 0, kNow);
  EXPECT_FALSE(strict.verify(exactlyNow, kNow).ok);

  std::string future = strict.sign(publishTo({"*"}), kNow, kNow + 10, 0);
  EXPECT_EQ(strict.verify(future, kNow).error, "token is not valid yet");
  EXPECT_TRUE(lenient.verify(future, kNow).ok);
  EXPECT_TRUE(strict.verify(future, kNow + 10).ok);
}

TEST(JwtVerifier, ZeroIsADateNotAnAbsentClaim) {
  JwtVerifier v(kSecret, "HS256", 30);
  Poco::JWT::Signer signer(kSecret);
  auto withClaim = [&](const std::string& name, Poco::Dynamic::Var value) {
    Poco::JWT::Token t;
    Poco::JSON::Array::Ptr all = new Poco::JSON::Array;
    all->add(std::string("*"));
    t.payload().set("publish", all);
    t.payload().set(name, value);
    return signer.sign(t, "HS256");
  };
  // exp 0 is 1970-01-01: long expired, whatever the leeway.
  TokenCheck expired = v.verify(withClaim("exp", Poco::Int64(0)), kNow);
  EXPECT_FALSE(expired.ok);
  EXPECT_EQ(expired.error, "token has expired");
  EXPECT_FALSE(v.verify(withClaim("exp", 0.5), kNow).ok);
  // nbf 0 is checked too, and has long passed.
  TokenCheck since1970 = v.verify(withClaim("nbf", Poco::Int64(0)), kNow);
  EXPECT_TRUE(since1970.ok) << since1970.error;
  EXPECT_FALSE(since1970.claims.expiresAt.has_value());
}

TEST(JwtVerifier, ExposesTheExpiryOrNone) {
  JwtVerifier v(kSecret, "HS256", 30);
  TokenCheck withExp = v.verify(v.sign(publishTo({"*"}), kNow, 0, kNow + 5), kNow);
  ASSERT_TRUE(withExp.ok);
  ASSERT_TRUE(withExp.claims.expiresAt.has_value());
  EXPECT_EQ(*withExp.claims.expiresAt, kNow + 5);
  TokenCheck noExp = v.verify(v.sign(publishTo({"*"}), kNow, 0, 0), kNow);
  ASSERT_TRUE(noExp.ok);
  EXPECT_FALSE(noExp.claims.expiresAt.has_value());
}

TEST(JwtVerifier, TheRefusalQuotesNoControlCharacterOfTheToken) {
  JwtVerifier v(kSecret, "HS256", 0);
  std::string token = b64url(R"({"alg":"x\nFORGED LOG LINE","typ":"JWT"})") +
                      "." + b64url(R"({"publish":["*"]})") + ".AAAA";
  TokenCheck check = v.verify(token, kNow);
  EXPECT_FALSE(check.ok);
  EXPECT_EQ(check.error.find('\n'), std::string::npos) << check.error;
  EXPECT_NE(check.error.find("x?FORGED"), std::string::npos) << check.error;
}

TEST(JwtVerifier, RefusesClaimsOfTheWrongType) {
  JwtVerifier v(kSecret, "HS256", 0);
  Poco::JWT::Signer signer(kSecret);
  auto signed_ = [&](const std::string& name, Poco::Dynamic::Var value) {
    Poco::JWT::Token t;
    t.payload().set(name, value);
    return signer.sign(t, "HS256");
  };
  EXPECT_FALSE(v.verify(signed_("exp", std::string("tomorrow")), kNow).ok);
  EXPECT_FALSE(v.verify(signed_("nbf", std::string("now")), kNow).ok);
  EXPECT_FALSE(v.verify(signed_("publish", std::string("*")), kNow).ok);
  Poco::JSON::Array::Ptr mixed = new Poco::JSON::Array;
  mixed->add(std::string("news"));
  mixed->add(7);
  EXPECT_FALSE(v.verify(signed_("publish", mixed), kNow).ok);
}

}  // namespace
}  // namespace rtdemo
