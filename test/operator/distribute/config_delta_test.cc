#include "operator/distribute/config_delta.h"

#include <catch2/catch.hpp>

#include "test/common/config/synthetic_config.h"

namespace weft::op {
namespace {

using api::v1alpha1::ConfigResponse;
using api::v1alpha1::NodeConfig;
using common::config::kServicesType;
using common::config::kWorkloadsType;
using common::config::resourcesOf;
using common::config::VersionMap;
using common::config::versionsOf;

// What an agent that ACKed `config` holds.
VersionMap heldAfter(const NodeConfig& config) {
  return versionsOf(resourcesOf(config));
}

// The size on the wire of the delta that moves an up-to-date agent to one endpoint change.
size_t endpointChangeBytes(int services) {
  NodeConfig before = test::syntheticConfig(services);
  NodeConfig after = before;
  after.mutable_services(0)->mutable_endpoints(1)->set_ready(false);
  ConfigResponse delta = computeDelta(resourcesOf(after), heldAfter(before));
  REQUIRE(delta.deltas_size() == 1);
  REQUIRE(delta.deltas(0).resources_size() == 1);
  return delta.ByteSizeLong();
}

TEST_CASE("an agent with nothing gets every resource") {
  NodeConfig config = test::syntheticConfig(3);
  ConfigResponse delta = computeDelta(resourcesOf(config), {});
  REQUIRE(delta.deltas_size() == 2);
  CHECK(delta.deltas(0).type() == kServicesType);
  CHECK(delta.deltas(0).resources_size() == 3);
  CHECK(delta.deltas(0).resources(0).name() == "demo/svc-0");
  CHECK(delta.deltas(1).type() == kWorkloadsType);
  CHECK(delta.deltas(1).resources(0).name() == "uid-0");
  CHECK(delta.deltas(1).resources(0).workload().name() == "pod-0");
}

TEST_CASE("only changed resources are sent") {
  NodeConfig before = test::syntheticConfig(5);
  NodeConfig after = before;
  after.mutable_services(3)->mutable_endpoints(0)->set_ip("10.244.9.9");
  ConfigResponse delta = computeDelta(resourcesOf(after), heldAfter(before));
  REQUIRE(delta.deltas_size() == 1);
  CHECK(delta.deltas(0).type() == kServicesType);
  REQUIRE(delta.deltas(0).resources_size() == 1);
  CHECK(delta.deltas(0).resources(0).name() == "demo/svc-3");
  CHECK(delta.deltas(0).resources(0).service().endpoints(0).ip() == "10.244.9.9");
  CHECK(delta.deltas(0).removed_size() == 0);
}

TEST_CASE("the bytes of one endpoint change do not grow with the number of services") {
  CHECK(endpointChangeBytes(10) == endpointChangeBytes(1000));
}

TEST_CASE("a resource gone from the node's config is sent as removed") {
  NodeConfig before = test::syntheticConfig(3);
  NodeConfig after = before;
  after.mutable_services()->DeleteSubrange(1, 1);
  after.mutable_workloads()->RemoveLast();
  ConfigResponse delta = computeDelta(resourcesOf(after), heldAfter(before));
  REQUIRE(delta.deltas_size() == 2);
  CHECK(delta.deltas(0).resources_size() == 0);
  REQUIRE(delta.deltas(0).removed_size() == 1);
  CHECK(delta.deltas(0).removed(0) == "demo/svc-1");
  REQUIRE(delta.deltas(1).removed_size() == 1);
  CHECK(delta.deltas(1).removed(0) == "uid-1");
}

TEST_CASE("an up-to-date agent reconnecting is sent nothing") {
  NodeConfig config = test::syntheticConfig(100);
  // What the agent reports on reconnect is what it ACKed; versions are content hashes, so an
  // operator that restarted computes the same ones.
  CHECK(computeDelta(resourcesOf(config), heldAfter(config)).deltas_size() == 0);
}

TEST_CASE("an ACK makes the sent resources the agent's") {
  NodeConfig before = test::syntheticConfig(3);
  NodeConfig after = before;
  after.mutable_services(0)->set_load_balancer(api::v1alpha1::ROUND_ROBIN);
  after.mutable_services()->RemoveLast();
  VersionMap held = heldAfter(before);
  applyToVersions(computeDelta(resourcesOf(after), held), held);
  CHECK(held == heldAfter(after));
}

}  // namespace
}  // namespace weft::op
