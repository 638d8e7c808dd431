#pragma once

// The agent's Prometheus metrics. Families are created once at start; a proxied connection
// resolves its counters once (ConnectionCounters) and then only increments them.

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
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
  kNoSourceIdentity,       // the client is no enrolled workload with an SVID here: no tunnel
  kTunnelError,            // one tunnel open to an endpoint's node failed (dial, TLS, 5xx)
  kTunnelDenied,           // the endpoint's agent refused the stream (authorization, 403)
  kCount,
};
absl::string_view failureReasonName(FailureReason reason);

// How a connection's bytes move once it is set up.
enum class RelayMode {
  kBuffered,  // copied through the agent's user-space buffers
  kFastPath,  // same node: the pods' sends moved by the kernel (capture/fast_path.h)
  kTunnel,    // another node: a stream of the mTLS tunnel to that node's agent
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
// client's node). Principals are SPIFFE IDs, "unknown" for a peer without one.
struct ConnectionLabels {
  std::string source_workload;
  std::string source_namespace;
  std::string source_principal;
  std::string destination_service;  // <name>.<namespace>.svc.cluster.local
  std::string destination_workload;
  std::string destination_namespace;
  std::string destination_principal;
  // "mutual_tls" through the tunnel, "none" when the bytes went in plaintext.
  std::string connection_security_policy;
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
  // The notAfter of the SVID held for `identity` (a SPIFFE ID); removed with the identity.
  void setCertificateExpiry(const std::string& identity, absl::Time not_after);
  void removeCertificateExpiry(const std::string& identity);
  // A held SVID was replaced by a newer one.
  void countCertificateRotation() { certificate_rotations_->Increment(); }
  // A signing attempt failed (refused, operator unreachable, unusable answer).
  void countCertificateSigningFailure() { certificate_failures_->Increment(); }

  // Adds a collector of counters kept elsewhere (e.g. the tunnel's), read at every scrape.
  // Call before the admin server starts.
  void addCollectable(std::shared_ptr<prometheus::Collectable> collectable) {
    collectables_.push_back(std::move(collectable));
  }
  // The counter weft_authorization_decisions_total{policy, action, decision}. Thread-safe;
  // resolved once per policy when a config snapshot is compiled (policy/inbound_authorizer.h),
  // so the label set stays bounded by the policies in the config.
  prometheus::Counter* authorizationDecisions(const std::string& policy, absl::string_view action,
                                              absl::string_view decision);

  // The Prometheus text exposition format of every metric.
  std::string render() const;
  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }
  // The registry and every added collectable: what /metrics serves.
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
  prometheus::Family<prometheus::Counter>* opened_;
  prometheus::Family<prometheus::Counter>* closed_;
  prometheus::Family<prometheus::Counter>* sent_;
  prometheus::Family<prometheus::Counter>* received_;
  prometheus::Family<prometheus::Histogram>* rtt_;
  prometheus::Family<prometheus::Counter>* authorization_;
  std::array<prometheus::Counter*, static_cast<size_t>(FailureReason::kCount)> failures_;
  std::array<prometheus::Counter*, static_cast<size_t>(RelayMode::kCount)> relays_;
  std::array<prometheus::Counter*, static_cast<size_t>(FastPathFallbackReason::kCount)>
      fast_path_fallbacks_;
  prometheus::Counter* updates_accepted_;
  prometheus::Counter* updates_rejected_;
  prometheus::Gauge* stream_connected_;
  prometheus::Family<prometheus::Gauge>* certificate_expiry_;
  prometheus::Counter* certificate_rotations_;
  prometheus::Counter* certificate_failures_;

  struct BpfSeries {
    prometheus::Counter* counter = nullptr;
    uint64_t last = 0;  // the kernel's total at the previous refresh
  };
  prometheus::Family<prometheus::Counter>* bpf_events_;
  std::mutex bpf_mu_;
  absl::flat_hash_map<std::string, BpfSeries> bpf_series_;
};

}  // namespace weft::agent::telemetry
