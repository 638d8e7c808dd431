// Two agents on loopback, as on two nodes: a client pod's connection captured on node1 reaches
// a pod of node2 through the mTLS tunnel between the agents (real TLS 1.3, real HTTP/2
// CONNECT), as the client's workload identity, and is refused when identities do not fit.

#include <catch2/catch.hpp>
#include <thread>

#include "agent/proxy/outbound_proxy.h"
#include "agent/telemetry/tunnel_metrics.h"
#include "test/agent/testing/blocking_client.h"
#include "test/agent/testing/fake_destinations.h"
#include "test/agent/testing/metric_value.h"
#include "test/agent/testing/test_upstream.h"
#include "test/agent/testing/wait_for.h"
#include "test/agent/tunnel/tunnel_test_support.h"

namespace weft::agent::proxy {
namespace {

using common::IpAddress;
using common::SocketAddress;
using test::BlockingClient;
using test::FakeDestinations;
using test::TestUpstream;
using tunnel::CertificateStore;
using tunnel::testing::TestPki;

const SocketAddress kVip{*IpAddress::Parse("10.96.0.10"), 80};
const char kClientId[] = "spiffe://cluster.local/ns/shop/sa/client";
const char kEchoId[] = "spiffe://cluster.local/ns/default/sa/echo";
const char kNode2Ip[] = "127.0.0.5";  // where node2's agent serves the tunnel

void addWorkload(api::v1alpha1::NodeConfig& config, const char* name, const char* ns,
                 const char* ip, const char* service_account) {
  auto* w = config.add_workloads();
  w->set_name(name);
  w->set_namespace_(ns);
  w->set_uid(std::string("uid-") + name);
  w->set_ip(ip);
  w->set_service_account(service_account);
  w->set_workload_name(name);
  w->set_mesh_enabled(true);
}

// node1: the client pod (127.0.0.1) and the echo service, whose pod runs on node2.
api::v1alpha1::NodeConfig node1Config(uint16_t echo_port) {
  api::v1alpha1::NodeConfig config;
  config.set_node_name("node1");
  config.mutable_mesh()->set_trust_domain("cluster.local");
  addWorkload(config, "client", "shop", "127.0.0.1", "client");
  auto* svc = config.add_services();
  svc->set_name("echo");
  svc->set_namespace_("default");
  svc->add_vips("10.96.0.10");
  auto* port = svc->add_ports();
  port->set_port(80);
  port->set_target_port(echo_port);
  auto* ep = svc->add_endpoints();
  ep->set_ip("127.0.0.2");
  ep->set_node("node2");
  ep->set_node_ip(kNode2Ip);
  ep->set_workload("echo-pod");
  ep->set_namespace_("default");
  ep->set_service_account("echo");
  ep->set_workload_name("echo");
  ep->set_mesh_enabled(true);
  ep->set_ready(true);
  return config;
}

// node2: the echo pod (127.0.0.2), running as `service_account`.
api::v1alpha1::NodeConfig node2Config(const char* service_account = "echo") {
  api::v1alpha1::NodeConfig config;
  config.set_node_name("node2");
  config.mutable_mesh()->set_trust_domain("cluster.local");
  addWorkload(config, "echo-pod", "default", "127.0.0.2", service_account);
  return config;
}

// One node's agent: its data path with a tunnel, its config and its SVIDs.
struct Agent {
  Agent(const api::v1alpha1::NodeConfig& config, std::shared_ptr<CertificateStore> svids,
        std::vector<SocketAddress> tunnel_listen, uint16_t tunnel_port)
      : certificates(std::move(svids)) {
    auto snapshot = config::buildSnapshot(config, config.node_name(), absl::Now());
    REQUIRE(snapshot.ok());
    store.publish(*snapshot);
    ProxyOptions options;
    options.listen = {{*IpAddress::Parse("127.0.0.1"), 0}};
    options.workers = 2;
    options.tunnel_listen = std::move(tunnel_listen);
    options.tunnel_port = tunnel_port;
    proxy = std::make_unique<OutboundProxy>(
        ProxyDependencies{
            .config = store,
            .destinations = destinations,
            .metrics = metrics,
            .make_relay = [] { return std::make_unique<BufferedRelay>(4096); },
            .make_random = [] { return std::make_unique<DefaultRandom>(); },
            .certificates = certificates,
        },
        options);
    REQUIRE(proxy->start().ok());
    tunnel_metrics =
        std::make_shared<telemetry::TunnelMetrics>([this] { return proxy->tunnelStats(); });
  }
  ~Agent() { proxy->stop(); }

  std::unique_ptr<BlockingClient> client() {
    auto c = std::make_unique<BlockingClient>();
    destinations.add(c->local(), kVip);
    return c;
  }
  double failures(const std::string& reason) const {
    return test::counterValue(*metrics.registry(), "weft_proxy_failures_total",
                              {{"reason", reason}})
        .value_or(-1);
  }
  double tunnelCounter(const std::string& name, const std::map<std::string, std::string>& labels)
      const {
    return test::counterValue(*tunnel_metrics, name, labels).value_or(-1);
  }

  std::shared_ptr<CertificateStore> certificates;
  config::ConfigStore store;
  FakeDestinations destinations;
  telemetry::Metrics metrics;
  std::unique_ptr<OutboundProxy> proxy;
  std::shared_ptr<telemetry::TunnelMetrics> tunnel_metrics;
};

// node2's agent with its tunnel on 127.0.0.5, the echo pod behind it, and node1's agent.
struct TwoNodes {
  explicit TwoNodes(std::shared_ptr<CertificateStore> node1_svids,
                    const char* echo_service_account = "echo")
      : echo("127.0.0.2", 0),
        node2(node2Config(echo_service_account),
              mesh().store({mesh().svid(kEchoId, absl::Now()),
                            mesh().svid("spiffe://cluster.local/ns/default/sa/other", absl::Now())}),
              {{*IpAddress::Parse(kNode2Ip), 0}}, 0),
        node1(node1Config(echo.port()), std::move(node1_svids), {},
              node2.proxy->tunnelAddresses().at(0).port) {
    REQUIRE(echo.valid());
  }

