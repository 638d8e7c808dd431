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
  AdminUnderTest() {
    addAdminRoutes(http.server, AdminSources{
                                    .config = store,
                                    .metrics = metrics,
                                    .ready = [this] { return data_plane_ready.load(); },
                                    .source = {.kind = "operator", .location = "127.0.0.1:15012"},
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

TEST_CASE("paths outside the admin routes are 404") {
  AdminUnderTest admin;
  CHECK(admin.get("/debug/nothing").first == 404);
}

}  // namespace
}  // namespace weft::agent::admin
