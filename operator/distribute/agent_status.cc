#include "operator/distribute/agent_status.h"

namespace weft::op {

void AgentStatusBoard::connected(const std::string& node, const std::string& peer,
                                 const std::string& agent_version, absl::Time now) {
  std::lock_guard lock(mu_);
  AgentStatus& agent = agents_[node];
  agent.node = node;
  ++agent.streams;
  agent.peer = peer;
  agent.agent_version = agent_version;
  agent.connected_at = now;
  agent.disconnected_at = absl::InfinitePast();
  metrics_.agentConnected();
}

void AgentStatusBoard::disconnected(const std::string& node, absl::Time now) {
  std::lock_guard lock(mu_);
  AgentStatus& agent = agents_[node];
  --agent.streams;
  if (agent.streams == 0) {
    agent.disconnected_at = now;
  }
  metrics_.agentDisconnected();
}

void AgentStatusBoard::acked(const std::string& node, const std::string& config_version,
                             absl::Time now) {
  std::lock_guard lock(mu_);
  AgentStatus& agent = agents_[node];
  agent.acked_version = config_version;
  agent.acked_at = now;
  if (!agent.nack_reason.empty()) {
    agent.nacked_version.clear();
    agent.nack_reason.clear();
    agent.nacked_at = absl::InfinitePast();
    metrics_.clearLastNack(node);
  }
}

void AgentStatusBoard::nacked(const std::string& node, const std::string& config_version,
                              const std::string& reason, absl::Time now) {
  std::lock_guard lock(mu_);
  AgentStatus& agent = agents_[node];
  agent.nacked_version = config_version;
  agent.nack_reason = reason;
  agent.nacked_at = now;
  metrics_.setLastNack(node, config_version, reason);
}

std::vector<AgentStatus> AgentStatusBoard::all() const {
  std::lock_guard lock(mu_);
  std::vector<AgentStatus> out;
  out.reserve(agents_.size());
  for (const auto& [node, agent] : agents_) {
    out.push_back(agent);
  }
  return out;
}

std::optional<AgentStatus> AgentStatusBoard::of(const std::string& node) const {
  std::lock_guard lock(mu_);
  auto it = agents_.find(node);
  if (it == agents_.end()) {
    return std::nullopt;
  }
  return it->second;
}

}  // namespace weft::op
