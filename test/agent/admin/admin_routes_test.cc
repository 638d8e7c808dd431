#include "agent/admin/admin_routes.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "agent/config/config_loader.h"
#include "test/agent/testing/loopback_http.h"
#include "test/agent/testing/test_config.h"

namespace weft::agent::admin {
namespace {

using common::IpAddress;

struct AdminUnderTest {
  explicit AdminUnderTest(
      std::function<std::vector<identity::HeldCertificate>()> certificates = nullptr) {
    addAdminRoutes(http.server, AdminSources{
                                    .config = store,
                                    .metrics = metrics,
                                    .ready = [this] { return data_plane_ready.load(); },
                                    .source = {.kind = "operator", .location = "127.0.0.1:15012"},
                                    .certificates = std::move(certificates),
                                });
    http.start();
  }

  void loadConfig() {
    auto config = config::parseNodeConfigJson(config::testing::kGoodConfigJson);
    REQUIRE(config.ok());
    auto snapshot = config::buildSnapshot(*config, "node1", absl::FromUnixSeconds(1'700'000'000));
    REQUIRE(snapshot.ok());
    store.publish(*snapshot);
  }

  std::pair<int, std::string> get(const std::string& path) { return http.get(path); }

  config::ConfigStore store;
  telemetry::Metrics metrics;
  std::atomic<bool> data_plane_ready{false};
  test::LoopbackHttpServer http;
};

TEST_CASE("/healthz answers while the process is alive, config or not") {
  AdminUnderTest admin;
  CHECK(admin.get("/healthz") == std::pair<int, std::string>{200, "ok\n"});
}

TEST_CASE("/ready needs both a loaded config and a data plane in sync") {
  AdminUnderTest admin;
  CHECK(admin.get("/ready").first == 503);
  admin.loadConfig();
  CHECK(admin.get("/ready") ==
        std::pair<int, std::string>{503, "data plane not in sync with config\n"});
  admin.data_plane_ready = true;
  CHECK(admin.get("/ready") == std::pair<int, std::string>{200, "ready\n"});
}

TEST_CASE("/metrics serves the Prometheus text of the registry") {
  AdminUnderTest admin;
  admin.metrics.countFailure(telemetry::FailureReason::kNoEndpoints);
  const auto [status, body] = admin.get("/metrics");
  CHECK(status == 200);
  CHECK_THAT(body, Catch::Contains("weft_proxy_failures_total{reason=\"no_endpoints\"} 1"));
  CHECK_THAT(body, Catch::Contains("weft_config_updates_total{result=\"rejected\"} 0"));
}

TEST_CASE("/config_dump shows the current config, its version, source and load time") {
  AdminUnderTest admin;
  CHECK(admin.get("/config_dump").first == 503);
  admin.loadConfig();
  const auto [status, body] = admin.get("/config_dump");
  REQUIRE(status == 200);
  const auto dump = nlohmann::json::parse(body, nullptr, false);
  REQUIRE_FALSE(dump.is_discarded());
  CHECK(dump["version"] == "v1");
  CHECK(dump["loaded_at"] == "2023-11-14T22:13:20+00:00");
  CHECK(dump["source"]["kind"] == "operator");
  CHECK(dump["source"]["location"] == "127.0.0.1:15012");
  CHECK(dump["config"]["node_name"] == "node1");
  CHECK(dump["config"]["services"][0]["vips"][0] == "10.96.0.10");
  CHECK(dump["config"]["services"][1]["load_balancer"] == "ROUND_ROBIN");
}

TEST_CASE("/debug/certificates lists the identities held, with validity and renewal state") {
  const absl::Time now = absl::Now();
  identity::HeldCertificate web;
  web.identity = "spiffe://cluster.local/ns/demo/sa/web";
  web.issued = true;
  web.serial = "0A1B";
  web.not_before = absl::FromUnixSeconds(1'700'000'000);
  web.not_after = now + absl::Hours(20);
  web.next_attempt = absl::FromUnixSeconds(1'700'043'200);
  identity::HeldCertificate db;
  db.identity = "spiffe://cluster.local/ns/demo/sa/db";
  db.next_attempt = absl::FromUnixSeconds(1'700'000'001);
  db.failures = 3;
  db.last_error = "the operator at 10.250.0.1:15012 did not sign it: unavailable";
  AdminUnderTest admin([&] { return std::vector{db, web}; });

  const auto [status, body] = admin.get("/debug/certificates");
  REQUIRE(status == 200);
  const auto dump = nlohmann::json::parse(body, nullptr, false);
  REQUIRE(dump["certificates"].size() == 2);
  const auto& pending = dump["certificates"][0];
  CHECK(pending["identity"] == db.identity);
  CHECK(pending["issued"] == false);
  CHECK(pending["failures"] == 3);
  CHECK(pending["last_error"] == db.last_error);
  CHECK(pending["next_attempt"] == "2023-11-14T22:13:21+00:00");
  CHECK_FALSE(pending.contains("not_after"));
  const auto& held = dump["certificates"][1];
  CHECK(held["identity"] == web.identity);
  CHECK(held["issued"] == true);
  CHECK(held["serial"] == "0A1B");
  CHECK(held["not_before"] == "2023-11-14T22:13:20+00:00");
  CHECK(held["next_attempt"] == "2023-11-15T10:13:20+00:00");
  CHECK(held["failures"] == 0);
  // 20 h from `now`, counted when the request was served (a little later).
  CHECK(held["expires_in_seconds"] <= 20 * 3600);
  CHECK(held["expires_in_seconds"] > 19 * 3600);
}

TEST_CASE("/debug/certificates says why there are none in file mode") {
  AdminUnderTest admin;
  CHECK(admin.get("/debug/certificates") ==
        std::pair<int, std::string>{404,
                                    "no workload certificates: they come from the operator, and "
                                    "this agent runs with --config\n"});
}

TEST_CASE("/config_dump shows each workload's policies and mTLS modes, defaults filled in") {
  AdminUnderTest admin;
  admin.loadConfig();
  const auto [status, body] = admin.get("/config_dump");
  REQUIRE(status == 200);
  const auto dump = nlohmann::json::parse(body, nullptr, false);
  REQUIRE_FALSE(dump.is_discarded());
  CHECK(dump["config"]["authorization_policies"][0]["name"] == "from-default");
  CHECK(dump["config"]["authorization_policies"][0]["rules"][0]["to"][0]["ports"][0] == 8080);
  CHECK(dump["config"]["workloads"][0]["authorization_policies"][0] == "default/from-default");
  CHECK(dump["config"]["workloads"][0]["mtls_mode"] == "STRICT");

  const auto& client = dump["inbound"]["default/client-7d9f"];
  CHECK(client["ip"] == "10.244.1.10");
  CHECK(client["authorization_policies"] == nlohmann::json{"default/from-default"});
  CHECK(client["mtls_mode"] == "STRICT");
  CHECK(client["port_mtls_modes"] == nlohmann::json{{"15021", "PERMISSIVE"}});
  // Nothing set for batch-1: unspecified in the config, the agent applies PERMISSIVE.
  CHECK(dump["config"]["workloads"][1]["mtls_mode"] == "MTLS_MODE_UNSPECIFIED");
  const auto& batch = dump["inbound"]["jobs/batch-1"];
  CHECK(batch["mtls_mode"] == "PERMISSIVE");
  CHECK(batch["authorization_policies"] == nlohmann::json::array());
  CHECK(batch["port_mtls_modes"] == nlohmann::json::object());
}

TEST_CASE("paths outside the admin routes are 404") {
  AdminUnderTest admin;
  CHECK(admin.get("/debug/nothing").first == 404);
}

}  // namespace
}  // namespace weft::agent::admin
