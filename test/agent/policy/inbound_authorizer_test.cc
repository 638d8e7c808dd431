// From the policies a user writes to the agent's decisions: the YAML goes through the
// operator's translation (which resolves selectors, namespaces and the root namespace) into
// node1's config, the agent builds its snapshot, and the InboundAuthorizer answers.

#include "agent/policy/inbound_authorizer.h"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "operator/source/directory_snapshot.h"
#include "operator/translate/translate.h"
#include "test/agent/testing/metric_value.h"

namespace weft::agent::policy {
namespace {

using common::IpAddress;
using common::SocketAddress;
using common::identity::SpiffeId;

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'000);

constexpr char kCluster[] = R"(
apiVersion: v1
kind: Namespace
metadata: {name: apps, labels: {weft.io/mesh: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy, labels: {weft.io/mesh: enabled}}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: apps, uid: uid-web-1, labels: {app: web}}
spec: {nodeName: node1, serviceAccountName: web}
status: {phase: Running, podIP: 10.244.1.20}
---
apiVersion: v1
kind: Pod
metadata: {name: db-1, namespace: apps, uid: uid-db-1, labels: {app: db}}
spec: {nodeName: node1, serviceAccountName: db}
status: {phase: Running, podIP: 10.244.1.21}
---
apiVersion: v1
kind: Pod
metadata: {name: old-1, namespace: legacy, uid: uid-old-1, labels: {app: old}}
spec: {nodeName: node1}
status: {phase: Running, podIP: 10.244.1.22}
)";

constexpr char kPolicies[] = R"(
apiVersion: weft.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: no-batch, namespace: weft-system}
spec:
  action: DENY
  rules: [{from: [{source: {principals: ["cluster.local/ns/batch/sa/*"]}}]}]
---
apiVersion: weft.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: web-from-apps, namespace: apps}
spec:
  selector: {matchLabels: {app: web}}
  rules:
  - from: [{source: {namespaces: [apps]}}]
    to: [{operation: {ports: ["8080"]}}]
---
apiVersion: weft.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: audit-db, namespace: apps}
spec:
  selector: {matchLabels: {app: db}}
  action: AUDIT
  rules: [{}]
---
apiVersion: weft.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: no-admin-port, namespace: legacy}
spec:
  action: DENY
  rules: [{to: [{operation: {ports: ["9090"]}}]}]
---
apiVersion: weft.io/v1alpha1
kind: PeerAuthentication
metadata: {name: default, namespace: weft-system}
spec: {mtls: {mode: STRICT}}
---
apiVersion: weft.io/v1alpha1
kind: PeerAuthentication
metadata: {name: relaxed, namespace: legacy}
spec: {mtls: {mode: PERMISSIVE}}
---
apiVersion: weft.io/v1alpha1
kind: PeerAuthentication
metadata: {name: web-metrics, namespace: apps}
spec:
  selector: {matchLabels: {app: web}}
  portLevelMtls: {"9090": {mode: PERMISSIVE}}
)";

// node1's snapshot, as its agent would hold it for these YAML files.
config::ConfigSnapshotPtr node1Snapshot(const op::FileTexts& files) {
  const op::DirectoryBuild build = op::buildDirectorySnapshot(files, {});
  INFO(build.status.message());
  REQUIRE(build.status.ok());
  const op::Translation translation = op::translate(*build.snapshot);
  REQUIRE(translation.warnings.empty());
  auto snapshot = config::buildSnapshot(translation.configs.at("node1"), "node1", kStart);
  INFO(snapshot.status().message());
  REQUIRE(snapshot.ok());
  return *snapshot;
}

SocketAddress pod(const char* ip, uint16_t port) {
  return {*IpAddress::Parse(ip), port};
}
const SocketAddress kWeb = pod("10.244.1.20", 8080);
const SocketAddress kDb = pod("10.244.1.21", 5432);
const SocketAddress kOld = pod("10.244.1.22", 8080);

std::optional<SpiffeId> peer(const std::string& ns, const std::string& sa) {
  return SpiffeId{.trust_domain = "cluster.local", .namespace_name = ns, .service_account = sa};
}

// Captures what the agent logs while it lives.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_);
    sink->set_pattern("%v");
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::string text() const { return stream_.str(); }

 private:
  std::ostringstream stream_;
  std::shared_ptr<spdlog::logger> previous_;
};

struct Fixture {
  explicit Fixture(const op::FileTexts& files = {{"cluster.yaml", kCluster},
                                                 {"policies.yaml", kPolicies}})
      : authorizer(node1Snapshot(files), metrics, log_limiter) {}

