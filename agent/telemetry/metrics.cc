#include "agent/telemetry/metrics.h"

#include "prometheus/gauge.h"
#include "prometheus/text_serializer.h"

namespace weft::agent::telemetry {
namespace {

// RTTs of captured connections range from tens of microseconds (same node) to around a
// second (a congested or distant peer).
const prometheus::Histogram::BucketBoundaries kRttBuckets = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0};

prometheus::Family<prometheus::Counter>* counterFamily(prometheus::Registry& registry,
                                                       const std::string& name,
                                                       const std::string& help) {
  return &prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}

prometheus::Labels toLabels(const ConnectionLabels& l) {
  return {{"reporter", "source"},
          {"source_workload", l.source_workload},
          {"source_namespace", l.source_namespace},
          {"destination_service", l.destination_service},
          {"destination_workload", l.destination_workload},
          {"destination_namespace", l.destination_namespace}};
}

}  // namespace

absl::string_view failureReasonName(FailureReason reason) {
  switch (reason) {
    case FailureReason::kAcceptError:
      return "accept_error";
    case FailureReason::kNoOriginalDestination:
      return "no_original_destination";
    case FailureReason::kUnknownService:
      return "unknown_service";
    case FailureReason::kNoEndpoints:
      return "no_endpoints";
    case FailureReason::kConnectError:
      return "connect_error";
    case FailureReason::kConnectTimeout:
      return "connect_timeout";
    case FailureReason::kUpstreamUnavailable:
      return "upstream_unavailable";
    case FailureReason::kRelayError:
      return "relay_error";
    case FailureReason::kCount:
      break;
  }
  return "unknown";
}

absl::string_view relayModeName(RelayMode mode) {
  switch (mode) {
    case RelayMode::kBuffered:
      return "buffered";
    case RelayMode::kFastPath:
      return "fast_path";
    case RelayMode::kCount:
      break;
  }
  return "unknown";
}

absl::string_view fastPathFallbackReasonName(FastPathFallbackReason reason) {
  switch (reason) {
    case FastPathFallbackReason::kNotEstablished:
      return "not_established";
    case FastPathFallbackReason::kMapFull:
      return "map_full";
    case FastPathFallbackReason::kKernelError:
      return "kernel_error";
    case FastPathFallbackReason::kCount:
      break;
  }
  return "unknown";
}

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  auto& r = *registry_;
  opened_ = counterFamily(r, "weft_tcp_connections_opened_total",
                          "TCP connections the agent opened to a destination for a workload.");
  closed_ = counterFamily(r, "weft_tcp_connections_closed_total",
                          "Proxied TCP connections that finished.");
  sent_ = counterFamily(r, "weft_tcp_sent_bytes_total",
                        "Bytes the agent sent back to the source workload.");
  received_ = counterFamily(r, "weft_tcp_received_bytes_total",
                            "Bytes the agent received from the source workload.");
  rtt_ = &prometheus::BuildHistogram()
              .Name("weft_tcp_rtt_seconds")
              .Help("Smoothed RTT of captured connections, measured by sockops at close.")
              .Register(r);
  auto* failures = counterFamily(r, "weft_proxy_failures_total",
                                 "Connections the proxy refused, reset or cut, by reason.");
  for (size_t i = 0; i < failures_.size(); ++i) {
    const auto name = failureReasonName(static_cast<FailureReason>(i));
    failures_[i] = &failures->Add({{"reason", std::string(name)}});
  }
  auto* relays = counterFamily(r, "weft_proxy_relays_total",
                               "Connections handed to a relay, by how their bytes move: "
                               "buffered (user space) or fast_path (kernel, same node).");
  for (size_t i = 0; i < relays_.size(); ++i) {
    relays_[i] = &relays->Add({{"mode", std::string(relayModeName(static_cast<RelayMode>(i)))}});
  }
  auto* fallbacks = counterFamily(r, "weft_proxy_fast_path_fallbacks_total",
                                  "Same-node connections relayed in user space because the "
                                  "kernel fast path could not take them, by reason.");
  for (size_t i = 0; i < fast_path_fallbacks_.size(); ++i) {
    const auto name = fastPathFallbackReasonName(static_cast<FastPathFallbackReason>(i));
    fast_path_fallbacks_[i] = &fallbacks->Add({{"reason", std::string(name)}});
  }
  bpf_events_ = counterFamily(r, "weft_bpf_events_total",
                              "What the eBPF data plane did or why it did not, by reason "
                              "(its per-CPU counters, summed; refreshed every second).");
  auto* updates = counterFamily(r, "weft_config_updates_total",
                                "Configs received (--config file reloads or responses of the "
                                "operator's stream), by result (accepted or rejected).");
  updates_accepted_ = &updates->Add({{"result", "accepted"}});
  updates_rejected_ = &updates->Add({{"result", "rejected"}});
  stream_connected_ = &prometheus::BuildGauge()
                           .Name("weft_config_stream_connected")
                           .Help("1 while the config stream to the operator is up, else 0.")
                           .Register(r)
                           .Add({});
}

ConnectionCounters Metrics::connectionCounters(const ConnectionLabels& labels) {
  const prometheus::Labels l = toLabels(labels);
  return ConnectionCounters{
      .opened = &opened_->Add(l),
      .closed = &closed_->Add(l),
      .sent_bytes = &sent_->Add(l),
      .received_bytes = &received_->Add(l),
  };
}

void Metrics::setBpfEventTotal(const std::string& reason, uint64_t total) {
  std::lock_guard lock(bpf_mu_);
  auto [it, inserted] = bpf_series_.try_emplace(reason);
  BpfSeries& series = it->second;
  if (inserted) {
    series.counter = &bpf_events_->Add({{"reason", reason}});
  }
  const uint64_t delta = total >= series.last ? total - series.last : total;
  series.counter->Increment(static_cast<double>(delta));
  series.last = total;
}

void Metrics::observeRtt(const RttLabels& labels, double seconds) {
  rtt_->Add({{"reporter", "source"},
             {"source_workload", labels.source_workload},
             {"source_namespace", labels.source_namespace},
             {"destination_service", labels.destination_service}},
            kRttBuckets)
      .Observe(seconds);
}

std::string Metrics::render() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace weft::agent::telemetry
