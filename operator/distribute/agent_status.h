#pragma once

// The operator's view of each node's agent, kept by the config streams: whether it is
// connected, the config version it last ACKed and its last NACK with the reason. Served as
// /debug/agents on the admin port (what weftctl will show) and mirrored in the metrics
// (weft_operator_agent_nack_info). Thread-safe: streams report from gRPC's threads, the admin
// server reads on the main thread.

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "operator/admin/operator_metrics.h"

namespace weft::op {

struct AgentStatus {
  std::string node;
  int streams = 0;            // open, authenticated streams (more than one: a duplicate agent)
  std::string peer;           // where the latest stream came from
  std::string agent_version;  // as the agent reported it
  absl::Time connected_at = absl::InfinitePast();
  absl::Time disconnected_at = absl::InfinitePast();  // InfinitePast: not since it connected
  // The config version of the last response the agent ACKed (what it serves now).
  std::string acked_version;
  absl::Time acked_at = absl::InfinitePast();
  // The last NACK since the last ACK; empty reason: none.
  std::string nacked_version;
  std::string nack_reason;
  absl::Time nacked_at = absl::InfinitePast();
};

class AgentStatusBoard {
 public:
  explicit AgentStatusBoard(OperatorMetrics& metrics) : metrics_(metrics) {}

  void connected(const std::string& node, const std::string& peer, const std::string& agent_version,
                 absl::Time now);
  void disconnected(const std::string& node, absl::Time now);
  // The agent applied the response for `config_version`; clears its last NACK.
  void acked(const std::string& node, const std::string& config_version, absl::Time now);
  void nacked(const std::string& node, const std::string& config_version, const std::string& reason,
              absl::Time now);

  // Every node whose agent ever opened a stream, by node name.
  std::vector<AgentStatus> all() const;
  std::optional<AgentStatus> of(const std::string& node) const;

 private:
  OperatorMetrics& metrics_;
  mutable std::mutex mu_;
  std::map<std::string, AgentStatus> agents_;
};

}  // namespace weft::op