  // The mesh's CA, made once (inside a test: its checks need Catch running).
  static const TestPki& mesh() {
    static const TestPki pki("cluster.local", absl::Now());
    return pki;
  }
  TestUpstream echo;
  Agent node2;
  Agent node1;
};

TEST_CASE("a connection to a pod on another node goes through the tunnel, mutually "
          "authenticated, and is labelled so") {
  TwoNodes nodes(TwoNodes::mesh().store({TwoNodes::mesh().svid(kClientId, absl::Now())}));
  for (int i = 0; i < 3; ++i) {
    auto client = nodes.node1.client();
    REQUIRE(client->connect(nodes.node1.proxy->listenAddresses()[0]));
    const std::string payload = "hello over mTLS " + std::to_string(i);
    REQUIRE(client->sendAll(payload));
    client->shutdownWrite();
    std::string echoed;
    REQUIRE(client->readToEof(echoed));
    CHECK(echoed == payload);
  }
  CHECK(nodes.echo.accepted() == 3);

  const std::map<std::string, std::string> labels = {
      {"source_workload", "client"},
      {"source_principal", kClientId},
      {"destination_workload", "echo"},
      {"destination_principal", kEchoId},
      {"connection_security_policy", "mutual_tls"}};
  auto& registry = *nodes.node1.metrics.registry();
  REQUIRE(test::waitFor([&] {
    return test::counterValue(registry, "weft_tcp_connections_closed_total", labels) == 3;
  }));
  CHECK(test::counterValue(registry, "weft_tcp_connections_opened_total", labels) == 3);
  CHECK(test::counterValue(registry, "weft_tcp_received_bytes_total", labels) ==
        3 * std::string("hello over mTLS 0").size());
  CHECK(test::counterValue(registry, "weft_proxy_relays_total", {{"mode", "tunnel"}}) == 3);
  // Pooled: the three streams shared connections, at most one per worker of node1.
  CHECK(nodes.node1.tunnelCounter("weft_tunnel_streams_total",
                                  {{"side", "client"}, {"result", "opened"}}) == 3);
  CHECK(nodes.node2.tunnelCounter("weft_tunnel_streams_total",
                                  {{"side", "server"}, {"result", "opened"}}) == 3);
  CHECK(nodes.node2.tunnelCounter("weft_tunnel_handshakes_total", {{"side", "server"}}) <= 2);
}

TEST_CASE("a client pod whose agent holds no SVID for it cannot reach another node") {
  TwoNodes nodes(std::make_shared<CertificateStore>());
  auto client = nodes.node1.client();
  REQUIRE(client->connect(nodes.node1.proxy->listenAddresses()[0]));
  // The agent may have reset the connection already: the send need not succeed.
  (void)client->sendAll("marker");
  std::string received;
  CHECK_FALSE(client->readToEof(received));  // reset, not a clean close
  CHECK(received.empty());
  CHECK(nodes.echo.accepted() == 0);
  REQUIRE(test::waitFor([&] { return nodes.node1.failures("upstream_unavailable") == 1; }));
  // One attempt (the service has no other endpoint to retry on), which found no SVID.
  CHECK(nodes.node1.failures("tunnel_error") == 1);
}

TEST_CASE("the destination agent refuses a stream for a pod that runs as another identity") {
  // node1's config says the echo pod is "echo"; node2 knows it runs as "other".
  TwoNodes nodes(TwoNodes::mesh().store({TwoNodes::mesh().svid(kClientId, absl::Now())}), "other");
  auto client = nodes.node1.client();
  REQUIRE(client->connect(nodes.node1.proxy->listenAddresses()[0]));
  std::string received;
  CHECK_FALSE(client->readToEof(received));
  CHECK(nodes.echo.accepted() == 0);
  REQUIRE(test::waitFor([&] { return nodes.node1.failures("tunnel_denied") == 1; }));
  CHECK(nodes.node2.tunnelCounter("weft_tunnel_streams_total",
                                  {{"side", "server"}, {"result", "denied"}}) == 1);
}

TEST_CASE("an agent whose SVID comes from another CA fails the handshake at the other node") {
  const TestPki foreign("cluster.local", absl::Now());
  TwoNodes nodes(foreign.store({foreign.svid(kClientId, absl::Now())}));
  auto client = nodes.node1.client();
  REQUIRE(client->connect(nodes.node1.proxy->listenAddresses()[0]));
  std::string received;
  CHECK_FALSE(client->readToEof(received));
  CHECK(nodes.echo.accepted() == 0);
  // node1 verifies node2's certificate first (TLS 1.3: the server's comes first) and finds it
  // untrusted by its foreign bundle; node2 then sees node1's alert.
  REQUIRE(test::waitFor([&] {
    return nodes.node1.tunnelCounter("weft_tunnel_handshake_failures_total",
                                     {{"side", "client"}, {"reason", "certificate"}}) == 1;
  }));
  REQUIRE(test::waitFor([&] {
    return nodes.node2.tunnelCounter("weft_tunnel_handshake_failures_total",
                                     {{"side", "server"}, {"reason", "tls"}}) == 1;
  }));
  CHECK(nodes.node2.tunnelCounter("weft_tunnel_streams_total",
                                  {{"side", "server"}, {"result", "opened"}}) == 0);
}

}  // namespace
}  // namespace weft::agent::proxy
