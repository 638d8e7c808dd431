#include "agent/config/config_snapshot.h"

#include <catch2/catch.hpp>
#include <functional>
#include <string>

#include "agent/config/config_loader.h"
#include "test/agent/testing/test_config.h"

namespace weft::agent::config {
namespace {

using api::v1alpha1::NodeConfig;
using common::IpAddress;
using common::SocketAddress;

const absl::Time kLoadTime = absl::FromUnixSeconds(1'700'000'000);

NodeConfig goodConfig() {
  auto config = parseNodeConfigJson(testing::kGoodConfigJson);
  REQUIRE(config.ok());
  return *config;
}

SocketAddress addr(const char* ip, uint16_t port) {
  return {*IpAddress::Parse(ip), port};
}

std::string errorAfter(const std::function<void(NodeConfig&)>& mutate) {
  NodeConfig config = goodConfig();
  mutate(config);
  auto snapshot = buildSnapshot(config, "node1", kLoadTime);
  REQUIRE_FALSE(snapshot.ok());
  return std::string(snapshot.status().message());
}

TEST_CASE("a valid config indexes each VIP:port to its service port and ready endpoints") {
  auto snapshot = buildSnapshot(goodConfig(), "node1", kLoadTime);
  REQUIRE(snapshot.ok());
  const ConfigSnapshot& s = **snapshot;
  CHECK(s.version() == "v1");
  CHECK(s.loadedAt() == kLoadTime);

  const ServiceTarget* web = s.findService(addr("10.96.0.10", 80));
  REQUIRE(web != nullptr);
  CHECK(web->fqdn == "web.default.svc.cluster.local");
  CHECK(web->target_port == 8080);
  CHECK(web->load_balancer == LoadBalancerPolicy::kLeastConnections);
  REQUIRE(web->endpoints.size() == 2);  // web-c is not ready
  CHECK(web->endpoints[0].address == addr("10.244.1.20", 8080));
  CHECK(web->endpoints[0].workload_label == "web");
  CHECK(web->endpoints[1].address == addr("10.244.2.20", 8080));
  CHECK(web->endpoints[1].workload_label == "web-b");    // no owner: the pod name
  CHECK(web->endpoints[1].namespace_name == "default");  // defaults to the service's

  // Both VIPs of a service reach the same port entry.
  CHECK(s.findService(addr("fd00:96::10", 80)) == web);
}

TEST_CASE("target_port defaults to port, and non-TCP ports are not captured") {
  auto snapshot = buildSnapshot(goodConfig(), "node1", kLoadTime);
  REQUIRE(snapshot.ok());
  const ServiceTarget* admin = (*snapshot)->findService(addr("10.96.0.10", 9000));
  REQUIRE(admin != nullptr);
  CHECK(admin->target_port == 9000);
  CHECK((*snapshot)->findService(addr("10.96.0.10", 53)) == nullptr);
  CHECK((*snapshot)->findService(addr("10.96.0.10", 81)) == nullptr);
}

TEST_CASE("the service address list holds every captured VIP:port") {
  auto snapshot = buildSnapshot(goodConfig(), "node1", kLoadTime);
  REQUIRE(snapshot.ok());
  const auto vips = (*snapshot)->serviceAddresses();
  const std::vector<SocketAddress> expected = {addr("10.96.0.10", 80), addr("fd00:96::10", 80),
                                               addr("10.96.0.10", 9000), addr("fd00:96::10", 9000),
                                               addr("10.96.0.11", 443)};
  CHECK(std::vector<SocketAddress>(vips.begin(), vips.end()) == expected);
  const ServiceTarget* api = (*snapshot)->findService(addr("10.96.0.11", 443));
  REQUIRE(api != nullptr);
  CHECK(api->load_balancer == LoadBalancerPolicy::kRoundRobin);
  CHECK(api->endpoints.empty());
}

TEST_CASE("workloads are found by pod IP and by UID") {
  auto snapshot = buildSnapshot(goodConfig(), "node1", kLoadTime);
  REQUIRE(snapshot.ok());
  const WorkloadInfo* client = (*snapshot)->findWorkload(*IpAddress::Parse("10.244.1.10"));
  REQUIRE(client != nullptr);
  CHECK(client->workload_label == "client");
  CHECK(client->mesh_enabled);
  CHECK((*snapshot)->findWorkloadByUid("uid-client") == client);
  const WorkloadInfo* batch = (*snapshot)->findWorkload(*IpAddress::Parse("10.244.1.11"));
  REQUIRE(batch != nullptr);
  CHECK(batch->workload_label == "batch-1");
  CHECK_FALSE(batch->mesh_enabled);
  CHECK((*snapshot)->findWorkload(*IpAddress::Parse("10.244.1.99")) == nullptr);
}

TEST_CASE("enrolled workloads and endpoints get their SPIFFE identity; remote enrolled "
          "endpoints go through their node's tunnel") {
  NodeConfig config = goodConfig();
  config.mutable_mesh()->set_trust_domain("example.org");
  auto* remote = config.mutable_services(0)->mutable_endpoints(1);  // web-b on node2
  remote->set_mesh_enabled(true);
  remote->set_service_account("web");
  remote->set_node_ip("10.250.0.2");
  auto* local = config.mutable_services(0)->mutable_endpoints(0);  // web-a on node1
  local->set_mesh_enabled(true);
  local->set_node_ip("10.250.0.1");
  auto snapshot = buildSnapshot(config, "node1", kLoadTime);
  REQUIRE(snapshot.ok());
  CHECK((*snapshot)->trustDomain() == "example.org");
  const WorkloadInfo* client = (*snapshot)->findWorkload(*IpAddress::Parse("10.244.1.10"));
  REQUIRE(client->identity.has_value());
  CHECK(client->identity->toString() == "spiffe://example.org/ns/default/sa/client");
  CHECK_FALSE((*snapshot)->findWorkload(*IpAddress::Parse("10.244.1.11"))->identity);

  const ServiceTarget* web = (*snapshot)->findService(addr("10.96.0.10", 80));
  REQUIRE(web->endpoints.size() == 2);
  // Same node: direct (the agent is both ends), but the identity is known for telemetry.
  CHECK(web->endpoints[0].identity->toString() == "spiffe://example.org/ns/default/sa/default");
  CHECK_FALSE(web->endpoints[0].viaTunnel());
  CHECK(web->endpoints[1].viaTunnel());
  CHECK(web->endpoints[1].node_ip == *IpAddress::Parse("10.250.0.2"));
  CHECK(web->endpoints[1].identity->toString() == "spiffe://example.org/ns/default/sa/web");
}

TEST_CASE("a config without a trust domain is in cluster.local") {
  auto snapshot = buildSnapshot(goodConfig(), "node1", kLoadTime);
  REQUIRE(snapshot.ok());
  CHECK((*snapshot)->trustDomain() == "cluster.local");
}

TEST_CASE("an enrolled endpoint on another node without its node's address gets no traffic") {
  // Plaintext to it would bypass its mTLS, and there is no tunnel to take without the address.
  NodeConfig config = goodConfig();
  config.mutable_services(0)->mutable_endpoints(1)->set_mesh_enabled(true);
  auto snapshot = buildSnapshot(config, "node1", kLoadTime);
  REQUIRE(snapshot.ok());
  const ServiceTarget* web = (*snapshot)->findService(addr("10.96.0.10", 80));
  REQUIRE(web->endpoints.size() == 1);
  CHECK(web->endpoints[0].pod_name == "web-a");
}

TEST_CASE("each workload lists the policies that select it, resolved once") {
  auto snapshot = buildSnapshot(goodConfig(), "node1", kLoadTime);
  REQUIRE(snapshot.ok());
  const WorkloadInfo* client = (*snapshot)->findWorkload(*IpAddress::Parse("10.244.1.10"));
  REQUIRE(client != nullptr);
  REQUIRE(client->authorization_policies == std::vector<int>{0});
  CHECK((*snapshot)->config().authorization_policies(0).name() == "from-default");
  CHECK((*snapshot)->findWorkload(*IpAddress::Parse("10.244.1.11"))->authorization_policies.empty());
}

TEST_CASE("each invalid field is rejected with its path and value") {
  struct Case {
    const char* what;
    std::function<void(NodeConfig&)> mutate;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"config for another node", [](NodeConfig& c) { c.set_node_name("node2"); },
       "node_name: \"node2\" is not this node (\"node1\")"},
      {"port above range",
       [](NodeConfig& c) { c.mutable_services(1)->mutable_ports(0)->set_port(70000); },
       "services[1].ports[0].port: 70000 is not a port (1-65535)"},
      {"port zero", [](NodeConfig& c) { c.mutable_services(0)->mutable_ports(1)->set_port(0); },
       "services[0].ports[1].port: 0 is not a port (1-65535)"},
      {"target port above range",
       [](NodeConfig& c) { c.mutable_services(0)->mutable_ports(0)->set_target_port(65536); },
       "services[0].ports[0].target_port: 65536 is not a port (1-65535)"},
      {"unknown protocol",
       [](NodeConfig& c) { c.mutable_services(0)->mutable_ports(0)->set_protocol("tcp"); },
       "services[0].ports[0].protocol: \"tcp\" is not a protocol (TCP, UDP, SCTP)"},
      {"bad VIP", [](NodeConfig& c) { c.mutable_services(0)->set_vips(1, "10.96.0.300"); },
       "services[0].vips[1]: \"10.96.0.300\" is not an IP address"},
      {"bad endpoint IP",
       [](NodeConfig& c) { c.mutable_services(0)->mutable_endpoints(2)->set_ip("web-c"); },
       "services[0].endpoints[2].ip: \"web-c\" is not an IP address"},
      {"bad pod IP", [](NodeConfig& c) { c.mutable_workloads(1)->set_ip(""); },
       "workloads[1].ip: \"\" is not an IP address"},
      {"duplicate VIP:port across services",
       [](NodeConfig& c) {
         c.mutable_services(1)->set_vips(0, "10.96.0.10");
         c.mutable_services(1)->mutable_ports(0)->set_port(9000);
       },
       "services[1].vips[0]: 10.96.0.10:9000 is already used by services[0] (default/web)"},
      {"duplicate port within a service",
       [](NodeConfig& c) { c.mutable_services(0)->mutable_ports(1)->set_port(80); },
       "services[0].vips[0]: 10.96.0.10:80 is already used by services[0] (default/web)"},
      {"duplicate workload UID",
       [](NodeConfig& c) { c.mutable_workloads(1)->set_uid("uid-client"); },
       "workloads[1].uid: \"uid-client\" is already used by workloads[0]"},
      {"duplicate pod IP", [](NodeConfig& c) { c.mutable_workloads(1)->set_ip("10.244.1.10"); },
       "workloads[1].ip: \"10.244.1.10\" is already used by workloads[0]"},
      {"workload without UID", [](NodeConfig& c) { c.mutable_workloads(0)->clear_uid(); },
       "workloads[0].uid: must not be empty"},
      {"workload without namespace",
       [](NodeConfig& c) { c.mutable_workloads(1)->clear_namespace_(); },
       "workloads[1].namespace: must not be empty"},
      {"service without name", [](NodeConfig& c) { c.mutable_services(1)->clear_name(); },
       "services[1].name: must not be empty"},
      {"bad trust domain", [](NodeConfig& c) { c.mutable_mesh()->set_trust_domain("Example.org"); },
       "mesh.trust_domain: trust domain \"Example.org\" may hold only lowercase letters, digits, "
       "'.', '-' and '_'"},
      {"bad node IP of an enrolled endpoint on another node",
       [](NodeConfig& c) {
         c.mutable_services(0)->mutable_endpoints(1)->set_mesh_enabled(true);
         c.mutable_services(0)->mutable_endpoints(1)->set_node_ip("node2");
       },
       "services[0].endpoints[1].node_ip: \"node2\" is not an IP address"},
      {"enrolled workload whose service account is no SPIFFE path segment",
       [](NodeConfig& c) { c.mutable_workloads(0)->set_service_account("a/b"); },
       "workloads[0].service_account: invalid SPIFFE ID parts: service account \"a/b\" is not "
       "a Kubernetes name (dot-separated lowercase letters, digits and '-', each part starting "
       "and ending with a letter or digit)"},
      {"a workload names a policy the config does not have",
       [](NodeConfig& c) { c.mutable_workloads(1)->add_authorization_policies("jobs/nope"); },
       "workloads[1].authorization_policies[0]: \"jobs/nope\" is not in authorization_policies"},
      {"two policies with one name",
       [](NodeConfig& c) { *c.add_authorization_policies() = c.authorization_policies(0); },
       "authorization_policies[1]: \"default/from-default\" is already "
       "authorization_policies[0]"},
      {"policy without namespace",
       [](NodeConfig& c) { c.mutable_authorization_policies(0)->clear_namespace_(); },
       "authorization_policies[0].namespace: must not be empty"},
      {"policy port above range",
       [](NodeConfig& c) {
         c.mutable_authorization_policies(0)->mutable_rules(0)->mutable_to(0)->add_not_ports(
             65536);
       },
       "authorization_policies[0].rules[0].to[0].not_ports[0]: 65536 is not a port (1-65535)"},
      {"unknown policy action",
       [](NodeConfig& c) {
         c.mutable_authorization_policies(0)->set_action(
             static_cast<api::v1alpha1::AuthorizationPolicy::Action>(3));
       },
       "authorization_policies[0].action: 3 is not an action"},
      {"unknown mTLS mode",
       [](NodeConfig& c) {
         c.mutable_workloads(0)->set_mtls_mode(static_cast<api::v1alpha1::MtlsMode>(9));
       },
       "workloads[0].mtls_mode: 9 is not an mTLS mode"},
      {"mTLS port zero",
       [](NodeConfig& c) {
         (*c.mutable_workloads(0)->mutable_port_mtls_modes())[0] = api::v1alpha1::STRICT;
       },
       "workloads[0].port_mtls_modes[0]: 0 is not a port (1-65535)"},
      {"unknown load balancer number",
       [](NodeConfig& c) {
         c.mutable_services(0)->set_load_balancer(static_cast<api::v1alpha1::LoadBalancer>(7));
       },
       "services[0].load_balancer: 7 is not a load balancer"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    CHECK(errorAfter(c.mutate) == c.message);
  }
}

}  // namespace
}  // namespace weft::agent::config
