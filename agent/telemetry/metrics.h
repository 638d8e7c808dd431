#pragma once

// The agent's Prometheus metrics. Families are created once at start; a proxied connection
// resolves its counters once (ConnectionCounters) and then only increments them.

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace weft::agent::telemetry {

// Why the proxy gave up on (or cut) a connection; each has its own counter.
enum class FailureReason {
  kAcceptError,            // accept() failed
  kNoOriginalDestination,  // BPF had no record of where the client was going
  kUnknownService,         // the original destination is not a service VIP:port we know
  kNoEndpoints,            // the service has no ready endpoint
  kConnectError,           // one connect attempt to an endpoint failed
  kConnectTimeout,         // one connect attempt to an endpoint timed out
  kUpstreamUnavailable,    // every attempt failed; the client was reset
  kRelayError,             // a read or write failed mid-stream; both sides were closed
  kCount,
};
absl::string_view failureReasonName(FailureReason reason);

// How a connection's bytes move once it is set up.
enum class RelayMode {
  kBuffered,  // copied through the agent's user-space buffers
  kFastPath,  // same node: the pods' sends moved by the kernel (capture/fast_path.h)
  kCount,
};
absl::string_view relayModeName(RelayMode mode);

// Why a same-node connection was relayed in user space after all.
enum class FastPathFallbackReason {
  kNotEstablished,  // a socket was closing already (its peer had finished sending)
  kMapFull,         // no room left in the fast-path sockhash
  kKernelError,     // any other failure to pair the sockets (e.g. the client already left)
  kCount,
};
absl::string_view fastPathFallbackReasonName(FastPathFallbackReason reason);

// Labels of one proxied connection (reporter is always "source": this agent runs on the
// client's node).
struct ConnectionLabels {
  std::string source_workload;
  std::string source_namespace;
  std::string destination_service;  // <name>.<namespace>.svc.cluster.local
  std::string destination_workload;
  std::string destination_namespace;
};

struct ConnectionCounters {
  prometheus::Counter* opened = nullptr;
  prometheus::Counter* closed = nullptr;
  prometheus::Counter* sent_bytes = nullptr;      // bytes sent back to the source workload
  prometheus::Counter* received_bytes = nullptr;  // bytes received from the source workload
};

struct RttLabels {
  std::string source_workload;
  std::string source_namespace;
  std::string destination_service;
};

class Metrics {
 public:
  Metrics();

  // Resolves (creating on first use) the counters of one label set. Thread-safe; call once
  // per connection, never per read.
  ConnectionCounters connectionCounters(const ConnectionLabels& labels);
  void countFailure(FailureReason reason) { failures_[static_cast<size_t>(reason)]->Increment(); }
  void countRelay(RelayMode mode) { relays_[static_cast<size_t>(mode)]->Increment(); }
  void countFastPathFallback(FastPathFallbackReason reason) {
    fast_path_fallbacks_[static_cast<size_t>(reason)]->Increment();
  }
  // Sets weft_bpf_events_total{reason} to the data plane's counter `total` (which only grows
  // while its pins exist; a smaller value means the maps were recreated and counts from 0).
  void setBpfEventTotal(const std::string& reason, uint64_t total);
  void countConfigUpdate(bool accepted) {
    (accepted ? updates_accepted_ : updates_rejected_)->Increment();
  }
  void setConfigStreamConnected(bool connected) { stream_connected_->Set(connected ? 1 : 0); }
  void observeRtt(const RttLabels& labels, double seconds);

  // The Prometheus text exposition format of every metric.
  std::string render() const;
  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* opened_;
  prometheus::Family<prometheus::Counter>* closed_;
  prometheus::Family<prometheus::Counter>* sent_;
  prometheus::Family<prometheus::Counter>* received_;
  prometheus::Family<prometheus::Histogram>* rtt_;
  std::array<prometheus::Counter*, static_cast<size_t>(FailureReason::kCount)> failures_;
  std::array<prometheus::Counter*, static_cast<size_t>(RelayMode::kCount)> relays_;
  std::array<prometheus::Counter*, static_cast<size_t>(FastPathFallbackReason::kCount)>
      fast_path_fallbacks_;
  prometheus::Counter* updates_accepted_;
  prometheus::Counter* updates_rejected_;
  prometheus::Gauge* stream_connected_;

  struct BpfSeries {
    prometheus::Counter* counter = nullptr;
    uint64_t last = 0;  // the kernel's total at the previous refresh
  };
  prometheus::Family<prometheus::Counter>* bpf_events_;
  std::mutex bpf_mu_;
  absl::flat_hash_map<std::string, BpfSeries> bpf_series_;
};

}  // namespace weft::agent::telemetry
