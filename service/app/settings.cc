// Reading and validating rtdemo.* keys (see settings.h).
#include "service/app/settings.h"

#include <limits>

#include "service/config/config_reader.h"
#include "service/protocol/validation.h"

namespace rtdemo {

Status loadSettings(const Poco::Util::AbstractConfiguration& config,
                    Settings* out) {
  Settings s;
  ConfigReader r(config);
  constexpr int64_t kIntMax = std::numeric_limits<int>::max();

  r.text("rtdemo.bind", &s.bind);
  r.integer("rtdemo.port", 0, 65535, &s.port);
  r.text("rtdemo.port-file", &s.portFile);
  r.boolean("rtdemo.reuse-port", &s.reusePort);
  r.integer("rtdemo.http.threads", 2, 1024, &s.httpThreads);
  r.integer("rtdemo.http.queue", 16, 1000000, &s.httpQueue);
  r.integer("rtdemo.hub.loops", 1, 64, &s.hubLoops);
  r.oneOf("rtdemo.hub.io-uring", {"auto", "on", "off"}, &s.hubIoUring);
  std::string proxies;
  r.text("rtdemo.trusted-proxies", &proxies);
  if (r.status().ok() && !TrustedProxies::parse(proxies, &s.trustedProxies).ok())
    r.fail("rtdemo.trusted-proxies", proxies, "comma-separated IP addresses or CIDR ranges");

  r.integer("rtdemo.heartbeat.seconds", 1, 3600, &s.heartbeatSeconds);
  r.integer("rtdemo.poll.timeout.seconds", 1, 3600, &s.pollTimeoutSeconds);
  r.integer("rtdemo.poll.max-batch", 1, 100000, &s.pollMaxBatch);
  r.integer("rtdemo.retry.ms", 0, 3600000, &s.retryMs);
  r.integer("rtdemo.retry.jitter.ms", 0, 3600000, &s.retryJitterMs);
  r.size("rtdemo.stream.buffer.bytes", 4096, int64_t(1) << 32,
         &s.streamBufferBytes);
  r.size("rtdemo.send.max-bytes", 1, 64 << 20, &s.sendMaxBytes);
  r.size("rtdemo.streams.max-bytes", 1, 256 << 20, &s.streamMaxBytes);
  r.integer("rtdemo.hub.worker-queue", 1, 1000000, &s.hubWorkerQueue);
  r.integer("rtdemo.ws.subscribe-rate", 1, 100000, &s.wsSubscribeRate);
  r.integer("rtdemo.ws.in-flight", 1, 10000, &s.wsInFlight);

  r.integer("rtdemo.demo.interval.seconds", 0, 86400, &s.demoIntervalSeconds);
  r.text("rtdemo.demo.channel", &s.demoChannel);
  r.text("rtdemo.web.root", &s.webRoot);
  r.oneOf("rtdemo.log.level",
          {"fatal", "critical", "error", "warning", "notice", "information",
           "debug", "trace"},
          &s.logLevel);

  BrokerConfig& b = s.broker;
  r.oneOf("rtdemo.backend", {"memory", "sqlite", "redis"}, &b.backend);
  r.size("rtdemo.history.size", 1, 100000000, &b.historySize);
  r.integer64("rtdemo.history.max-age.seconds", 0, kIntMax,
              &b.historyMaxAgeSeconds);
  r.unsigned64("rtdemo.history.max-bytes", 1, int64_t(1) << 50, &b.historyMaxBytes);
  r.size("rtdemo.history.max-channels", 1, 100000000, &b.historyMaxChannels);
  r.text("rtdemo.sqlite.path", &b.sqlitePath);
  r.oneOf("rtdemo.sqlite.synchronous", {"full", "normal"},
          &b.sqliteSynchronous);
  r.integer("rtdemo.sqlite.busy-timeout.ms", 0, 600000, &b.sqliteBusyTimeoutMs);
  r.text("rtdemo.redis.host", &b.redisHost);
  r.integer("rtdemo.redis.port", 1, 65535, &b.redisPort);
  r.text("rtdemo.redis.password", &b.redisPassword);
  r.integer("rtdemo.redis.db", 0, 1000000, &b.redisDb);
  r.text("rtdemo.redis.prefix", &b.redisPrefix);
  r.integer("rtdemo.redis.timeout.ms", 1, 600000, &b.redisTimeoutMs);
  r.size("rtdemo.send.batch.max-messages", 1, 1000000, &b.batchMaxMessages);
  r.unsigned64("rtdemo.send.batch.max-bytes", 1, int64_t(1) << 40, &b.batchMaxBytes);

  if (r.status().ok()) {
    std::string reason = checkChannelName(s.demoChannel);
    if (!reason.empty()) r.fail("rtdemo.demo.channel", s.demoChannel, "a valid channel name (" + reason + ")");
  }
  if (r.status().ok() && s.bind.empty()) r.fail("rtdemo.bind", "", "an address such as 127.0.0.1 or 0.0.0.0");
  if (r.status().ok() && b.backend == "sqlite" && b.sqlitePath.empty())
    r.fail("rtdemo.sqlite.path", "", "a file path");
  if (!r.status().ok()) return r.status();
  Status security = loadSecuritySettings(config, &s.security);
  if (!security.ok()) return security;
  *out = s;
  return Status::OK();
}

}  // namespace rtdemo
