#pragma once

// The agent's admin endpoints on --admin-port (15020).

#include <functional>
#include <string>

#include "agent/config/config_store.h"
#include "agent/telemetry/metrics.h"
#include "common/http/server.h"

namespace weft::agent::admin {

struct ConfigSource {
  std::string kind;      // "operator" (the config stream) or "file" (--config)
  std::string location;  // the operator's host:port, or the file's path
};

struct AdminSources {
  const config::ConfigStore& config;
  const telemetry::Metrics& metrics;
  // Config loaded and capture attached (the data plane holds the current config).
  std::function<bool()> ready;
  // Where configs come from, shown in /config_dump.
  ConfigSource source;
};

// /metrics, /healthz, /ready, /config_dump.
void addAdminRoutes(common::http::Server& server, AdminSources sources);

// The /config_dump document: {"version", "loaded_at" (RFC 3339), "source": {"kind",
// "location"}, "config" (NodeConfig JSON)}.
std::string configDump(const config::ConfigSnapshot& snapshot, const ConfigSource& source = {});

}  // namespace weft::agent::admin
