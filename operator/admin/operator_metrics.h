#pragma once

// The operator's Prometheus metrics (served on --admin-address, 15014). Families are created
// once; the per-node NACK series are created on a node's first NACK. Thread-safe: streams
// record from gRPC's threads, the publisher from the main thread.

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

namespace weft::op {

class OperatorMetrics {
 public:
  OperatorMetrics();

  void agentConnected() { connected_agents_->Increment(); }
  void agentDisconnected() { connected_agents_->Decrement(); }
  // One response carrying resources of `type`.
  void countPush(absl::string_view type);
  // From sending a response to its ACK.
  void observePushDuration(double seconds) { push_duration_->Observe(seconds); }
  void countNack(const std::string& node, const std::string& type);
  // One response on the wire: its serialized size and the resources it added, changed or
  // removed, per type. What the scale benchmark divides by the number of changes.
  void countPushed(size_t bytes, absl::string_view type, size_t resources);
  // weft_operator_agent_nack_info{node, config_version, reason} 1: the node's last NACK, until
  // it ACKs a later response (one series per node at most; the reason cut to 256 bytes).
  void setLastNack(const std::string& node, const std::string& config_version,
                   const std::string& reason);
  void clearLastNack(const std::string& node);
  void observeTranslation(double seconds) { translation_duration_->Observe(seconds); }
  // The source failed to produce a snapshot (a bad file, a failed watch).
  void countSourceError() { source_errors_->Increment(); }

  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

 private:
  void clearLastNackLocked(const std::string& node);

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Gauge* connected_agents_;
  prometheus::Family<prometheus::Counter>* pushes_;
  prometheus::Histogram* push_duration_;
  prometheus::Family<prometheus::Counter>* nacks_;
  prometheus::Counter* push_bytes_;
  prometheus::Family<prometheus::Counter>* push_resources_;
  prometheus::Family<prometheus::Gauge>* nack_info_;
  std::mutex nack_info_mu_;
  absl::flat_hash_map<std::string, prometheus::Gauge*> nack_info_by_node_;
  prometheus::Histogram* translation_duration_;
  prometheus::Counter* source_errors_;
};

}  // namespace weft::op
