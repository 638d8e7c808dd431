// The agent's workload certificates against an in-process operator: its gRPC server on
// loopback with real TLS, node tokens, node authorization and CA.

#include "agent/identity/workload_identities.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/identity/operator_csr_signer.h"
#include "common/identity/keys.h"
#include "common/identity/verify.h"
#include "common/identity/x509_util.h"
#include "operator/distribute/config_server.h"
#include "operator/identity/ca_directory.h"
#include "operator/identity/certificate_service.h"
#include "test/agent/testing/metric_value.h"
#include "test/agent/testing/wait_for.h"
#include "test/common/identity/test_pki.h"

namespace weft::agent::identity {
namespace {

using common::identity::SpiffeId;
using common::identity::testing::take;

constexpr char kToken[] = "node1-token-0123456789";
const SpiffeId kWeb = *SpiffeId::parse("spiffe://cluster.local/ns/demo/sa/web");
const SpiffeId kDb = *SpiffeId::parse("spiffe://cluster.local/ns/demo/sa/db");
const SpiffeId kBatch = *SpiffeId::parse("spiffe://cluster.local/ns/demo/sa/batch");

struct Pod {
  std::string service_account;
  bool mesh = true;
};

// node1 running `pods` in namespace demo.
api::v1alpha1::NodeConfig node1(const std::vector<Pod>& pods) {
  api::v1alpha1::NodeConfig config;
  config.set_node_name("node1");
  // The distributor, as translation, takes the same version for the same content.
  std::string version = "v";
  for (size_t i = 0; i < pods.size(); ++i) {
    absl::StrAppend(&version, "-", pods[i].service_account, pods[i].mesh ? "" : "(off)");
    api::v1alpha1::Workload* w = config.add_workloads();
    w->set_name(absl::StrCat(pods[i].service_account, "-", i));
    w->set_namespace_("demo");
    w->set_uid(absl::StrCat("uid-", i));
    w->set_ip(absl::StrCat("10.244.1.", 10 + i));
    w->set_service_account(pods[i].service_account);
    w->set_mesh_enabled(pods[i].mesh);
  }
  config.set_version(version);
  return config;
}

config::ConfigSnapshotPtr snapshotOf(const api::v1alpha1::NodeConfig& config) {
  return take(config::buildSnapshot(config, "node1", absl::Now()));
}

// The operator's gRPC server with CertificateService, signing for `lifetime`.
struct Operator {
  explicit Operator(absl::Duration lifetime)
      : ca(take(common::identity::CertificateAuthority::selfSigned(
            "cluster.local", absl::Hours(24 * 365), absl::Now()))),
        tokens(take(op::NodeTokens::parse(absl::StrCat("node1 ", kToken, "\n")))),
        server(distributor, tokens, metrics),
        signer(
            ca,
            [this](const std::string& node, const std::string& ns, const std::string& sa) {
              return distributor.runsMeshPodOf(node, ns, sa);
            },
            lifetime),
        certificates(signer, tokens, metrics) {
    op::ServingIdentity identity = take(op::issueOperatorIdentity(ca, absl::Now()));
    root_pem = identity.root_pem;
    server.addService(&certificates);
    port = take(server.start({take(common::IpAddress::Parse("127.0.0.1")), 0},
                             op::serverTlsCredentials(identity.key_pem, identity.chain_pem)));
  }
  ~Operator() { server.stop(); }

  void publish(const api::v1alpha1::NodeConfig& config) {
    distributor.publish({{"node1", config}});
  }
  config::OperatorEndpoint endpoint(const std::string& token = kToken) const {
    return {.target = absl::StrCat("127.0.0.1:", port),
            .token = token,
            .credentials = config::operatorTlsCredentials(root_pem)};
  }

  common::identity::CertificateAuthority ca;
  op::OperatorMetrics metrics;
  op::ConfigDistributor distributor;
  op::NodeTokens tokens;
  op::ConfigServer server;
  op::CertificateSigner signer;
  op::CertificateService certificates;
  std::string root_pem;
  int port = 0;
};

// The agent's side: the tunnel's store, the manager, its metrics.
struct Agent {
  explicit Agent(config::OperatorEndpoint endpoint)
      : signer(std::move(endpoint)),
        identities({.initial_backoff = std::chrono::milliseconds(20),
                    .max_backoff = std::chrono::milliseconds(200)},
                   signer, store, metrics) {
    identities.start();
  }

