// CertificateService.Sign over loopback on the operator's gRPC server: real TLS, node tokens.

#include "operator/identity/certificate_service.h"

#include <catch2/catch.hpp>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/identity/csr.h"
#include "common/identity/keys.h"
#include "common/identity/pem.h"
#include "operator/distribute/config_server.h"
#include "operator/identity/ca_directory.h"
#include "test/agent/testing/metric_value.h"
#include "test/common/config/synthetic_config.h"
#include "test/common/identity/test_pki.h"

namespace weft::op {
namespace {

using common::identity::CertificateAuthority;
using common::identity::testing::take;

constexpr char kWeb[] = "spiffe://cluster.local/ns/demo/sa/web";
constexpr char kToken[] = "node1-token-0123456789";

std::string csrFor(const std::string& spiffe_id) {
  auto key = take(common::identity::generateP256Key());
  return take(
      common::identity::buildCsrPem(take(common::identity::SpiffeId::parse(spiffe_id)), key.get()));
}

// The operator's server with both services; node1 runs pods of demo/web, node2 is known by
// its token but runs nothing.
struct Operator {
  Operator()
      : ca(take(CertificateAuthority::selfSigned("cluster.local", absl::Hours(24), absl::Now()))),
        tokens(take(NodeTokens::parse("node1 node1-token-0123456789\n"
                                      "node2 node2-token-0123456789\n"))),
        server(distributor, tokens, metrics),
        signer(ca,
               [this](const std::string& node, const std::string& ns, const std::string& sa) {
                 return distributor.runsMeshPodOf(node, ns, sa);
               }),
        certificates(signer, tokens, metrics) {
    api::v1alpha1::NodeConfig node1 = test::syntheticConfig(1);
    for (auto& workload : *node1.mutable_workloads()) {
      workload.set_service_account("web");
    }
    distributor.publish({{"node1", node1}});
    ServingIdentity identity = take(issueOperatorIdentity(ca, absl::Now()));
    server.addService(&certificates);
    const int port = take(server.start({take(common::IpAddress::Parse("127.0.0.1")), 0},
                                       serverTlsCredentials(identity.key_pem, identity.chain_pem)));
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = identity.root_pem;
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride(kOperatorDnsName);
    stub = api::v1alpha1::CertificateService::NewStub(grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", port), grpc::SslCredentials(tls), args));
  }
  ~Operator() { server.stop(); }

  // Sign for `spiffe_id` with a fresh CSR; no authorization metadata without a token.
  grpc::Status sign(std::optional<std::string> authorization, const std::string& spiffe_id,
                    api::v1alpha1::SignResponse* response) {
    grpc::ClientContext context;
    if (authorization) {
      context.AddMetadata("authorization", *authorization);
    }
    // Generous: only a broken server would take this long, and then the test fails.
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    api::v1alpha1::SignRequest request;
    request.set_spiffe_id(spiffe_id);
    request.set_csr_pem(csrFor(spiffe_id));
    return stub->Sign(&context, request, response);
  }
  double count(const std::string& result) {
    return test::counterValue(*metrics.registry(), "weft_operator_certificate_requests_total",
                              {{"result", result}})
        .value_or(-1);
  }

  CertificateAuthority ca;
  OperatorMetrics metrics;
  ConfigDistributor distributor;
  NodeTokens tokens;
  ConfigServer server;
  CertificateSigner signer;
  CertificateService certificates;
  std::unique_ptr<api::v1alpha1::CertificateService::Stub> stub;
};

TEST_CASE("Sign answers a node's CSR with the chain and the trust bundle") {
  Operator op;
  api::v1alpha1::SignResponse response;
  const grpc::Status status = op.sign(absl::StrCat("Bearer ", kToken), kWeb, &response);
  INFO(status.error_message());
  REQUIRE(status.ok());
  auto chain = take(common::identity::chainFromPem(response.certificate_chain_pem()));
  CHECK(chain.size() == 1);
  CHECK(response.trust_bundle_pem() == take(common::identity::chainToPem(op.ca.trustBundle())));
  CHECK(op.count("signed") == 1);
}

TEST_CASE("Sign refuses a missing, malformed or unknown node token") {
  Operator op;
  api::v1alpha1::SignResponse response;
  const struct {
    std::optional<std::string> authorization;
    const char* message;
  } cases[] = {
      {std::nullopt, "no node token: send \"authorization: Bearer <token>\" metadata"},
      {kToken, "the authorization metadata is not \"Bearer <token>\""},
      {"Bearer wrong-token-0123456789", "the node token is not known to this operator"},
  };
  for (const auto& c : cases) {
    INFO(c.authorization.value_or("(none)"));
    const grpc::Status status = op.sign(c.authorization, kWeb, &response);
    CHECK(status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
    CHECK(status.error_message() == c.message);
    CHECK(response.certificate_chain_pem().empty());
  }
  CHECK(op.count("unauthenticated") == 3);
  CHECK(op.count("signed") == 0);
}

TEST_CASE("Sign refuses another node's identity and a bad request, with their codes") {
  Operator op;
  api::v1alpha1::SignResponse response;
  // node2's token is valid, but node2 runs no web pod.
  grpc::Status status = op.sign("Bearer node2-token-0123456789", kWeb, &response);
  CHECK(status.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK(status.error_message() ==
        "node node2 runs no mesh-enabled pod with service account demo/web: not signing "
        "spiffe://cluster.local/ns/demo/sa/web");
  status = op.sign(absl::StrCat("Bearer ", kToken), "spiffe://other.org/ns/demo/sa/web", &response);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(status.error_message() ==
        "spiffe://other.org/ns/demo/sa/web is not in this operator's trust domain "
        "\"cluster.local\"");
  CHECK(response.certificate_chain_pem().empty());
  CHECK(op.count("denied") == 1);
  CHECK(op.count("invalid") == 1);
  CHECK(op.count("signed") == 0);
}

}  // namespace
}  // namespace weft::op
