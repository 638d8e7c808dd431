#include "agent/config/streamed_config.h"

#include <catch2/catch.hpp>

#include "operator/distribute/config_delta.h"
#include "test/common/config/synthetic_config.h"

namespace weft::agent::config {
namespace {

using api::v1alpha1::ConfigResponse;
using api::v1alpha1::NodeConfig;
using common::config::resourcesOf;
using common::config::versionsOf;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

// What the operator sends an agent that told it `initial` to move it to `desired`.
ConfigResponse responseFor(const StreamedConfig& agent, const NodeConfig& desired) {
  ConfigResponse response =
      op::computeDelta(resourcesOf(desired), versionsOf(agent.initialRequest().initial_versions()));
  response.set_config_version(desired.version());
  return response;
}

TEST_CASE("the resources of a response assemble into the node's config") {
  StreamedConfig agent("node1");
  NodeConfig desired = test::syntheticConfig(4);
  auto snapshot = agent.apply(responseFor(agent, desired), kNow);
  REQUIRE(snapshot.ok());
  CHECK((*snapshot)->version() == "v1");
  CHECK((*snapshot)->config().services_size() == 4);
  CHECK((*snapshot)->workloads().size() == 2);
}

TEST_CASE("a delta changes one service and keeps the others") {
  StreamedConfig agent("node1");
  NodeConfig before = test::syntheticConfig(4);
  REQUIRE(agent.apply(responseFor(agent, before), kNow).ok());
  NodeConfig after = before;
  after.set_version("v2");
  after.mutable_services(2)->mutable_endpoints(0)->set_ip("10.244.9.9");
  after.mutable_workloads()->RemoveLast();
  ConfigResponse delta = responseFor(agent, after);
  CHECK(delta.deltas_size() == 2);
  auto snapshot = agent.apply(delta, kNow);
  REQUIRE(snapshot.ok());
  CHECK((*snapshot)->version() == "v2");
  CHECK((*snapshot)->config().services(2).endpoints(0).ip() == "10.244.9.9");
  CHECK((*snapshot)->config().services_size() == 4);
  CHECK((*snapshot)->workloads().size() == 1);
}

TEST_CASE("after a reconnect the agent reports what it holds, and is sent nothing") {
  StreamedConfig agent("node1");
  NodeConfig config = test::syntheticConfig(10);
  REQUIRE(agent.apply(responseFor(agent, config), kNow).ok());
  CHECK(agent.initialRequest().node_name() == "node1");
  CHECK(agent.initialRequest().initial_versions().at("services").versions_size() == 10);
  CHECK(responseFor(agent, config).deltas_size() == 0);
}

TEST_CASE("an invalid result is rejected with its reason and the last good config stays") {
  StreamedConfig agent("node1");
  NodeConfig good = test::syntheticConfig(3);
  REQUIRE(agent.apply(responseFor(agent, good), kNow).ok());
  NodeConfig bad = good;
  bad.mutable_services(2)->set_vips(0, bad.services(0).vips(0));  // two services, one VIP
  auto rejected = agent.apply(responseFor(agent, bad), kNow);
  REQUIRE_FALSE(rejected.ok());
  CHECK_THAT(std::string(rejected.status().message()), Catch::Contains("10.96.0.1"));
  // Still diffed against the good config: the bad service is what is sent again.
  ConfigResponse again = responseFor(agent, bad);
  REQUIRE(again.deltas_size() == 1);
  CHECK(again.deltas(0).resources(0).name() == "demo/svc-2");
  CHECK(answer("n1", rejected.status()).error_detail() == rejected.status().message());
  CHECK(answer("n1", absl::OkStatus()).error_detail().empty());
}

TEST_CASE("a response that does not fit the protocol is rejected") {
  StreamedConfig agent("node1");
  ConfigResponse response;
  auto* delta = response.add_deltas();
  delta->set_type("policies");
  CHECK_THAT(std::string(agent.apply(response, kNow).status().message()),
             Catch::Contains("unknown resource type \"policies\""));
  delta->set_type("services");
  auto* resource = delta->add_resources();
  resource->set_name("demo/other");
  *resource->mutable_service() = test::syntheticConfig(1).services(0);
  CHECK_THAT(std::string(agent.apply(response, kNow).status().message()),
             Catch::Contains("keyed \"demo/svc-0\""));
  resource->mutable_workload();
  CHECK_THAT(std::string(agent.apply(response, kNow).status().message()),
             Catch::Contains("not a services resource"));
}

}  // namespace
}  // namespace weft::agent::config
