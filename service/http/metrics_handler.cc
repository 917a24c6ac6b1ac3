// GET /metrics: the service's counters in Prometheus' text exposition format
// (version 0.0.4), for a Prometheus server or anything that reads it.
//
// Everything here is read from relaxed atomics that the hot paths keep anyway
// (HubStats, SendCounters, the publish-latency histogram), so a scrape costs
// the hub and /send nothing. The active probes are Broker::health() for
// rtdemo_backend_up, the same call /healthz makes, and Broker::historyStats()
// for the rtdemo_history_* gauges (a Redis round trip on the redis backend).
//
// Names follow Prometheus conventions: an rtdemo_ prefix, base units
// (seconds), `_total` on counters, one metric with a label rather than one
// name per value (transport, code). Counters start at 0 when rtdemo starts.
#include <cstdio>
#include <string>

#include "Poco/Net/HTTPServerResponse.h"
#include "service/http/handlers.h"

#ifndef RTDEMO_VERSION
#define RTDEMO_VERSION "dev"
#endif

namespace rtdemo {
namespace {

// Label values are quoted; the format escapes backslash, quote and newline.
std::string labelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

// Shortest round-trip-ish form: "0.00025", "1", "2.5"; le labels must match
// from scrape to scrape, so the same bound always prints the same.
std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

class Exposition {
 public:
  void family(const char* name, const char* type, const char* help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  // `labels` is either empty or already formatted: a="x",b="y".
  void sample(const std::string& name, const std::string& labels, const std::string& value) {
    out_ += name;
    if (!labels.empty()) out_ += "{" + labels + "}";
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }
  void sample(const std::string& name, const std::string& labels, uint64_t value) {
    sample(name, labels, std::to_string(value));
  }
  void sample(const std::string& name, const std::string& labels, int64_t value) {
    sample(name, labels, std::to_string(value));
  }
  const std::string& str() const { return out_; }

 private:
  std::string out_;
};

uint64_t get(const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); }
int64_t get(const std::atomic<int64_t>& a) { return a.load(std::memory_order_relaxed); }

}  // namespace

void MetricsHandler::handle(Poco::Net::HTTPServerRequest&,
                            Poco::Net::HTTPServerResponse& response) {
  const HubStats& hub = ctx_->hub->stats();
  const SendCounters& sends = ctx_->sends;
  const std::string backend = labelValue(ctx_->broker->name());
  const std::string backendLabel = "backend=\"" + backend + "\"";
  Exposition m;

  m.family("rtdemo_build_info", "gauge", "Version and history backend of this process; always 1.");
  m.sample("rtdemo_build_info",
           "version=\"" + labelValue(RTDEMO_VERSION) + "\"," + backendLabel, int64_t{1});

  m.family("rtdemo_backend_up", "gauge",
           "1 when the backend can accept publishes now (as /healthz), else 0.");
  m.sample("rtdemo_backend_up", backendLabel,
           int64_t{ctx_->broker->health().ok() ? 1 : 0});

  m.family("rtdemo_open_connections", "gauge",
           "Subscriber connections held by the hub now, by transport.");
  m.sample("rtdemo_open_connections", "transport=\"sse\"", get(hub.streamsOpen));
  m.sample("rtdemo_open_connections", "transport=\"poll\"", get(hub.pollsHeld));
  m.sample("rtdemo_open_connections", "transport=\"websocket\"", get(hub.websocketsOpen));

  m.family("rtdemo_hub_io_uring_loops", "gauge",
           "Hub loops that send each fan-out in one io_uring submission; the "
           "others make one send() per socket (rtdemo.hub.io-uring).");
  m.sample("rtdemo_hub_io_uring_loops", "", get(hub.batchingLoops));

  m.family("rtdemo_http_requests_in_flight", "gauge",
           "HTTP handlers running now on the request pool.");
  m.sample("rtdemo_http_requests_in_flight", "",
           int64_t{ctx_->inFlight.load(std::memory_order_relaxed)});

  m.family("rtdemo_messages_published_total", "counter",
           "Messages stored, by where they came from: POST /send (answered 201), "
           "a WebSocket publish (acknowledged), the demo ticker.");
  m.sample("rtdemo_messages_published_total", "via=\"send\"", get(sends.created));
  m.sample("rtdemo_messages_published_total", "via=\"websocket\"", get(hub.wsPublished));
  m.sample("rtdemo_messages_published_total", "via=\"demo\"", get(ctx_->demoPublished));

  m.family("rtdemo_messages_delivered_total", "counter",
           "Message writes to subscriber connections, live and replayed.");
  m.sample("rtdemo_messages_delivered_total", "", get(hub.delivered));

  m.family("rtdemo_messages_replayed_total", "counter",
           "Messages sent to a resuming subscriber from history.");
  m.sample("rtdemo_messages_replayed_total", "", get(hub.replayed));

  m.family("rtdemo_resets_total", "counter",
           "Cursors that history could not serve, answered with a reset.");
  m.sample("rtdemo_resets_total", "", get(hub.resets));

  m.family("rtdemo_slow_subscriber_disconnects_total", "counter",
           "Streams cut off for passing rtdemo.stream.buffer.bytes of unsent data.");
  m.sample("rtdemo_slow_subscriber_disconnects_total", "", get(hub.slowDisconnects));

  m.family("rtdemo_heartbeats_total", "counter", "Heartbeat writes to SSE streams and WebSockets.");
  m.sample("rtdemo_heartbeats_total", "", get(hub.heartbeats));

  m.family("rtdemo_poll_continuations_total", "counter",
           "Long polls read and answered by a hub loop on a kept-alive connection, "
           "without the HTTP server.");
  m.sample("rtdemo_poll_continuations_total", "", get(hub.pollsContinued));

  m.family("rtdemo_history_pages_total", "counter",
           "History pages read for replays and polls by the hub; a replay reads the "
           "next page only once its socket has taken the last one.");
  m.sample("rtdemo_history_pages_total", "", get(hub.historyPages));

  m.family("rtdemo_token_expiries_total", "counter",
           "Subscriptions to private channels ended because the token that allowed "
           "them expired (SSE token-expired event, poll 401, WebSocket expired message).");
  m.sample("rtdemo_token_expiries_total", "", get(hub.tokenExpiries));

  m.family("rtdemo_hub_connection_errors_total", "counter",
           "Connections a hub loop closed because serving them raised an error "
           "(each is logged in one line); the loop itself goes on.");
  m.sample("rtdemo_hub_connection_errors_total", "", get(hub.connErrors));

  m.family("rtdemo_hub_busy_refusals_total", "counter",
           "WebSocket subscribes and publishes and re-polls refused with 503 because "
           "rtdemo.hub.worker-queue requests already waited for the hub's workers.");
  m.sample("rtdemo_hub_busy_refusals_total", "", get(hub.busyRefusals));

  m.family("rtdemo_send_requests_total", "counter", "POST /send answers, by status code.");
  m.sample("rtdemo_send_requests_total", "code=\"201\"", get(sends.created));
  m.sample("rtdemo_send_requests_total", "code=\"400\"", get(sends.badRequest));
  m.sample("rtdemo_send_requests_total", "code=\"413\"", get(sends.tooLarge));
  m.sample("rtdemo_send_requests_total", "code=\"500\"", get(sends.failed));
  m.sample("rtdemo_send_requests_total", "code=\"503\"", get(sends.unavailable));

  m.family("rtdemo_backend_errors_total", "counter",
           "Publishes the backend refused or failed (any status but OK).");
  m.sample("rtdemo_backend_errors_total", backendLabel, get(sends.backendErrors));

  // History across channels against its cap (storage/history_cap.h). On
  // Redis the two gauges are Redis's, the same on every instance sharing the
  // prefix; the counters are this instance's evictions.
  HistoryStats history;
  Status historyStatus = ctx_->broker->historyStats(&history);
  if (historyStatus.code() != Status::Code::kNotSupported) {
    if (historyStatus.ok()) {
      m.family("rtdemo_history_retained_bytes", "gauge",
               "Bytes of history retained across all channels, as counted against "
               "rtdemo.history.max-bytes (data + event + 64 per message).");
      m.sample("rtdemo_history_retained_bytes", "", history.retainedBytes);
      m.family("rtdemo_history_channels", "gauge",
               "Channels history knows, counted against rtdemo.history.max-channels.");
      m.sample("rtdemo_history_channels", "", history.channels);
    }
    m.family("rtdemo_history_max_bytes", "gauge", "rtdemo.history.max-bytes.");
    m.sample("rtdemo_history_max_bytes", "", uint64_t{ctx_->settings.broker.historyMaxBytes});
    m.family("rtdemo_history_max_channels", "gauge", "rtdemo.history.max-channels.");
    m.sample("rtdemo_history_max_channels", "",
             uint64_t{ctx_->settings.broker.historyMaxChannels});
    m.family("rtdemo_history_evicted_channels_total", "counter",
             "Channels whose whole history the global cap evicted, least recently "
             "published first; their readers get a reset.");
    m.sample("rtdemo_history_evicted_channels_total", "", history.evictedChannels);
    m.family("rtdemo_history_evicted_messages_total", "counter",
             "Messages the global cap removed, those of evicted channels included.");
    m.sample("rtdemo_history_evicted_messages_total", "", history.evictedMessages);
  }

  LatencyHistogram::Snapshot latency = ctx_->publishLatency.snapshot();
  m.family("rtdemo_publish_duration_seconds", "histogram",
           "Time Broker::publish took for POST /send, successful or not.");
  for (size_t i = 0; i < LatencyHistogram::kBoundsSeconds.size(); ++i)
    m.sample("rtdemo_publish_duration_seconds_bucket",
             "le=\"" + number(LatencyHistogram::kBoundsSeconds[i]) + "\"",
             latency.cumulative[i]);
  m.sample("rtdemo_publish_duration_seconds_bucket", "le=\"+Inf\"", latency.cumulative.back());
  m.sample("rtdemo_publish_duration_seconds_sum", "", number(latency.sumSeconds));
  m.sample("rtdemo_publish_duration_seconds_count", "", latency.count);

  const std::string body = m.str() + securityMetrics(*ctx_->security);
  response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_OK);
  response.setContentType("text/plain; version=0.0.4; charset=utf-8");
  response.set("Cache-Control", "no-cache");
  response.setContentLength(static_cast<std::streamsize>(body.size()));
  response.sendBuffer(body.data(), body.size());
}

}  // namespace rtdemo
