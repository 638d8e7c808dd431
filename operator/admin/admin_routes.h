#pragma once

// The operator's admin endpoints on --admin-address (15014):
//   /metrics       Prometheus text (OperatorMetrics)
//   /healthz       200 while the process answers
//   /ready         200 once the first source snapshot was translated, else 503
//   /debug/agents  JSON: each node's desired config version and what its agent ACKed or
//                  NACKed (and why) — the operator's view of its agents, for people and weftctl

#include <string>
#include <vector>

#include "common/http/server.h"
#include "operator/admin/operator_metrics.h"
#include "operator/distribute/agent_status.h"
#include "operator/distribute/config_distributor.h"

namespace weft::op {

struct OperatorAdminSources {
  const OperatorMetrics& metrics;
  const ConfigDistributor& distributor;
  const AgentStatusBoard& agents;
};

void addOperatorAdminRoutes(common::http::Server& server, OperatorAdminSources sources);

// The /debug/agents document: {"agents": [{"node", "desired_version", "connected", ...}]}, one
// entry per node that has a config or whose agent connected, by node name.
std::string agentsJson(const ConfigDistributor& distributor, const AgentStatusBoard& agents);

}  // namespace weft::op
