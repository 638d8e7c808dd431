#include "agent/telemetry/tunnel_metrics.h"

#include <string>
#include <utility>

namespace weft::agent::telemetry {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily counterFamily(std::string name, std::string help) {
  return MetricFamily{.name = std::move(name), .help = std::move(help),
                      .type = MetricType::Counter, .metric = {}};
}

void addCounter(MetricFamily& family, std::vector<ClientMetric::Label> labels, uint64_t value) {
  ClientMetric metric;
  metric.label = std::move(labels);
  metric.counter.value = static_cast<double>(value);
  family.metric.push_back(std::move(metric));
}

template <typename Stats, typename Field>
uint64_t sum(const std::vector<const Stats*>& all, Field field) {
  uint64_t total = 0;
  for (const Stats* stats : all) {
    total += (stats->*field).load(std::memory_order_relaxed);
  }
  return total;
}

template <typename Stats>
uint64_t sumFailures(const std::vector<const Stats*>& all, tunnel::HandshakeFailure reason) {
  uint64_t total = 0;
  for (const Stats* stats : all) {
    total += stats->handshake_failures[reason];
  }
  return total;
}

template <typename Stats>
void addHandshakeFailures(MetricFamily& family, const std::string& side,
                          const std::vector<const Stats*>& all) {
  for (size_t i = 0; i < tunnel::kHandshakeFailureCount; ++i) {
    const auto reason = static_cast<tunnel::HandshakeFailure>(i);
    addCounter(family,
               {{"side", side}, {"reason", std::string(tunnel::handshakeFailureName(reason))}},
               sumFailures(all, reason));
  }
}

}  // namespace

std::vector<MetricFamily> TunnelMetrics::Collect() const {
  using tunnel::TunnelClientStats;
  using tunnel::TunnelServerStats;
  const tunnel::TunnelStatsSet set = stats_();
  const auto& clients = set.clients;
  const auto& servers = set.servers;

  MetricFamily failures = counterFamily(
      "weft_tunnel_handshake_failures_total",
      "TLS handshakes of the tunnel (15008) that failed, by side and reason: certificate "
      "(untrusted, expired, not an SVID), identity (wrong trust domain or workload), "
      "server_name, alpn, timeout, tls (alerts, protocol errors, lost connections).");
  addHandshakeFailures(failures, "client", clients);
  addHandshakeFailures(failures, "server", servers);

  MetricFamily handshakes = counterFamily(
      "weft_tunnel_handshakes_total", "TLS handshakes of the tunnel that completed, by side.");
  const uint64_t client_started = sum(clients, &TunnelClientStats::handshakes);
  uint64_t client_failed = 0;
  for (const TunnelClientStats* c : clients) {
    client_failed += c->handshake_failures.total();
  }
  addCounter(handshakes, {{"side", "client"}},
             client_started > client_failed ? client_started - client_failed : 0);
  addCounter(handshakes, {{"side", "server"}}, sum(servers, &TunnelServerStats::handshakes));

  MetricFamily streams = counterFamily(
      "weft_tunnel_streams_total",
      "CONNECT streams of the tunnel, by side and result (client: opened, refused by the peer, "
      "failed without an answer; server: opened, denied, upstream_failure).");
  addCounter(streams, {{"side", "client"}, {"result", "opened"}},
             sum(clients, &TunnelClientStats::streams_opened));
  addCounter(streams, {{"side", "client"}, {"result", "refused"}},
             sum(clients, &TunnelClientStats::streams_refused));
  addCounter(streams, {{"side", "client"}, {"result", "failed"}},
             sum(clients, &TunnelClientStats::streams_failed));
  addCounter(streams, {{"side", "server"}, {"result", "opened"}},
             sum(servers, &TunnelServerStats::streams_opened));
  addCounter(streams, {{"side", "server"}, {"result", "denied"}},
             sum(servers, &TunnelServerStats::streams_denied));
  addCounter(streams, {{"side", "server"}, {"result", "upstream_failure"}},
             sum(servers, &TunnelServerStats::upstream_failures));

  MetricFamily connect_failures = counterFamily(
      "weft_tunnel_connect_failures_total",
      "TCP connects to another node's tunnel port that failed or timed out.");
  addCounter(connect_failures, {}, sum(clients, &TunnelClientStats::connect_failures));

  MetricFamily relay_failures = counterFamily(
      "weft_tunnel_relay_failures_total",
      "Inbound tunnel streams whose relay to the pod ended in a reset.");
  addCounter(relay_failures, {}, sum(servers, &TunnelServerStats::relays_failed));

  return {std::move(failures), std::move(handshakes), std::move(streams),
          std::move(connect_failures), std::move(relay_failures)};
}

}  // namespace weft::agent::telemetry
