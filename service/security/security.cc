// The transport-neutral rules (see security.h).
#include "service/security/security.h"

#include <chrono>

namespace rtdemo {
namespace {

int64_t unixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Security::Security(SecuritySettings settings, TrustedProxies trustedProxies)
    : settings_(std::move(settings)),
      trustedProxies_(std::move(trustedProxies)),
      cors_(settings_),
      verifier_(settings_.jwtSecret.empty()
                    ? nullptr
                    : std::make_unique<JwtVerifier>(
                          settings_.jwtSecret, settings_.jwtAlgorithm,
                          settings_.jwtLeewaySeconds)),
      sendRate_(settings_.sendRatePerIp, settings_.sendBurstPerIp),
      connections_(settings_.streamsPerIp, settings_.streamsTotal),
      watchdog_(&counters_.slowHandshakes) {
  watchdog_.setIdlePercent(settings_.keepAliveIdlePercent);
}

Security::~Security() { stop(); }

void Security::start() { watchdog_.start(); }
void Security::stop() { watchdog_.stop(); }

bool Security::isPrivate(const std::string& channel) const {
  return settings_.hasPrivateChannels() &&
         channel.compare(0, settings_.privatePrefix.size(),
                         settings_.privatePrefix) == 0;
}

bool Security::exempt(const std::string& address) const {
  if (settings_.limitsExempt.empty()) return false;
  Poco::Net::IPAddress ip;
  return Poco::Net::IPAddress::tryParse(address, ip) &&
         settings_.limitsExempt.contains(ip);
}

Verdict Security::checkRequestHead(size_t lineBytes, size_t fieldCount,
                                   size_t fieldBytes) {
  if (settings_.requestLineMaxBytes > 0 &&
      lineBytes > settings_.requestLineMaxBytes) {
    counters_.requestLineTooLong++;
    return {414, "request line is longer than " +
                     std::to_string(settings_.requestLineMaxBytes) +
                     " bytes (rtdemo.limits.request-line.bytes)"};
  }
  if (fieldCount > settings_.headerMaxCount) {
    counters_.headersTooLarge++;
    return {431, "more than " + std::to_string(settings_.headerMaxCount) +
                     " header fields (rtdemo.limits.header.count)"};
  }
  if (fieldBytes > settings_.headerMaxBytes) {
    counters_.headersTooLarge++;
    return {431, "header fields are larger than " +
                     std::to_string(settings_.headerMaxBytes) +
                     " bytes (rtdemo.limits.header.bytes)"};
  }
  return {};
}

Verdict Security::checkChannel(const std::string& channel) {
  if (channel.size() <= settings_.channelMaxLength) return {};
  counters_.channelRefused++;
  return {400, "channel is longer than " +
                   std::to_string(settings_.channelMaxLength) +
                   " characters (rtdemo.limits.channel.max-length)"};
}

Verdict Security::checkToken(const Credentials& credentials, TokenCheck* out) {
  if (!credentials.malformed.empty()) return {401, credentials.malformed};
  if (credentials.source == Credentials::Source::kNone)
    return {401, "missing token: send Authorization: Bearer <token> or the " +
                     settings_.tokenCookie + " cookie"};
  if (!verifier_) return {401, "tokens are not accepted: no key is configured"};
  *out = verifier_->verify(credentials.token, unixSeconds());
  if (!out->ok) return {401, out->error};
  return {};
}

Verdict Security::checkPublish(const Credentials& credentials,
                               const std::string& channel) {
  if (!settings_.jwtEnabled()) return {};
  TokenCheck check;
  Verdict v = checkToken(credentials, &check);
  if (!v.ok()) return v;
  if (!check.claims.publish.covers(channel))
    return {403, "token may not publish to channel " + channel};
  v.tokenExpiresAt = check.claims.expiresAt;
  return v;
}

Verdict Security::checkSubscribe(const Credentials& credentials,
                                 const std::string& channel) {
  if (!isPrivate(channel)) return {};
  TokenCheck check;
  Verdict v = checkToken(credentials, &check);
  if (!v.ok()) return v;
  if (!check.claims.subscribe.covers(channel))
    return {403, "token may not subscribe to channel " + channel};
  v.tokenExpiresAt = check.claims.expiresAt;
  return v;
}

Verdict Security::admitStream(int fd, const Subscriber& who) {
  Subscriber counted = who;
  counted.address = limitUnit(who.address);  // an IPv6 client is its /64
  LimitDecision d = connections_.open(fd, counted, exempt(who.address));
  if (d.status == 0) return {};
  (d.status == 429 ? counters_.streamsPerAddress : counters_.streamsTotal)++;
  return {d.status, d.error, settings_.retryAfterSeconds};
}

Verdict Security::admitPublish(const std::string& address) {
  if (exempt(address)) return {};
  int wait = sendRate_.take(limitUnit(address), HandshakeWatchdog::nowMs());
  if (wait == 0) return {};
  counters_.sendRateLimited++;
  return {429, "too many publishes from this address; retry later", wait};
}

}  // namespace rtdemo