  std::optional<HeldCertificate> held(const SpiffeId& id) const {
    for (HeldCertificate& held : identities.held()) {
      if (held.identity == id.toString()) {
        return held;
      }
    }
    return std::nullopt;
  }
  std::optional<double> expiry(const SpiffeId& id) const {
    return test::gaugeValue(*metrics.registry(),
                            "weft_workload_certificate_expiry_timestamp_seconds",
                            {{"identity", id.toString()}});
  }
  double counter(const std::string& name) const {
    return test::counterValue(*metrics.registry(), name, {}).value_or(-1);
  }

  telemetry::Metrics metrics;
  tunnel::CertificateStore store;
  OperatorCsrSigner signer;
  WorkloadIdentities identities;
};

// The operator and the agent both see `config`; returns once the agent holds `ids`.
void follow(Operator& op, Agent& agent, const api::v1alpha1::NodeConfig& config,
            const std::vector<SpiffeId>& ids) {
  op.publish(config);
  agent.identities.update(*snapshotOf(config));
  REQUIRE(test::waitFor([&] {
    return std::all_of(ids.begin(), ids.end(),
                       [&](const SpiffeId& id) { return agent.store.find(id) != nullptr; });
  }));
}

TEST_CASE("each mesh service account on the node gets an SVID, renewal set at half-life") {
  Operator op(absl::Hours(24));
  Agent agent(op.endpoint());
  const absl::Time asked = absl::Now();
  follow(op, agent, node1({{"web"}, {"web"}, {"db"}, {"batch", false}}), {kWeb, kDb});
  const absl::Time got = absl::Now();
  // Outside the mesh: nothing asked for, nothing held.
  CHECK(agent.store.find(kBatch) == nullptr);
  CHECK_FALSE(agent.held(kBatch).has_value());

  for (const SpiffeId& id : {kWeb, kDb}) {
    INFO(id.toString());
    const tunnel::SvidPtr svid = agent.store.find(id);
    CHECK(svid->id == id);
    // The operator's CA issued it, for the key the agent holds, valid for both TLS roles.
    common::identity::PeerPolicy policy{"cluster.local", common::identity::PeerRole::kServer, id,
                                        nullptr};
    CHECK(common::identity::verifyPeer(svid->leaf.get(), nullptr, svid->bundle, policy, absl::Now())
              .ok());
    CHECK(common::identity::samePublicKey(X509_get0_pubkey(svid->leaf.get()), svid->key.get()));
    CHECK(X509_cmp(svid->bundle.roots().front().get(), op.ca.certificate()) == 0);
    // 24 h from when the operator signed, within the time the test waited.
    CHECK(svid->not_after >= asked + absl::Hours(24) - absl::Seconds(1));
    CHECK(svid->not_after <= got + absl::Hours(24) + absl::Seconds(1));
    CHECK(agent.expiry(id) == absl::ToDoubleSeconds(svid->not_after - absl::UnixEpoch()));

    const std::optional<HeldCertificate> held = agent.held(id);
    REQUIRE(held.has_value());
    CHECK(held->issued);
    CHECK(held->not_after == svid->not_after);
    CHECK(held->serial == common::identity::serialHex(svid->leaf.get()));
    CHECK(held->failures == 0);
    // Renewal between 45 % (full jitter) and 50 % of the lifetime left when it arrived.
    CHECK(held->next_attempt >= asked + (svid->not_after - got) * 0.45);
    CHECK(held->next_attempt <= got + (svid->not_after - asked) * 0.5);
  }
  CHECK(agent.counter("weft_workload_certificate_rotations_total") == 0);
  CHECK(agent.counter("weft_workload_certificate_signing_failures_total") == 0);
}

TEST_CASE("an identity whose last pod left the node is removed from the store and metrics") {
  Operator op(absl::Hours(24));
  Agent agent(op.endpoint());
  follow(op, agent, node1({{"web"}, {"db"}}), {kWeb, kDb});
  const tunnel::SvidPtr web = agent.store.find(kWeb);

  const api::v1alpha1::NodeConfig web_only = node1({{"web"}});
  op.publish(web_only);
  agent.identities.update(*snapshotOf(web_only));
  REQUIRE(test::waitFor([&] { return agent.store.find(kDb) == nullptr; }));
  CHECK_FALSE(agent.held(kDb).has_value());
  CHECK_FALSE(agent.expiry(kDb).has_value());
  // The one that stays is untouched.
  CHECK(agent.store.find(kWeb) == web);
  CHECK(agent.expiry(kWeb).has_value());

  // A pod leaving the mesh (opt-out label) counts as gone too.
  const api::v1alpha1::NodeConfig opted_out = node1({{"web", false}});
  agent.identities.update(*snapshotOf(opted_out));
  REQUIRE(test::waitFor([&] { return agent.store.find(kWeb) == nullptr; }));
  CHECK(agent.identities.held().empty());
}

TEST_CASE("a held SVID is replaced by a new one with a new key, and holders keep the old one") {
  Operator op(absl::Seconds(3));
  Agent agent(op.endpoint());
  const api::v1alpha1::NodeConfig config = node1({{"web"}});
  follow(op, agent, config, {kWeb});
  // What a connection that started now holds on to.
  const tunnel::SvidPtr first = agent.store.find(kWeb);

  REQUIRE(test::waitFor([&] { return agent.store.find(kWeb) != first; }));
  const tunnel::SvidPtr second = agent.store.find(kWeb);
  CHECK(second->not_after > first->not_after);
  CHECK_FALSE(common::identity::samePublicKey(second->key.get(), first->key.get()));
  CHECK(common::identity::serialHex(second->leaf.get()) !=
        common::identity::serialHex(first->leaf.get()));
  // The old SVID is still whole for whoever holds it.
  CHECK(first->id == kWeb);
  CHECK(common::identity::samePublicKey(X509_get0_pubkey(first->leaf.get()), first->key.get()));
  CHECK(agent.counter("weft_workload_certificate_rotations_total") >= 1);
  CHECK(agent.expiry(kWeb) >= absl::ToDoubleSeconds(second->not_after - absl::UnixEpoch()));
}

TEST_CASE("a refused renewal keeps the held SVID and is retried until the operator signs") {
  Operator op(absl::Seconds(3));
  Agent agent(op.endpoint());
  const api::v1alpha1::NodeConfig config = node1({{"web"}});
  follow(op, agent, config, {kWeb});
  // The operator no longer sees the pod on node1 (its config reaches the agent later).
  op.publish(node1({{"db"}}));
  const tunnel::SvidPtr held = agent.store.find(kWeb);
  REQUIRE(test::waitFor([&] { return agent.held(kWeb)->failures >= 2; }));
  CHECK(agent.store.find(kWeb) == held);
  CHECK_THAT(agent.held(kWeb)->last_error,
             Catch::Contains("node node1 runs no mesh-enabled pod with service account "
                             "demo/web: not signing spiffe://cluster.local/ns/demo/sa/web"));
  CHECK(agent.counter("weft_workload_certificate_signing_failures_total") >= 2);
  CHECK(agent.expiry(kWeb) == absl::ToDoubleSeconds(held->not_after - absl::UnixEpoch()));

  op.publish(config);
  REQUIRE(test::waitFor([&] { return agent.store.find(kWeb) != held; }));
  CHECK(agent.held(kWeb)->failures == 0);
  CHECK(agent.held(kWeb)->last_error.empty());
}

TEST_CASE("an agent the operator does not know gets nothing, and says why") {
  Operator op(absl::Hours(24));
  const api::v1alpha1::NodeConfig config = node1({{"web"}});
  op.publish(config);
  Agent agent(op.endpoint("wrong-token-0123456789"));
  agent.identities.update(*snapshotOf(config));
  REQUIRE(test::waitFor([&] {
    const auto held = agent.held(kWeb);
    return held.has_value() && held->failures >= 1;
  }));
  CHECK(agent.store.find(kWeb) == nullptr);
  CHECK_FALSE(agent.held(kWeb)->issued);
  CHECK_THAT(agent.held(kWeb)->last_error,
             Catch::EndsWith("did not sign spiffe://cluster.local/ns/demo/sa/web: the node token "
                             "is not known to this operator"));
  CHECK_FALSE(agent.expiry(kWeb).has_value());
}

TEST_CASE("the identities are those of the mesh-enabled workloads, in the config's trust domain") {
  api::v1alpha1::NodeConfig config = node1({{"web"}, {"db", false}});
  CHECK(localIdentities(*snapshotOf(config)) == absl::flat_hash_set<SpiffeId>{kWeb});
  config.mutable_mesh()->set_trust_domain("example.org");
  CHECK(localIdentities(*snapshotOf(config)) ==
        absl::flat_hash_set<SpiffeId>{
            *SpiffeId::parse("spiffe://example.org/ns/demo/sa/web")});
}

}  // namespace
}  // namespace weft::agent::identity
