#include "agent/config/config_loader.h"

#include <catch2/catch.hpp>
#include <string>

#include "test/agent/testing/test_config.h"

namespace weft::agent::config {
namespace {

std::string errorOf(absl::string_view json) {
  auto parsed = parseNodeConfigJson(json);
  REQUIRE_FALSE(parsed.ok());
  return std::string(parsed.status().message());
}

TEST_CASE("a well-formed NodeConfig JSON parses into the message", "[unit]") {
  auto config = parseNodeConfigJson(testing::kGoodConfigJson);
  REQUIRE(config.ok());
  CHECK(config->node_name() == "node1");
  CHECK(config->workloads_size() == 2);
  CHECK(config->services(0).ports(0).target_port() == 8080);
  CHECK(config->services(1).load_balancer() == api::v1alpha1::ROUND_ROBIN);
}

TEST_CASE("camelCase JSON names are accepted like the proto names", "[unit]") {
  auto config = parseNodeConfigJson(R"({"nodeName": "node1", "services": [
      {"name": "s", "namespace": "n", "ports": [{"port": 80, "targetPort": 81}]}]})");
  REQUIRE(config.ok());
  CHECK(config->services(0).ports(0).target_port() == 81);
}

TEST_CASE("an unknown field is an error naming the field and where it is", "[unit]") {
  CHECK(errorOf(R"({"node_name": "node1", "workloadz": []})") ==
        "not a valid NodeConfig JSON: workloadz: unknown field");
  CHECK(errorOf(R"({"services": [{"ports": [{"nmae": "http"}]}]})") ==
        "not a valid NodeConfig JSON: services[0].ports[0].nmae: unknown field");
}

TEST_CASE("a value of the wrong type is an error naming the field and the value", "[unit]") {
  CHECK(errorOf(R"({"services": [{"ports": [{"port": "eighty"}]}]})") ==
        "not a valid NodeConfig JSON: services[0].ports[0].port: invalid value \"eighty\" for "
        "type TYPE_UINT32");
  CHECK_THAT(errorOf(R"({"services": [{"ports": [{"port": -1}]}]})"),
             Catch::StartsWith("not a valid NodeConfig JSON: services[0].ports[0].port: invalid "
                               "value -1"));
}

TEST_CASE("an unknown enum name is an error", "[unit]") {
  CHECK_THAT(errorOf(R"({"services": [{"load_balancer": "RANDOM"}]})"),
             Catch::StartsWith("not a valid NodeConfig JSON: services[0].load_balancer: invalid "
                               "value \"RANDOM\""));
}

TEST_CASE("malformed JSON is a one-line error", "[unit]") {
  for (const char* bad : {R"({"node_name": "node1",)", "", "[1]", "{\"node_name\": \"\xff\"}"}) {
    const std::string error = errorOf(bad);
    CHECK_THAT(error, Catch::StartsWith("not a valid NodeConfig JSON: "));
    CHECK(error.find('\n') == std::string::npos);
  }
}

TEST_CASE("a missing file is an error naming the path", "[unit]") {
  auto config = loadNodeConfigFile("/nonexistent/weft/node.json");
  REQUIRE_FALSE(config.ok());
  CHECK_THAT(std::string(config.status().message()),
             Catch::Contains("/nonexistent/weft/node.json"));
}

TEST_CASE("the config prints back as JSON that parses to the same message", "[unit]") {
  auto config = parseNodeConfigJson(testing::kGoodConfigJson);
  REQUIRE(config.ok());
  const std::string json = nodeConfigToJson(*config);
  CHECK_THAT(json, Catch::Contains("\"node_name\""));
  auto again = parseNodeConfigJson(json);
  REQUIRE(again.ok());
  CHECK(again->SerializeAsString() == config->SerializeAsString());
}

}  // namespace
}  // namespace weft::agent::config
