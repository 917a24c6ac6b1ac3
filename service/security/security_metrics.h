// Security's part of GET /metrics: refusals by reason, handshake cut-offs,
// kept-alive connections declined and closed, the HTTP pools, sessions by
// transport, and the connections counted against the limits.
//
// Written into the scrape's one PrometheusText (metrics/prometheus_text.h)
// by the /metrics handler, after its own families.
//
// Thread safety: as Security's; reads relaxed counters and takes the
// watchdog's and the limits' locks briefly.
#pragma once

#include "service/metrics/prometheus_text.h"
#include "service/security/security.h"

namespace rtdemo {

void writeSecurityMetrics(Security& security, PrometheusText* out);

}  // namespace rtdemo
