#include "agent/control/strict_ports.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "agent/config/config_loader.h"

namespace weft::agent::control {
namespace {

using capture::StrictPort;
using common::IpAddress;

// One workload per JSON object in `workloads`, all on node1.
std::vector<StrictPort> strictPortsOf(const std::string& workloads) {
  auto config = config::parseNodeConfigJson(
      R"({"node_name": "node1", "version": "v1", "workloads": [)" + workloads + "]}");
  REQUIRE(config.ok());
  auto snapshot = config::buildSnapshot(*config, "node1", absl::FromUnixSeconds(1'700'000'000));
  REQUIRE(snapshot.ok());
  return strictPorts(**snapshot);
}

StrictPort entry(const char* ip, uint16_t port, bool strict) {
  return {*IpAddress::Parse(ip), port, strict};
}

TEST_CASE("a STRICT pod is enforced on every port but its exempt ones") {
  const auto ports = strictPortsOf(R"(
    {"name": "web", "namespace": "shop", "uid": "u1", "ip": "10.244.1.20", "mesh_enabled": true,
     "mtls_mode": "STRICT", "port_mtls_modes": {"15021": "PERMISSIVE", "9090": "DISABLE",
                                                "8080": "STRICT", "7070": "MTLS_MODE_UNSPECIFIED"}})");
  // 8080 repeats the default and 7070 inherits it: neither needs an entry of its own.
  CHECK(ports == std::vector<StrictPort>{entry("10.244.1.20", 0, true),
                                         entry("10.244.1.20", 9090, false),
                                         entry("10.244.1.20", 15021, false)});
}

TEST_CASE("a PERMISSIVE pod with a STRICT port is enforced on that port only") {
  const auto ports = strictPortsOf(R"(
    {"name": "db", "namespace": "shop", "uid": "u1", "ip": "fd00:244:1::21", "mesh_enabled": true,
     "port_mtls_modes": {"5432": "STRICT", "9090": "PERMISSIVE"}})");
  CHECK(ports == std::vector<StrictPort>{entry("fd00:244:1::21", 0, false),
                                         entry("fd00:244:1::21", 5432, true)});
}

TEST_CASE("pods with nothing STRICT get no entry") {
  const auto ports = strictPortsOf(R"(
    {"name": "a", "namespace": "x", "uid": "u1", "ip": "10.244.1.20", "mesh_enabled": true},
    {"name": "b", "namespace": "x", "uid": "u2", "ip": "10.244.1.21", "mesh_enabled": true,
     "mtls_mode": "PERMISSIVE", "port_mtls_modes": {"80": "DISABLE"}},
    {"name": "c", "namespace": "x", "uid": "u3", "ip": "10.244.1.22", "mesh_enabled": true,
     "mtls_mode": "STRICT", "port_mtls_modes": {"80": "PERMISSIVE"}})");
  CHECK(ports ==
        std::vector<StrictPort>{entry("10.244.1.22", 0, true), entry("10.244.1.22", 80, false)});
}

TEST_CASE("a pod outside the mesh is never enforced, whatever its mode") {
  CHECK(strictPortsOf(R"(
    {"name": "legacy", "namespace": "old", "uid": "u1", "ip": "10.244.1.30",
     "mtls_mode": "STRICT", "port_mtls_modes": {"80": "STRICT"}})")
            .empty());
}

TEST_CASE("entries are sorted, so an unchanged config gives an equal set") {
  const std::string workloads = R"(
    {"name": "b", "namespace": "x", "uid": "u2", "ip": "10.244.1.21", "mesh_enabled": true,
     "mtls_mode": "STRICT", "port_mtls_modes": {"81": "PERMISSIVE", "80": "PERMISSIVE"}},
    {"name": "a", "namespace": "x", "uid": "u1", "ip": "10.244.1.20", "mesh_enabled": true,
     "mtls_mode": "STRICT"})";
  const auto ports = strictPortsOf(workloads);
  CHECK(ports ==
        std::vector<StrictPort>{entry("10.244.1.20", 0, true), entry("10.244.1.21", 0, true),
                                entry("10.244.1.21", 80, false), entry("10.244.1.21", 81, false)});
  CHECK(strictPortsOf(workloads) == ports);
}

}  // namespace
}  // namespace weft::agent::control
