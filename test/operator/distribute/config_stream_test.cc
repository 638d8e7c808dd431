// The config stream end to end in one process: the operator's gRPC server and an agent's
// stream client over loopback, TLS from the identity CA, node tokens. Waits are generous
// (test::waitFor); no timing decides a test.

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/str_cat.h"
#include "agent/config/config_stream_client.h"
#include "common/identity/pem.h"
#include "operator/admin/admin_routes.h"
#include "operator/distribute/config_server.h"
#include "operator/identity/ca_directory.h"
#include "test/agent/testing/metric_value.h"
#include "test/agent/testing/wait_for.h"
#include "test/common/config/synthetic_config.h"

namespace weft::op {
namespace {

using agent::config::ConfigStore;
using agent::config::ConfigStreamClient;
using api::v1alpha1::NodeConfig;
using common::identity::CertificateAuthority;

constexpr char kTokens[] =
    "# node token\n"
    "node1 node1-token-0123456789\n"
    "node2 node2-token-0123456789\n";
constexpr char kNode1Token[] = "node1-token-0123456789";

CertificateAuthority testCa() {
  auto ca = CertificateAuthority::selfSigned("cluster.local", absl::Hours(24), absl::Now());
  REQUIRE(ca.ok());
  return *std::move(ca);
}

std::string rootPem(const CertificateAuthority& ca) {
  auto pem = common::identity::chainToPem(ca.trustBundle());
  REQUIRE(pem.ok());
  return *pem;
}

common::SocketAddress loopback(int port) {
  return {*common::IpAddress::Parse("127.0.0.1"), static_cast<uint16_t>(port)};
}

NodeConfig versioned(NodeConfig config, const std::string& version) {
  config.set_version(version);
  return config;
}

// The operator's side: a distributor fed by the test, the server, its metrics.
struct Operator {
  explicit Operator(const CertificateAuthority& ca, int listen_port = 0)
      : tokens(*NodeTokens::parse(kTokens)), server(distributor, tokens, metrics) {
    auto identity = issueOperatorIdentity(ca, absl::Now());
    REQUIRE(identity.ok());
    auto bound = server.start(loopback(listen_port),
                              serverTlsCredentials(identity->key_pem, identity->chain_pem));
    REQUIRE(bound.ok());
    port = *bound;
  }
  // node1 gets `node1`; node2, whose agent is not started, a small config of its own.
  void publish(const NodeConfig& node1) {
    NodeConfig node2 = test::syntheticConfig(1);
    node2.set_node_name("node2");
    node2.set_version("node2-v1");
    distributor.publish({{"node1", node1}, {"node2", node2}});
  }
  double counter(const std::string& name, const std::map<std::string, std::string>& labels = {}) {
    return test::counterValue(*metrics.registry(), name, labels).value_or(0);
  }
  double connected() {
    return test::gaugeValue(*metrics.registry(), "weft_operator_connected_agents").value_or(-1);
  }
  // ACKs received (each observes a push duration).
  uint64_t acks() {
    return test::histogramCount(*metrics.registry(), "weft_operator_push_duration_seconds")
        .value_or(0);
  }
  std::string ackedVersion(const std::string& node = "node1") {
    auto agent = server.agents().of(node);
    return agent ? agent->acked_version : "";
  }

  OperatorMetrics metrics;
  ConfigDistributor distributor;
  NodeTokens tokens;
  ConfigServer server;
  int port = 0;
};

// An agent's side: the store the data path reads, the stream client.
struct Agent {
  Agent(int port, const std::string& root_pem, const std::string& node = "node1",
        const std::string& token = kNode1Token,
        std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr)
      : client(
            agent::config::StreamClientOptions{
                .target = absl::StrCat("127.0.0.1:", port),
                .node_name = node,
                .token = token,
                .credentials = credentials != nullptr
                                   ? credentials
                                   : agent::config::operatorTlsCredentials(root_pem),
                .initial_backoff = std::chrono::milliseconds(10),
                .max_backoff = std::chrono::milliseconds(200),
                // Counts the backoffs taken; full jitter's upper half, so waits stay short.
                .jitter =
                    [this] {
                      ++backoffs;
                      return 0.5;
                    },
            },
            store, metrics) {
    client.start();
  }
  std::string version() {
    auto snapshot = store.current();
    return snapshot == nullptr ? "" : snapshot->version();
  }
  double updates(const std::string& result) {
    return test::counterValue(*metrics.registry(), "weft_config_updates_total",
                              {{"result", result}})
        .value_or(0);
  }
  bool connected() {
    return test::gaugeValue(*metrics.registry(), "weft_config_stream_connected") == 1;
  }
  // Waits for the stream to fail (it is refused), and returns why.
  absl::Status refusal() {
    REQUIRE(test::waitFor([&] { return !client.lastError().ok(); }));
    return client.lastError();
  }

