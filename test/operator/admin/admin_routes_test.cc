#include "operator/admin/admin_routes.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "test/agent/testing/loopback_http.h"
#include "test/agent/testing/metric_value.h"
#include "test/agent/testing/run_command.h"
#include "test/agent/testing/temp_dir.h"
#include "test/common/config/synthetic_config.h"

namespace weft::op {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

struct AdminUnderTest {
  AdminUnderTest() : agents(metrics) {
    addOperatorAdminRoutes(http.server,
                           {.metrics = metrics, .distributor = distributor, .agents = agents});
    http.start();
  }
  std::pair<int, std::string> get(const std::string& path) { return http.get(path); }

  OperatorMetrics metrics;
  ConfigDistributor distributor;
  AgentStatusBoard agents;
  test::LoopbackHttpServer http;
};

TEST_CASE("the operator is ready once a snapshot was translated, healthy all along") {
  AdminUnderTest admin;
  CHECK(admin.get("/healthz") == std::pair<int, std::string>{200, "ok\n"});
  CHECK(admin.get("/ready").first == 503);
  admin.distributor.publish({{"node1", test::syntheticConfig(1)}});
  CHECK(admin.get("/ready") == std::pair<int, std::string>{200, "ready\n"});
  CHECK(admin.get("/nothing").first == 404);
}

TEST_CASE("/debug/agents shows what each agent ACKed and its last NACK") {
  AdminUnderTest admin;
  admin.distributor.publish({{"node1", test::syntheticConfig(1)}});
  admin.agents.connected("node1", "ipv4:127.0.0.1:40000", "weft-agent", kNow);
  admin.agents.acked("node1", "v1", kNow);
  admin.agents.nacked("node1", "v2", "services demo/a and demo/b share 10.96.0.1:80", kNow);
  const auto [status, body] = admin.get("/debug/agents");
  REQUIRE(status == 200);
  const auto doc = nlohmann::json::parse(body);
  REQUIRE(doc["agents"].size() == 1);
  const auto& node1 = doc["agents"][0];
  CHECK(node1["node"] == "node1");
  CHECK(node1["connected"] == true);
  CHECK(node1["peer"] == "ipv4:127.0.0.1:40000");
  CHECK(node1["desired_version"] == "v1");
  CHECK(node1["acked_version"] == "v1");
  CHECK(node1["acked_at"] == "2023-11-14T22:13:20+00:00");
  CHECK(node1["in_sync"] == true);
  CHECK(node1["last_nack"]["config_version"] == "v2");
  CHECK(node1["last_nack"]["reason"] == "services demo/a and demo/b share 10.96.0.1:80");

  admin.agents.disconnected("node1", kNow + absl::Seconds(1));
  const auto after = nlohmann::json::parse(admin.get("/debug/agents").second);
  CHECK(after["agents"][0]["connected"] == false);
  CHECK(after["agents"][0]["disconnected_at"] == "2023-11-14T22:13:21+00:00");
}

TEST_CASE("a NACK reason is one metric series per node, gone after the next ACK") {
  OperatorMetrics metrics;
  AgentStatusBoard agents(metrics);
  agents.nacked("node1", "v2", "first", kNow);
  agents.nacked("node1", "v3", "second", kNow);
  const auto series = test::findSeries(*metrics.registry(), "weft_operator_agent_nack_info", {});
  REQUIRE(series.has_value());
  CHECK(test::gaugeValue(*metrics.registry(), "weft_operator_agent_nack_info",
                         {{"node", "node1"}, {"config_version", "v3"}, {"reason", "second"}}) == 1);
  CHECK_FALSE(test::findSeries(*metrics.registry(), "weft_operator_agent_nack_info",
                               {{"config_version", "v2"}}));
  agents.acked("node1", "v4", kNow);
  CHECK_FALSE(test::findSeries(*metrics.registry(), "weft_operator_agent_nack_info", {}));
}

TEST_CASE("the operator's metrics pass promtool check metrics") {
  REQUIRE(test::runCommand("command -v promtool").exit_code == 0);
  AdminUnderTest admin;
  admin.metrics.countPush("services");
  admin.metrics.countPushed(1234, "services", 3);
  admin.metrics.observePushDuration(0.002);
  admin.metrics.countNack("node1", "services");
  admin.metrics.observeTranslation(0.0003);
  admin.metrics.countSourceError();
  admin.agents.connected("node1", "peer", "weft-agent", kNow);
  // A reason with what a label value must escape, and longer than a label keeps: cut on a
  // character boundary.
  admin.agents.nacked("node1", "v2",
                      "a \"quoted\" \\ back\nslash, then " + std::string(300, 'x') + "é", kNow);
  const auto [status, text] = admin.get("/metrics");
  REQUIRE(status == 200);
  for (const char* name :
       {"weft_operator_connected_agents 1", "weft_operator_pushes_total{type=\"services\"} 1",
        "weft_operator_push_bytes_total 1234", "weft_operator_push_resources_total",
        "weft_operator_push_duration_seconds_bucket", "weft_operator_nacks_total",
        "weft_operator_agent_nack_info{", "weft_operator_translation_duration_seconds_count 1",
        "weft_operator_source_errors_total 1"}) {
    CHECK_THAT(text, Catch::Contains(name));
  }
  test::TempDir dir;
  const std::string path = dir.path() + "/metrics.txt";
  std::ofstream(path) << text;
  const test::CommandResult check = test::runCommand("promtool check metrics < " + path);
  INFO(text);
  INFO(check.output);
  CHECK(check.exit_code == 0);
  CHECK(check.output.empty());
}

}  // namespace
}  // namespace weft::op