  AuthorizationDecision check(const SocketAddress& destination,
                              const std::optional<SpiffeId>& source) {
    auto decision = authorizer.check({.destination = destination, .peer = source});
    INFO(decision.status().message());
    REQUIRE(decision.ok());
    return *std::move(decision);
  }
  MtlsMode mode(const SocketAddress& destination) {
    auto mode = authorizer.mtlsMode(destination);
    REQUIRE(mode.ok());
    return *mode;
  }
  // weft_authorization_decisions_total; -1 when the series does not exist.
  double decisions(const std::string& policy, const std::string& action,
                   const std::string& decision) {
    return test::counterValue(*metrics.registry(), "weft_authorization_decisions_total",
                              {{"policy", policy}, {"action", action}, {"decision", decision}})
        .value_or(-1);
  }

  telemetry::Metrics metrics;
  absl::Time now = kStart;
  telemetry::LogLimiter log_limiter{2, absl::Seconds(1), [this] { return now; }};
  InboundAuthorizer authorizer;
};

TEST_CASE("a DENY policy in the root namespace applies to every workload of the mesh") {
  Fixture f;
  for (const SocketAddress& destination : {kWeb, kDb, kOld}) {
    const auto decision = f.check(destination, peer("batch", "nightly"));
    CHECK_FALSE(decision.allowed);
    REQUIRE(decision.policy != nullptr);
    CHECK(decision.policy->qualifiedName() == "weft-system/no-batch");
    CHECK(decision.reason == "denied by DENY policy weft-system/no-batch");
  }
  CHECK(f.decisions("weft-system/no-batch", "DENY", "deny") == 3);
}

TEST_CASE("under a workload's ALLOW policy whatever it does not match is denied") {
  Fixture f;
  const auto allowed = f.check(kWeb, peer("apps", "frontend"));
  CHECK(allowed.allowed);
  REQUIRE(allowed.policy != nullptr);
  CHECK(allowed.policy->qualifiedName() == "apps/web-from-apps");

  // Another namespace; the right namespace but a port the rule does not list; no identity.
  for (const auto& [destination, source] :
       {std::pair{kWeb, peer("demo", "client")}, std::pair{pod("10.244.1.20", 9090),
                                                           peer("apps", "frontend")},
        std::pair{kWeb, std::optional<SpiffeId>()}}) {
    const auto denied = f.check(destination, source);
    CHECK_FALSE(denied.allowed);
    CHECK(denied.policy == nullptr);
    CHECK(denied.reason == "denied: ALLOW policies select the workload and none matched");
  }
  CHECK(f.decisions("apps/web-from-apps", "ALLOW", "allow") == 1);
  CHECK(f.decisions("", "none", "deny") == 3);
  CHECK(f.decisions("", "none", "allow") == 0);
}

TEST_CASE("a selector picks its workloads; a policy without one, its whole namespace") {
  Fixture f;
  // web-from-apps selects app=web only: db-1 in the same namespace has no ALLOW policy.
  CHECK(f.check(kDb, peer("demo", "client")).allowed);
  // no-admin-port is namespace-wide in legacy: it covers old-1, and nothing in apps.
  const auto denied = f.check(pod("10.244.1.22", 9090), peer("legacy", "old"));
  CHECK_FALSE(denied.allowed);
  CHECK(denied.reason == "denied by DENY policy legacy/no-admin-port");
  const auto other_port = f.check(kOld, peer("legacy", "old"));
  CHECK(other_port.allowed);
  CHECK(other_port.reason == "allowed: no ALLOW policy selects the workload");
  CHECK(f.check(pod("10.244.1.21", 9090), peer("legacy", "old")).allowed);

  std::vector<std::string> web;
  for (const AuthorizationPolicy* p : f.authorizer.policiesOf(kWeb.ip)) {
    web.push_back(p->qualifiedName());
  }
  CHECK(web == std::vector<std::string>{"apps/web-from-apps", "weft-system/no-batch"});
}

TEST_CASE("AUDIT policies never change the decision; they are counted with it and logged") {
  CapturedLog log;
  Fixture f;
  const auto allowed = f.check(kDb, peer("apps", "web"));
  CHECK(allowed.allowed);
  REQUIRE(allowed.audited.size() == 1);
  CHECK(allowed.audited[0]->qualifiedName() == "apps/audit-db");
  const auto denied = f.check(kDb, peer("batch", "nightly"));
  CHECK_FALSE(denied.allowed);
  CHECK(denied.audited.size() == 1);

  CHECK(f.decisions("apps/audit-db", "AUDIT", "allow") == 1);
  CHECK(f.decisions("apps/audit-db", "AUDIT", "deny") == 1);
  CHECK(f.decisions("", "none", "allow") == 1);  // no ALLOW policy: the allow is no policy's
  CHECK(f.decisions("weft-system/no-batch", "DENY", "deny") == 1);
  CHECK_THAT(log.text(),
             Catch::Contains("authorization: spiffe://cluster.local/ns/apps/sa/web -> apps/db-1 "
                             "10.244.1.21:5432: allowed: no ALLOW policy selects the workload; "
                             "audited by AUDIT policy apps/audit-db"));
  CHECK_THAT(log.text(),
             Catch::Contains("authorization: spiffe://cluster.local/ns/batch/sa/nightly -> "
                             "apps/db-1 10.244.1.21:5432: denied by DENY policy "
                             "weft-system/no-batch; audited by AUDIT policy apps/audit-db"));
}

