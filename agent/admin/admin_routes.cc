#include "agent/admin/admin_routes.h"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/config/config_loader.h"
#include "agent/policy/peer_authentication.h"
#include "common/http/prometheus_routes.h"

namespace weft::agent::admin {

using common::http::Request;
using common::http::Response;

namespace {

// What inbound connections to each workload meet, with the defaults applied: the config
// shows an unset mTLS mode as MTLS_MODE_UNSPECIFIED, which must not read as "off".
nlohmann::json inboundPolicies(const config::ConfigSnapshot& snapshot) {
  nlohmann::json out = nlohmann::json::object();
  for (const api::v1alpha1::Workload& w : snapshot.config().workloads()) {
    nlohmann::json ports = nlohmann::json::object();
    for (const auto& [port, mode] : w.port_mtls_modes()) {
      ports[std::to_string(port)] =
          std::string(policy::mtlsModeName(policy::effectiveMtlsMode(w, port)));
    }
    out[w.namespace_() + "/" + w.name()] = {
        {"ip", w.ip()},
        {"authorization_policies", nlohmann::json(std::vector<std::string>(
                                       w.authorization_policies().begin(),
                                       w.authorization_policies().end()))},
        {"mtls_mode", std::string(policy::mtlsModeName(policy::workloadMtlsMode(w)))},
        {"port_mtls_modes", std::move(ports)},
    };
  }
  return out;
}

}  // namespace

std::string configDump(const config::ConfigSnapshot& snapshot, const ConfigSource& source) {
  nlohmann::json dump;
  dump["version"] = snapshot.version();
  dump["loaded_at"] =
      absl::FormatTime(absl::RFC3339_full, snapshot.loadedAt(), absl::UTCTimeZone());
  dump["source"] = {{"kind", source.kind}, {"location", source.location}};
  // Protobuf prints valid JSON; parsing without exceptions keeps a surprise from throwing.
  dump["config"] = nlohmann::json::parse(config::nodeConfigToJson(snapshot.config()), nullptr,
                                         /*allow_exceptions=*/false);
  dump["inbound"] = inboundPolicies(snapshot);
  return dump.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string certificatesDump(const std::vector<identity::HeldCertificate>& certificates,
                             absl::Time now) {
  const auto format = [](absl::Time t) {
    return absl::FormatTime(absl::RFC3339_sec, t, absl::UTCTimeZone());
  };
  nlohmann::json list = nlohmann::json::array();
  for (const identity::HeldCertificate& held : certificates) {
    nlohmann::json entry = {{"identity", held.identity},
                            {"issued", held.issued},
                            {"next_attempt", format(held.next_attempt)},
                            {"failures", held.failures},
                            {"last_error", held.last_error}};
    if (held.issued) {
      entry["serial"] = held.serial;
      entry["not_before"] = format(held.not_before);
      entry["not_after"] = format(held.not_after);
      entry["expires_in_seconds"] = absl::ToInt64Seconds(held.not_after - now);
    }
    list.push_back(std::move(entry));
  }
  nlohmann::json dump = {{"certificates", std::move(list)}};
  return dump.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void addAdminRoutes(common::http::Server& server, AdminSources sources) {
  common::http::addMetricsAndHealthRoutes(server, sources.metrics.collectables());
  server.route("/ready", [&config = sources.config, ready = sources.ready](const Request&) {
    if (config.current() == nullptr) {
      return Response{.status = 503, .body = "config not loaded\n"};
    }
    if (!ready()) {
      return Response{.status = 503, .body = "data plane not in sync with config\n"};
    }
    return Response{.body = "ready\n"};
  });
  server.route("/config_dump", [&config = sources.config, source = sources.source](const Request&) {
    const config::ConfigSnapshotPtr snapshot = config.current();
    if (snapshot == nullptr) {
      return Response{.status = 503, .body = "config not loaded\n"};
    }
    return Response{.content_type = "application/json", .body = configDump(*snapshot, source)};
  });
  server.route("/debug/certificates", [certificates = sources.certificates](const Request&) {
    if (!certificates) {
      return Response{.status = 404,
                      .body =
                          "no workload certificates: they come from the operator, and this "
                          "agent runs with --config\n"};
    }
    return Response{.content_type = "application/json",
                    .body = certificatesDump(certificates(), absl::Now())};
  });
}

}  // namespace weft::agent::admin
