#include "agent/admin/admin_routes.h"

#include <nlohmann/json.hpp>

#include "absl/time/time.h"
#include "agent/config/config_loader.h"
#include "common/http/prometheus_routes.h"

namespace weft::agent::admin {

using common::http::Request;
using common::http::Response;

std::string configDump(const config::ConfigSnapshot& snapshot, const ConfigSource& source) {
  nlohmann::json dump;
  dump["version"] = snapshot.version();
  dump["loaded_at"] =
      absl::FormatTime(absl::RFC3339_full, snapshot.loadedAt(), absl::UTCTimeZone());
  dump["source"] = {{"kind", source.kind}, {"location", source.location}};
  // Protobuf prints valid JSON; parsing without exceptions keeps a surprise from throwing.
  dump["config"] = nlohmann::json::parse(config::nodeConfigToJson(snapshot.config()), nullptr,
                                         /*allow_exceptions=*/false);
  return dump.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void addAdminRoutes(common::http::Server& server, AdminSources sources) {
  common::http::addMetricsAndHealthRoutes(server, sources.metrics.registry());
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
}

}  // namespace weft::agent::admin
