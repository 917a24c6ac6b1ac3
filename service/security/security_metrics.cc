// Security's families of /metrics (see security_metrics.h).
#include "service/security/security_metrics.h"

namespace rtdemo {

void writeSecurityMetrics(Security& security, PrometheusText* out) {
  const SecurityCounters& c = security.counters();
  PrometheusText& m = *out;
  m.family("rtdemo_refusals_total", "counter",
           "Requests refused by an authentication, origin or limit check "
           "(nothing was published or stored), by reason.");
  auto refusal = [&m](const char* reason, const char* code,
                      const std::atomic<uint64_t>& v) {
    m.sample("rtdemo_refusals_total",
             std::string("reason=\"") + reason + "\",code=\"" + code + "\"", v);
  };
  refusal("unauthorized", "401", c.unauthorized);
  refusal("forbidden", "403", c.forbidden);
  refusal("cross_site", "403", c.crossSite);
  refusal("preflight", "403", c.preflightRefused);
  refusal("send_rate", "429", c.sendRateLimited);
  refusal("streams_per_ip", "429", c.streamsPerAddress);
  refusal("streams_total", "503", c.streamsTotal);
  refusal("channel", "400", c.channelRefused);
  refusal("request_line", "414", c.requestLineTooLong);
  refusal("headers", "431", c.headersTooLarge);

  m.single("rtdemo_slow_handshakes_total", "counter",
           "Connections cut off for not sending a request head (or publish "
           "body) within rtdemo.limits.handshake.seconds.",
           c.slowHandshakes);

  m.family("rtdemo_keepalive_declined_total", "counter",
           "Answers that closed their connection (Connection: close) instead "
           "of keeping it alive: the pool had no thread to spare for an idle "
           "connection (every thread held, or "
           "rtdemo.limits.keep-alive.idle-percent of them idle already), or "
           "the client address held its connection limit.");
  m.sample("rtdemo_keepalive_declined_total", "reason=\"pool_busy\"",
           c.keepAliveDeclinedBusy);
  m.sample("rtdemo_keepalive_declined_total", "reason=\"per_ip\"",
           c.keepAliveDeclinedPerIp);

  using Stats = HandshakeWatchdog::PoolStats;
  Stats pools[kPools];
  for (size_t p = 0; p < kPools; ++p)
    pools[p] = security.watchdog().stats(static_cast<Pool>(p));
  auto perPool = [&](const char* name, const char* type, const char* help,
                     auto field) {
    m.family(name, type, help);
    for (size_t p = 0; p < kPools; ++p)
      m.sample(name,
               std::string("pool=\"") + poolName(static_cast<Pool>(p)) + "\"",
               uint64_t{field(pools[p])});
  };
  perPool("rtdemo_idle_connections_closed_total", "counter",
          "Kept-alive connections closed while idle because every thread "
          "of their pool was held.",
          [](const Stats& s) { return s.idleClosed; });
  perPool("rtdemo_pool_connections", "gauge",
          "HTTP connections holding a pool thread now (the server's pool, "
          "and the one for connections the hub hands back).",
          [](const Stats& s) { return s.connections; });
  perPool("rtdemo_pool_idle_connections", "gauge",
          "Of those, connections kept alive and waiting for their next "
          "request.",
          [](const Stats& s) { return s.idle; });
  perPool("rtdemo_pool_threads", "gauge",
          "Threads each pool may run at once (rtdemo.http.threads).",
          [](const Stats& s) { return s.threads; });

  m.family("rtdemo_sessions_total", "counter",
           "Requests that reached a publish or subscribe handler, by "
           "transport; each answer names its session in X-Session-Id.");
  m.sample("rtdemo_sessions_total", "transport=\"sse\"", c.sessionsSse);
  m.sample("rtdemo_sessions_total", "transport=\"poll\"", c.sessionsPoll);
  m.sample("rtdemo_sessions_total", "transport=\"send\"", c.sessionsSend);
  m.sample("rtdemo_sessions_total", "transport=\"ws\"", c.sessionsWs);

  m.single("rtdemo_tracked_streams", "gauge",
           "Subscriber connections counted against the stream limits now "
           "(closed ones leave at the next prune).",
           uint64_t{security.connections().tracked()});
  m.single("rtdemo_tracked_keepalive", "gauge",
           "HTTP connections kept alive between requests, counted against "
           "the per-address connection limit.",
           uint64_t{security.connections().trackedIdle()});
}

}  // namespace rtdemo
