// Which inbound tunnel streams reach which pod: only an enrolled pod of this node, and only
// as the identity the client asked this agent to present.

#include "agent/proxy/inbound_route.h"

#include <catch2/catch.hpp>

#include "absl/time/clock.h"
#include "agent/telemetry/log_limiter.h"
#include "test/agent/testing/metric_value.h"

namespace weft::agent::proxy {
namespace {

using common::identity::SpiffeId;

config::ConfigSnapshotPtr nodeWithPods() {
  api::v1alpha1::NodeConfig config;
  config.set_node_name("node2");
  config.mutable_mesh()->set_trust_domain("example.org");
  auto add = [&config](const char* name, const char* ip, const char* sa, bool mesh) {
    auto* w = config.add_workloads();
    w->set_name(name);
    w->set_namespace_("shop");
    w->set_uid(std::string("uid-") + name);
    w->set_ip(ip);
    w->set_service_account(sa);
    w->set_mesh_enabled(mesh);
  };
  add("db-1", "10.244.2.10", "db", true);
  add("legacy-1", "10.244.2.11", "legacy", false);
  auto snapshot = config::buildSnapshot(config, "node2", absl::Now());
  REQUIRE(snapshot.ok());
  return *snapshot;
}

// node2 with its pods, and the authorizer of its config, as a worker holds them.
struct Node2 {
  explicit Node2(config::ConfigSnapshotPtr snapshot = nodeWithPods())
      : authorizer(std::move(snapshot), metrics, log) {}
  absl::StatusOr<common::SocketAddress> route(const tunnel::StreamRequest& r) const {
    return routeInboundStream(&authorizer, r);
  }
  telemetry::Metrics metrics;
  telemetry::LogLimiter log{10, absl::Seconds(1)};
  policy::InboundAuthorizer authorizer;
};

tunnel::StreamRequest request(const char* destination, const char* target) {
  return tunnel::StreamRequest{
      .source = *SpiffeId::parse("spiffe://example.org/ns/shop/sa/web"),
      .destination = *SpiffeId::parse(destination),
      .target = target,
  };
}

TEST_CASE("a stream for an enrolled pod, asked as its identity, goes to the pod") {
  const Node2 node;
  auto routed = node.route(request("spiffe://example.org/ns/shop/sa/db", "10.244.2.10:5432"));
  REQUIRE(routed.ok());
  CHECK(routed->toString() == "10.244.2.10:5432");
}

TEST_CASE("a stream asking for one identity and naming another identity's pod is refused") {
  const Node2 node;
  auto routed = node.route(request("spiffe://example.org/ns/shop/sa/cache", "10.244.2.10:5432"));
  CHECK(routed.status().code() == absl::StatusCode::kPermissionDenied);
  CHECK(routed.status().message() ==
        "shop/db-1 runs as spiffe://example.org/ns/shop/sa/db, not as "
        "spiffe://example.org/ns/shop/sa/cache (the identity the client asked for)");
}

TEST_CASE("a stream to a pod outside the mesh, or to no pod of this node, is refused") {
  const Node2 node;
  auto legacy = node.route(request("spiffe://example.org/ns/shop/sa/legacy", "10.244.2.11:80"));
  CHECK(legacy.status().code() == absl::StatusCode::kPermissionDenied);
  CHECK(legacy.status().message() == "shop/legacy-1 is not enrolled in the mesh");

  auto elsewhere = node.route(request("spiffe://example.org/ns/shop/sa/db", "10.244.3.10:5432"));
  CHECK(elsewhere.status().code() == absl::StatusCode::kNotFound);
  CHECK(elsewhere.status().message() == "10.244.3.10 is not a pod of this node");
}

TEST_CASE("a stream before any config, or with a target that is no address, is refused") {
  CHECK(routeInboundStream(nullptr, request("spiffe://example.org/ns/shop/sa/db",
                                            "10.244.2.10:5432"))
            .status()
            .code() == absl::StatusCode::kUnavailable);
  const Node2 node;
  CHECK(node.route(request("spiffe://example.org/ns/shop/sa/db", "db.shop:5432")).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("an AuthorizationPolicy that denies the client refuses the stream, naming it") {
  api::v1alpha1::NodeConfig config = nodeWithPods()->config();
  auto* deny = config.add_authorization_policies();
  deny->set_name("no-web");
  deny->set_namespace_("shop");
  deny->set_action(api::v1alpha1::AuthorizationPolicy::DENY);
  deny->add_rules()->add_from()->add_principals("example.org/ns/shop/sa/web");
  config.mutable_workloads(0)->add_authorization_policies("shop/no-web");
  auto snapshot = config::buildSnapshot(config, "node2", absl::Now());
  REQUIRE(snapshot.ok());
  const Node2 node(*snapshot);
  auto routed = node.route(request("spiffe://example.org/ns/shop/sa/db", "10.244.2.10:5432"));
  CHECK(routed.status().code() == absl::StatusCode::kPermissionDenied);
  CHECK_THAT(std::string(routed.status().message()), Catch::Contains("shop/no-web"));
  CHECK(test::counterValue(*node.metrics.registry(), "weft_authorization_decisions_total",
                           {{"policy", "shop/no-web"}, {"action", "DENY"}, {"decision", "deny"}}) ==
        1);
}

}  // namespace
}  // namespace weft::agent::proxy
