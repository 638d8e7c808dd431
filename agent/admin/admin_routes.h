#pragma once

// The agent's admin endpoints on --admin-port (15020).

#include <functional>
#include <string>
#include <vector>

#include "agent/config/config_store.h"
#include "agent/identity/held_certificate.h"
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
  // The workload certificates held (WorkloadIdentities::held); empty without an operator.
  std::function<std::vector<identity::HeldCertificate>()> certificates = nullptr;
};

// /metrics, /healthz, /ready, /config_dump, /debug/certificates.
void addAdminRoutes(common::http::Server& server, AdminSources sources);

// The /config_dump document: {"version", "loaded_at" (RFC 3339), "source": {"kind",
// "location"}, "config" (NodeConfig JSON), "inbound": {"<namespace>/<pod>": {"ip",
// "authorization_policies" (names), "mtls_mode", "port_mtls_modes" (port → mode)}}, the
// mTLS modes as the agent applies them (defaults filled in)}.
std::string configDump(const config::ConfigSnapshot& snapshot, const ConfigSource& source = {});

// The /debug/certificates document: {"certificates": [{"identity", "issued", "serial",
// "not_before", "not_after", "expires_in_seconds", "next_attempt", "failures", "last_error"}]}
// with times in RFC 3339 (UTC) and expires_in_seconds counted from `now`.
std::string certificatesDump(const std::vector<identity::HeldCertificate>& certificates,
                             absl::Time now);

}  // namespace weft::agent::admin
