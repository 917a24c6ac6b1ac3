// GET /metrics: the service's counters in Prometheus' text exposition format
// (version 0.0.4), for a Prometheus server or anything that reads it.
//
// Everything here is read from relaxed atomics that the hot paths keep anyway
// (HubStats, SendCounters, the publish-latency histogram), so a scrape costs
// the hub and /send nothing. The active probes are Broker::health() for
// rtdemo_backend_up, the same call /healthz makes, and Broker::historyStats()
// for the rtdemo_history_* gauges (a Redis round trip on the redis backend).
//
// The answer is gathered from each part into one PrometheusText
// (metrics/prometheus_text.h, which also states the naming conventions):
// the hub's, /send's, history's and the publish latency here, then
// security's (security/security_metrics.h). Counters start at 0 when rtdemo
// starts.
#include <string>

#include "Poco/Net/HTTPServerResponse.h"
#include "service/http/handlers.h"
#include "service/metrics/prometheus_text.h"
#include "service/security/security_metrics.h"

#ifndef RTDEMO_VERSION
#define RTDEMO_VERSION "dev"
#endif

namespace rtdemo {

void MetricsHandler::handle(Poco::Net::HTTPServerRequest&,
                            Poco::Net::HTTPServerResponse& response) {
  const HubStats& hub = ctx_->hub->stats();
  const SendCounters& sends = ctx_->sends;
  const std::string backend = PrometheusText::labelValue(ctx_->broker->name());
  const std::string backendLabel = "backend=\"" + backend + "\"";
  PrometheusText m;

  m.family("rtdemo_build_info", "gauge", "Version and history backend of this process; always 1.");
  m.sample("rtdemo_build_info",
           "version=\"" + PrometheusText::labelValue(RTDEMO_VERSION) + "\"," + backendLabel,
           int64_t{1});

  m.family("rtdemo_backend_up", "gauge",
           "1 when the backend can accept publishes now (as /healthz), else 0.");
  m.sample("rtdemo_backend_up", backendLabel,
           int64_t{ctx_->broker->health().ok() ? 1 : 0});

  m.family("rtdemo_open_connections", "gauge",
           "Subscriber connections held by the hub now, by transport.");
  m.sample("rtdemo_open_connections", "transport=\"sse\"", hub.streamsOpen);
  m.sample("rtdemo_open_connections", "transport=\"poll\"", hub.pollsHeld);
  m.sample("rtdemo_open_connections", "transport=\"websocket\"", hub.websocketsOpen);

  m.family("rtdemo_hub_polls", "gauge",
           "Long-poll connections on the hub by state: parked (waiting for a message "
           "or their timeout) and idle (answered, kept alive for the next request).");
  m.sample("rtdemo_hub_polls", "state=\"parked\"", hub.pollsParked);
  m.sample("rtdemo_hub_polls", "state=\"idle\"", hub.pollsIdle);

  m.single("rtdemo_hub_io_uring_loops", "gauge",
           "Hub loops that send each fan-out in one io_uring submission; the "
           "others make one send() per socket (rtdemo.hub.io-uring).",
           hub.batchingLoops);

  m.single("rtdemo_http_requests_in_flight", "gauge",
           "HTTP handlers running now on the request pool.",
           int64_t{ctx_->inFlight.load(std::memory_order_relaxed)});

  m.single("rtdemo_stream_readers_waiting", "gauge",
           "Durable Streams readers (long poll at the tail, SSE caught up) the hub "
           "holds until their stream moves.",
           static_cast<int64_t>(ctx_->hub->streamWaiters().waiting()));

  m.family("rtdemo_messages_published_total", "counter",
           "Messages stored, by where they came from: POST /send (answered 201), "
           "a WebSocket publish (acknowledged), the demo ticker.");
  m.sample("rtdemo_messages_published_total", "via=\"send\"", sends.messages);
  m.sample("rtdemo_messages_published_total", "via=\"websocket\"", hub.wsPublished);
  m.sample("rtdemo_messages_published_total", "via=\"demo\"", ctx_->demoPublished);

  m.single("rtdemo_messages_delivered_total", "counter",
           "Message writes to subscriber connections, live and replayed.",
           hub.delivered);

  m.single("rtdemo_messages_replayed_total", "counter",
           "Messages sent to a resuming subscriber from history.",
           hub.replayed);

  m.single("rtdemo_resets_total", "counter",
           "Cursors that history could not serve, answered with a reset.",
           hub.resets);

  m.single("rtdemo_slow_subscriber_disconnects_total", "counter",
           "Streams cut off for passing rtdemo.stream.buffer.bytes of unsent data.",
           hub.slowDisconnects);

  m.single("rtdemo_heartbeats_total", "counter", "Heartbeat writes to SSE streams and WebSockets.",
           hub.heartbeats);

  m.single("rtdemo_poll_continuations_total", "counter",
           "Long polls read and answered by a hub loop on a kept-alive connection, "
           "without the HTTP server.",
           hub.pollsContinued);

  m.single("rtdemo_history_pages_total", "counter",
           "History pages read for replays and polls by the hub; a replay reads the "
           "next page only once its socket has taken the last one.",
           hub.historyPages);

  m.single("rtdemo_token_expiries_total", "counter",
           "Subscriptions to private channels ended because the token that allowed "
           "them expired (SSE token-expired event, poll 401, WebSocket expired message).",
           hub.tokenExpiries);

  m.single("rtdemo_hub_connection_errors_total", "counter",
           "Connections a hub loop closed because serving them raised an error "
           "(each is logged in one line); the loop itself goes on.",
           hub.connErrors);

  m.single("rtdemo_hub_busy_refusals_total", "counter",
           "WebSocket subscribes and publishes and re-polls refused with 503 because "
           "rtdemo.hub.worker-queue requests already waited for the hub's workers.",
           hub.busyRefusals);

  m.family("rtdemo_send_requests_total", "counter", "POST /send answers, by status code.");
  m.sample("rtdemo_send_requests_total", "code=\"201\"", sends.created);
  m.sample("rtdemo_send_requests_total", "code=\"400\"", sends.badRequest);
  m.sample("rtdemo_send_requests_total", "code=\"413\"", sends.tooLarge);
  m.sample("rtdemo_send_requests_total", "code=\"500\"", sends.failed);
  m.sample("rtdemo_send_requests_total", "code=\"503\"", sends.unavailable);

  m.family("rtdemo_backend_errors_total", "counter",
           "Publishes the backend refused or failed (any status but OK).");
  m.sample("rtdemo_backend_errors_total", backendLabel, sends.backendErrors);

  // History across channels against its cap (storage/history_cap.h). On
  // Redis the two gauges are Redis's, the same on every instance sharing the
  // prefix; the counters are this instance's evictions.
  HistoryStats history;
  Status historyStatus = ctx_->broker->historyStats(&history);
  if (historyStatus.code() != Status::Code::kNotSupported) {
    if (historyStatus.ok()) {
      m.single("rtdemo_history_retained_bytes", "gauge",
               "Bytes of history retained across all channels, as counted against "
               "rtdemo.history.max-bytes (data + event + 64 per message).",
               history.retainedBytes);
      m.single("rtdemo_history_channels", "gauge",
               "Channels history knows, counted against rtdemo.history.max-channels.",
               history.channels);
    }
    m.single("rtdemo_history_max_bytes", "gauge", "rtdemo.history.max-bytes.",
             ctx_->settings.historyMaxBytes);
    m.single("rtdemo_history_max_channels", "gauge", "rtdemo.history.max-channels.",
             uint64_t{ctx_->settings.historyMaxChannels});
    m.single("rtdemo_history_evicted_channels_total", "counter",
             "Channels whose whole history the global cap evicted, least recently "
             "published first; their readers get a reset.",
             history.evictedChannels);
    m.single("rtdemo_history_evicted_messages_total", "counter",
             "Messages the global cap removed, those of evicted channels included.",
             history.evictedMessages);
  }

  LatencyHistogram::Snapshot latency = ctx_->publishLatency.snapshot();
  m.family("rtdemo_publish_duration_seconds", "histogram",
           "Time Broker::publish took for POST /send, successful or not.");
  for (size_t i = 0; i < LatencyHistogram::kBoundsSeconds.size(); ++i)
    m.sample("rtdemo_publish_duration_seconds_bucket",
             "le=\"" + PrometheusText::number(LatencyHistogram::kBoundsSeconds[i]) + "\"",
             latency.cumulative[i]);
  m.sample("rtdemo_publish_duration_seconds_bucket", "le=\"+Inf\"", latency.cumulative.back());
  m.sample("rtdemo_publish_duration_seconds_sum", "", PrometheusText::number(latency.sumSeconds));
  m.sample("rtdemo_publish_duration_seconds_count", "", latency.count);

  // Then each part's own families: security's.
  writeSecurityMetrics(*ctx_->security, &m);
  const std::string& body = m.str();
  response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_OK);
  response.setContentType("text/plain; version=0.0.4; charset=utf-8");
  response.set("Cache-Control", "no-cache");
  response.setContentLength(static_cast<std::streamsize>(body.size()));
  response.sendBuffer(body.data(), body.size());
}

}  // namespace rtdemo