  std::atomic<int> backoffs{0};
  ConfigStore store;
  agent::telemetry::Metrics metrics;
  ConfigStreamClient client;
};

// The label `label` of the series of `name` with `labels`, or nullopt.
std::optional<std::string> labelOf(const prometheus::Registry& registry, const std::string& name,
                                   const std::map<std::string, std::string>& labels,
                                   const std::string& label) {
  auto series = test::findSeries(registry, name, labels);
  if (!series) {
    return std::nullopt;
  }
  for (const auto& pair : series->label) {
    if (pair.name == label) {
      return pair.value;
    }
  }
  return std::nullopt;
}

TEST_CASE("an agent gets its node's config over TLS, then each change as a delta") {
  const CertificateAuthority ca = testCa();
  Operator op(ca);
  op.publish(versioned(test::syntheticConfig(3), "v1"));
  Agent agent(op.port, rootPem(ca));
  REQUIRE(test::waitFor([&] { return agent.version() == "v1"; }));
  CHECK(agent.store.current()->config().services_size() == 3);
  CHECK(agent.store.current()->config().node_name() == "node1");
  CHECK(test::waitFor([&] { return op.connected() == 1 && agent.connected(); }));

  NodeConfig changed = versioned(test::syntheticConfig(3), "v2");
  changed.mutable_services(1)->mutable_endpoints(0)->set_ip("10.244.9.9");
  op.publish(changed);
  REQUIRE(test::waitFor([&] { return agent.version() == "v2"; }));
  CHECK(agent.store.current()->config().services(1).endpoints(0).ip() == "10.244.9.9");
  CHECK(test::waitFor([&] { return op.acks() == 2; }));
  // The first push carried both types and every resource, the change one service.
  CHECK(op.counter("weft_operator_pushes_total", {{"type", "services"}}) == 2);
  CHECK(op.counter("weft_operator_pushes_total", {{"type", "workloads"}}) == 1);
  CHECK(op.counter("weft_operator_push_resources_total", {{"type", "services"}}) == 3 + 1);
  CHECK(op.counter("weft_operator_push_resources_total", {{"type", "workloads"}}) == 2);
  CHECK(agent.updates("accepted") == 2);
}

TEST_CASE("a config published after the agent connected reaches it") {
  const CertificateAuthority ca = testCa();
  Operator op(ca);
  Agent agent(op.port, rootPem(ca));
  // Connected and waiting: the operator has nothing to tell before its first snapshot.
  REQUIRE(test::waitFor([&] { return op.connected() == 1; }));
  CHECK(agent.store.current() == nullptr);
  op.publish(versioned(test::syntheticConfig(2), "v1"));
  REQUIRE(test::waitFor([&] { return agent.version() == "v1"; }));
}

// What one endpoint change (of the same service, svc-7) costs on the wire once the agent is in
// sync with `services` services: the response's bytes and the resources it carries.
std::pair<double, double> endpointChangeCost(int services) {
  const CertificateAuthority ca = testCa();
  Operator op(ca);
  op.publish(versioned(test::syntheticConfig(services), "v1"));
  Agent agent(op.port, rootPem(ca));
  REQUIRE(test::waitFor([&] { return op.ackedVersion() == "v1"; }));
  const double bytes = op.counter("weft_operator_push_bytes_total");
  const double resources = op.counter("weft_operator_push_resources_total", {{"type", "services"}});

  NodeConfig changed = versioned(test::syntheticConfig(services), "v2");
  changed.mutable_services(7)->mutable_endpoints(1)->set_ready(false);
  op.publish(changed);
  REQUIRE(test::waitFor([&] { return op.ackedVersion() == "v2"; }));
  REQUIRE(agent.version() == "v2");
  const auto& served = agent.store.current()->config().services();
  const auto svc7 = std::find_if(served.begin(), served.end(),
                                 [](const auto& service) { return service.name() == "svc-7"; });
  REQUIRE(svc7 != served.end());
  CHECK_FALSE(svc7->endpoints(1).ready());
  CHECK(agent.store.current()->config().services_size() == services);
  return {op.counter("weft_operator_push_bytes_total") - bytes,
          op.counter("weft_operator_push_resources_total", {{"type", "services"}}) - resources};
}

TEST_CASE("the bytes and resources of one change do not grow with unrelated services") {
  const auto [bytes_10, resources_10] = endpointChangeCost(10);
  const auto [bytes_1000, resources_1000] = endpointChangeCost(1000);
  CHECK(resources_10 == 1);
  CHECK(resources_1000 == 1);
  CHECK(bytes_10 > 0);
  CHECK(bytes_10 == bytes_1000);
}

TEST_CASE("a node config past gRPC's default 4 MiB message limit arrives whole") {
  const CertificateAuthority ca = testCa();
  Operator op(ca);
  const NodeConfig big = versioned(test::syntheticConfig(1'000, 120), "v1");
  REQUIRE(big.ByteSizeLong() > 4u << 20);
  op.publish(big);
  Agent agent(op.port, rootPem(ca));
  // Megabytes to hash, send and validate: a wait as generous as a sanitizer build needs.
  REQUIRE(test::waitFor([&] { return op.ackedVersion() == "v1"; }, std::chrono::minutes(2)));
  CHECK(agent.store.current()->config().services_size() == 1'000);
}

TEST_CASE("an ACK is the operator's view of what the agent serves") {
  const CertificateAuthority ca = testCa();
  Operator op(ca);
  op.publish(versioned(test::syntheticConfig(2), "v1"));
  Agent agent(op.port, rootPem(ca));
  REQUIRE(test::waitFor([&] { return op.ackedVersion() == "v1"; }));
  op.publish(versioned(test::syntheticConfig(3), "v2"));
  REQUIRE(test::waitFor([&] { return op.ackedVersion() == "v2"; }));
  CHECK(agent.version() == "v2");

  const auto agents = nlohmann::json::parse(agentsJson(op.distributor, op.server.agents()));
  REQUIRE(agents["agents"].size() == 2);
  const auto& node1 = agents["agents"][0];
  CHECK(node1["node"] == "node1");
  CHECK(node1["connected"] == true);
  CHECK(node1["desired_version"] == "v2");
  CHECK(node1["acked_version"] == "v2");
  CHECK(node1["in_sync"] == true);
  CHECK(node1["agent_version"] == "weft-agent");
  CHECK(node1["last_nack"].is_null());
  // node2's agent never connected: its config waits for it.
  const auto& node2 = agents["agents"][1];
  CHECK(node2["node"] == "node2");
  CHECK(node2["connected"] == false);
  CHECK(node2["desired_version"] == "node2-v1");
  CHECK(node2["in_sync"] == false);
}

TEST_CASE("a bad or missing token is refused as unauthenticated") {
  const CertificateAuthority ca = testCa();
  Operator op(ca);
  op.publish(versioned(test::syntheticConfig(1), "v1"));
  for (const auto& [token, message] :
       {std::pair{"wrong-token-0123456789", "the node token is not known to this operator"},
        {"", "the authorization metadata is not \"Bearer <token>\""}}) {
    Agent agent(op.port, rootPem(ca), "node1", token);
    const absl::Status refused = agent.refusal();
    CHECK(refused.code() == absl::StatusCode::kUnauthenticated);
    CHECK(refused.message() == message);
    CHECK(agent.store.current() == nullptr);
  }
  CHECK(op.connected() == 0);
  CHECK_FALSE(op.server.agents().of("node1").has_value());
}

TEST_CASE("node1's token cannot read node2's config") {
  const CertificateAuthority ca = testCa();
  Operator op(ca);
  op.publish(versioned(test::syntheticConfig(1), "v1"));
  Agent agent(op.port, rootPem(ca), "node2", kNode1Token);
  const absl::Status refused = agent.refusal();
  CHECK(refused.code() == absl::StatusCode::kPermissionDenied);
  CHECK_THAT(std::string(refused.message()),
             Catch::Contains("this token is node node1's, not node node2's"));
  CHECK(agent.store.current() == nullptr);
  CHECK(op.connected() == 0);
}

TEST_CASE("an operator certificate from another CA is refused") {
  const CertificateAuthority ca = testCa();
  Operator op(ca);
  op.publish(versioned(test::syntheticConfig(1), "v1"));
  Agent agent(op.port, rootPem(testCa()));
  CHECK(agent.refusal().code() == absl::StatusCode::kUnavailable);
  CHECK(agent.store.current() == nullptr);
  CHECK(op.connected() == 0);
}

TEST_CASE("an agent without TLS gets nothing from the operator") {
  const CertificateAuthority ca = testCa();
  Operator op(ca);
  op.publish(versioned(test::syntheticConfig(1), "v1"));
  Agent agent(op.port, "", "node1", kNode1Token, grpc::InsecureChannelCredentials());
  CHECK(agent.refusal().code() == absl::StatusCode::kUnavailable);
  CHECK(agent.store.current() == nullptr);
  CHECK(op.connected() == 0);
}

TEST_CASE("a config the agent rejects is NACKed with its reason; the old one keeps serving") {
  const CertificateAuthority ca = testCa();
  Operator op(ca);
  op.publish(versioned(test::syntheticConfig(3), "v1"));
  Agent agent(op.port, rootPem(ca));
  REQUIRE(test::waitFor([&] { return op.ackedVersion() == "v1"; }));
  const agent::config::ConfigSnapshotPtr good = agent.store.current();

  // Injected past translation (which would have left the duplicate out): two services, one VIP.
  NodeConfig bad = versioned(test::syntheticConfig(3), "bad");
  bad.mutable_services(2)->set_vips(0, bad.services(0).vips(0));
  op.publish(bad);
  REQUIRE(test::waitFor([&] {
    return op.counter("weft_operator_nacks_total", {{"node", "node1"}, {"type", "services"}}) == 1;
  }));
  CHECK(agent.updates("rejected") == 1);
  CHECK(agent.store.current() == good);

  // The reason, as the agent gave it, in the metrics and in the operator's view.
  const auto reason = labelOf(*op.metrics.registry(), "weft_operator_agent_nack_info",
                              {{"node", "node1"}, {"config_version", "bad"}}, "reason");
  REQUIRE(reason.has_value());
  CHECK_THAT(*reason, Catch::Contains("10.96.0.1"));
  const auto status = op.server.agents().of("node1");
  REQUIRE(status.has_value());
  CHECK(status->nack_reason == *reason);
  CHECK(status->nacked_version == "bad");
  CHECK(status->acked_version == "v1");
  INFO(*reason);

  // The next good config is diffed against what the agent still has, and applies; the NACK
  // is history then.
  op.publish(versioned(test::syntheticConfig(4), "v3"));
  REQUIRE(test::waitFor([&] { return op.ackedVersion() == "v3"; }));
  CHECK(agent.version() == "v3");
  CHECK(agent.store.current()->config().services_size() == 4);
  CHECK_FALSE(test::findSeries(*op.metrics.registry(), "weft_operator_agent_nack_info", {}));
  CHECK(op.server.agents().of("node1")->nack_reason.empty());
}

TEST_CASE("while the operator is away the agent keeps its config; back, nothing is resent") {
  const CertificateAuthority ca = testCa();
  auto op = std::make_unique<Operator>(ca);
  const int port = op->port;
  const NodeConfig config = versioned(test::syntheticConfig(5), "v1");
  op->publish(config);
  Agent agent(port, rootPem(ca));
  REQUIRE(test::waitFor([&] { return op->ackedVersion() == "v1"; }));
  const agent::config::ConfigSnapshotPtr served = agent.store.current();
  CHECK(agent.backoffs == 0);

  op.reset();
  REQUIRE(test::waitFor([&] { return !agent.connected(); }));
  // Down: the agent retries, with backoff, and serves what it had.
  REQUIRE(test::waitFor([&] { return agent.backoffs >= 2; }));
  CHECK(agent.client.lastError().code() == absl::StatusCode::kUnavailable);
  CHECK(agent.store.current() == served);

  // A new operator with the same inputs on the same address.
  op = std::make_unique<Operator>(ca, port);
  op->publish(config);
  REQUIRE(test::waitFor([&] { return op->ackedVersion() == "v1" && agent.connected(); }));
  CHECK(op->acks() == 1);  // the empty "up to date" response
  CHECK(op->counter("weft_operator_pushes_total", {{"type", "services"}}) == 0);
  CHECK(op->counter("weft_operator_pushes_total", {{"type", "workloads"}}) == 0);
  CHECK(op->counter("weft_operator_push_resources_total", {{"type", "services"}}) == 0);
  CHECK(agent.store.current() == served);  // not even republished
  CHECK(agent.updates("accepted") == 1);

  // And it follows the new operator's changes.
  op->publish(versioned(test::syntheticConfig(6), "v2"));
  REQUIRE(test::waitFor([&] { return agent.version() == "v2"; }));
}

}  // namespace
}  // namespace weft::op
