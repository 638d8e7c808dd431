#include "operator/admin/admin_routes.h"

#include <map>
#include <nlohmann/json.hpp>

#include "absl/time/time.h"
#include "common/http/prometheus_routes.h"

namespace weft::op {

using common::http::Request;
using common::http::Response;

namespace {

// RFC 3339, or null for "never".
nlohmann::json timeJson(absl::Time t) {
  if (t == absl::InfinitePast()) {
    return nullptr;
  }
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
}

nlohmann::json agentJson(const std::string& desired_version, const AgentStatus& agent) {
  nlohmann::json out;
  out["node"] = agent.node;
  out["desired_version"] = desired_version;
  out["connected"] = agent.streams > 0;
  out["streams"] = agent.streams;
  out["peer"] = agent.peer;
  out["agent_version"] = agent.agent_version;
  out["connected_at"] = timeJson(agent.connected_at);
  out["disconnected_at"] = timeJson(agent.disconnected_at);
  out["acked_version"] = agent.acked_version;
  out["acked_at"] = timeJson(agent.acked_at);
  out["in_sync"] = !desired_version.empty() && agent.acked_version == desired_version;
  if (!agent.nack_reason.empty()) {
    out["last_nack"] = {{"config_version", agent.nacked_version},
                        {"reason", agent.nack_reason},
                        {"at", timeJson(agent.nacked_at)}};
  } else {
    out["last_nack"] = nullptr;
  }
  return out;
}

}  // namespace

std::string agentsJson(const ConfigDistributor& distributor, const AgentStatusBoard& agents) {
  std::map<std::string, AgentStatus> by_node;
  for (const std::string& node : distributor.nodes()) {
    by_node[node].node = node;
  }
  for (AgentStatus& agent : agents.all()) {
    by_node[agent.node] = std::move(agent);
  }
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [node, agent] : by_node) {
    list.push_back(agentJson(distributor.versionOf(node), agent));
  }
  nlohmann::json doc;
  doc["agents"] = std::move(list);
  // Reasons come from agents: never let a byte sequence break the document.
  return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void addOperatorAdminRoutes(common::http::Server& server, OperatorAdminSources sources) {
  common::http::addMetricsAndHealthRoutes(server, sources.metrics.registry());
  server.route("/ready", [&distributor = sources.distributor](const Request&) {
    return distributor.published()
               ? Response{.body = "ready\n"}
               : Response{.status = 503, .body = "no source snapshot translated yet\n"};
  });
  server.route("/debug/agents", [&distributor = sources.distributor,
                                 &agents = sources.agents](const Request&) {
    return Response{.content_type = "application/json", .body = agentsJson(distributor, agents)};
  });
}

}  // namespace weft::op
