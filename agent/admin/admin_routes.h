#pragma once

// The agent's admin endpoints on --admin-port (15020).

#include <functional>

#include "agent/config/config_store.h"
#include "agent/telemetry/metrics.h"
#include "common/http/server.h"

namespace weft::agent::admin {

struct AdminSources {
  const config::ConfigStore& config;
  const telemetry::Metrics& metrics;
  // Config loaded and capture attached (the data plane holds the current config).
  std::function<bool()> ready;
};

// /metrics, /healthz, /ready, /config_dump.
void addAdminRoutes(common::http::Server& server, AdminSources sources);

// The /config_dump document: {"version", "loaded_at" (RFC 3339), "config" (NodeConfig JSON)}.
std::string configDump(const config::ConfigSnapshot& snapshot);

}  // namespace weft::agent::admin
