#pragma once

// The tunnel's counters as Prometheus metrics. Each worker's tunnel ends keep plain atomic
// counters (agent/tunnel/tunnel_stats.h: nothing on the data path knows about Prometheus);
// this collector sums them over the workers at every scrape:
//
//   weft_tunnel_handshake_failures_total{side="client|server",reason="certificate|identity|
//       server_name|alpn|timeout|tls"}
//   weft_tunnel_handshakes_total{side}         TLS handshakes that completed
//   weft_tunnel_streams_total{side,result}     client: opened|refused|failed;
//                                              server: opened|denied|upstream_failure
//   weft_tunnel_connect_failures_total         client dials to a node that failed
//   weft_tunnel_relay_failures_total           server relays that ended in a reset

#include <functional>
#include <vector>

#include "agent/tunnel/tunnel_stats.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace weft::agent::telemetry {

class TunnelMetrics : public prometheus::Collectable {
 public:
  // `stats` is called at every scrape, from the admin thread.
  explicit TunnelMetrics(std::function<tunnel::TunnelStatsSet()> stats)
      : stats_(std::move(stats)) {}

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::function<tunnel::TunnelStatsSet()> stats_;
};

}  // namespace weft::agent::telemetry
