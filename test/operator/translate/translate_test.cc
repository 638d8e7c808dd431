#include "operator/translate/translate.h"

#include <catch2/catch.hpp>

#include "operator/output/node_config_files.h"

namespace weft::op {
namespace {

SourceSnapshotPtr cluster(const std::string& mesh_label, const std::string& pod_ip) {
  SourceSnapshotBuilder builder;
  Namespace ns;
  ns.name = "demo";
  ns.labels = {{"weft.io/mesh", mesh_label}};
  REQUIRE(builder.add(ns, "t").ok());
  Pod pod;
  pod.name = "client";
  pod.namespace_name = "demo";
  pod.uid = "uid-client";
  pod.node_name = "node1";
  pod.ips = {pod_ip};
  pod.workload_name = "client";
  REQUIRE(builder.add(pod, "t").ok());
  Service service;
  service.name = "backend";
  service.namespace_name = "demo";
  service.cluster_ips = {"10.96.0.10"};
  service.ports = {ServicePort{"http", 80, TargetPort::Number(8080), "TCP", ""}};
  REQUIRE(builder.add(service, "t").ok());
  return std::move(builder).build();
}

TEST_CASE("the same snapshot translates to byte-identical configs") {
  const auto a = translate(*cluster("enabled", "10.244.1.10"));
  const auto b = translate(*cluster("enabled", "10.244.1.10"));
  REQUIRE(a.configs.size() == 1);
  CHECK(nodeConfigJson(a.configs.at("node1")) == nodeConfigJson(b.configs.at("node1")));
}

TEST_CASE("the version is a content hash: it changes with the content, and only then") {
  const auto config = translate(*cluster("enabled", "10.244.1.10")).configs.at("node1");
  CHECK(config.version().size() == 16);
  CHECK(config.version() == configVersion(config));
  const auto other_ip = translate(*cluster("enabled", "10.244.1.99")).configs.at("node1");
  CHECK(other_ip.version() != config.version());
  auto reversioned = config;
  reversioned.set_version("something else");
  CHECK(configVersion(reversioned) == config.version());
}

TEST_CASE("a node without an enrolled workload gets its workloads but no services") {
  const auto enrolled = translate(*cluster("enabled", "10.244.1.10")).configs.at("node1");
  CHECK(enrolled.services_size() == 1);
  CHECK(enrolled.workloads(0).mesh_enabled());
  const auto not_enrolled = translate(*cluster("disabled", "10.244.1.10")).configs.at("node1");
  CHECK(not_enrolled.services_size() == 0);
  REQUIRE(not_enrolled.workloads_size() == 1);
  CHECK_FALSE(not_enrolled.workloads(0).mesh_enabled());
}

TEST_CASE("a service listing one VIP twice is left out: the agent would refuse the config") {
  SourceSnapshotBuilder builder;
  REQUIRE(builder.add(Namespace{"demo", {{"weft.io/mesh", "enabled"}}}, "t").ok());
  Pod pod;
  pod.name = "client";
  pod.namespace_name = "demo";
  pod.uid = "uid-client";
  pod.node_name = "node1";
  pod.ips = {"10.244.1.10"};
  REQUIRE(builder.add(pod, "t").ok());
  Service service;
  service.name = "twice";
  service.namespace_name = "demo";
  service.cluster_ips = {"10.96.0.10", "::ffff:10.96.0.10"};
  service.ports = {ServicePort{"http", 80, TargetPort::Number(80), "TCP", ""}};
  REQUIRE(builder.add(service, "t").ok());
  const Translation translation = translate(*std::move(builder).build());
  CHECK(translation.configs.at("node1").services_size() == 0);
  CHECK(translation.warnings ==
        std::vector<std::string>{"Service demo/twice: left out, ::ffff:10.96.0.10:80 is "
                                 "already Service demo/twice's"});
}

TEST_CASE("an empty snapshot has no configs") {
  CHECK(translate(SourceSnapshot()).configs.empty());
}

}  // namespace
}  // namespace weft::op