TEST_CASE("denies are logged with their reason; allows are not; a flood is held back") {
  CapturedLog log;
  Fixture f;  // at most 2 lines a second
  CHECK(f.check(kWeb, peer("apps", "frontend")).allowed);
  CHECK(log.text().empty());
  for (int i = 0; i < 5; ++i) {
    CHECK_FALSE(f.check(kWeb, std::nullopt).allowed);
  }
  CHECK(f.decisions("", "none", "deny") == 5);  // every one counted, logged or not
  const std::string line =
      "authorization: plaintext peer -> apps/web-1 10.244.1.20:8080: denied: ALLOW policies "
      "select the workload and none matched";
  CHECK(log.text() == line + "\n" + line + "\n");

  f.now += absl::Seconds(1);
  CHECK_FALSE(f.check(kWeb, std::nullopt).allowed);
  CHECK(log.text() == line + "\n" + line + "\n" + line + " (3 earlier lines held back)\n");
}

TEST_CASE("a destination that is no workload of this node is an error and counts nothing") {
  Fixture f;
  auto decision = f.authorizer.check({.destination = pod("10.244.9.9", 80)});
  REQUIRE_FALSE(decision.ok());
  CHECK(decision.status().code() == absl::StatusCode::kNotFound);
  CHECK(decision.status().message() == "10.244.9.9 is not a workload on node node1");
  CHECK(f.authorizer.mtlsMode(pod("10.244.9.9", 80)).status().code() ==
        absl::StatusCode::kNotFound);
  CHECK(f.decisions("", "none", "allow") == 0);
  CHECK(f.decisions("", "none", "deny") == 0);
}

TEST_CASE("every policy's counters exist from the start, only with the labels it can produce") {
  Fixture f;
  CHECK(f.decisions("apps/web-from-apps", "ALLOW", "allow") == 0);
  CHECK(f.decisions("apps/web-from-apps", "ALLOW", "deny") == -1);
  CHECK(f.decisions("weft-system/no-batch", "DENY", "deny") == 0);
  CHECK(f.decisions("weft-system/no-batch", "DENY", "allow") == -1);
  CHECK(f.decisions("apps/audit-db", "AUDIT", "allow") == 0);
  CHECK(f.decisions("apps/audit-db", "AUDIT", "deny") == 0);
}

TEST_CASE("mTLS mode: mesh-wide, relaxed per namespace, a port exception, PERMISSIVE default") {
  Fixture f;
  CHECK(f.mode(kWeb) == MtlsMode::kStrict);  // weft-system/default
  CHECK(f.mode(pod("10.244.1.20", 9090)) == MtlsMode::kPermissive);  // apps/web-metrics
  CHECK(f.mode(kDb) == MtlsMode::kStrict);
  CHECK(f.mode(kOld) == MtlsMode::kPermissive);  // legacy/relaxed
  CHECK_FALSE(acceptsPlaintext(f.mode(kWeb)));
  CHECK(acceptsPlaintext(f.mode(kOld)));

  Fixture none(op::FileTexts{{"cluster.yaml", kCluster}});  // no PeerAuthentication anywhere
  CHECK(none.mode(kWeb) == MtlsMode::kPermissive);
  CHECK(none.check(kWeb, std::nullopt).allowed);  // and no policy: everything is allowed
}

TEST_CASE("a worker's cache builds the authorizer once per snapshot") {
  telemetry::Metrics metrics;
  telemetry::LogLimiter limiter(10, absl::Seconds(1));
  InboundAuthorizerCache cache(metrics, limiter);
  const config::ConfigSnapshotPtr first =
      node1Snapshot(op::FileTexts{{"cluster.yaml", kCluster}, {"policies.yaml", kPolicies}});
  const auto authorizer = cache.forSnapshot(first);
  CHECK(cache.forSnapshot(first) == authorizer);
  const config::ConfigSnapshotPtr second = node1Snapshot(op::FileTexts{{"cluster.yaml", kCluster}});
  const auto next = cache.forSnapshot(second);
  CHECK(next != authorizer);
  CHECK(next->snapshot() == second);
  CHECK(next->check({.destination = kWeb})->allowed);
  CHECK_FALSE(authorizer->check({.destination = kWeb})->allowed);  // the old one still works
}

}  // namespace
}  // namespace weft::agent::policy
