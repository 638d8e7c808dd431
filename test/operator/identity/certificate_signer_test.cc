#include "operator/identity/certificate_signer.h"

#include <openssl/x509v3.h>

#include <catch2/catch.hpp>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/identity/csr.h"
#include "common/identity/keys.h"
#include "common/identity/trust_bundle.h"
#include "common/identity/verify.h"
#include "common/identity/x509_util.h"
#include "operator/distribute/config_distributor.h"
#include "test/common/config/synthetic_config.h"
#include "test/common/identity/test_pki.h"

namespace weft::op {
namespace {

using common::identity::CertificateAuthority;
using common::identity::EvpPkeyPtr;
using common::identity::SpiffeId;
using common::identity::testing::kNow;
using common::identity::testing::rawCsrPem;
using common::identity::testing::take;

constexpr char kWeb[] = "spiffe://cluster.local/ns/demo/sa/web";

std::string csrFor(const std::string& spiffe_id) {
  EvpPkeyPtr key = take(common::identity::generateP256Key());
  return take(common::identity::buildCsrPem(take(SpiffeId::parse(spiffe_id)), key.get()));
}

api::v1alpha1::SignRequest requestFor(const std::string& spiffe_id, std::string csr_pem) {
  api::v1alpha1::SignRequest request;
  request.set_spiffe_id(spiffe_id);
  request.set_csr_pem(std::move(csr_pem));
  return request;
}

// node1 runs demo/pod-0 and demo/pod-1 with service account "web", and demo/batch (service
// account "batch") outside the mesh; node2 one "db" pod.
struct Signer {
  explicit Signer(CertificateAuthority authority = take(CertificateAuthority::selfSigned(
                      "cluster.local", absl::Hours(24 * 365), kNow - absl::Hours(1))))
      : ca(std::move(authority)),
        signer(ca, [this](const std::string& node, const std::string& ns, const std::string& sa) {
          return distributor.runsMeshPodOf(node, ns, sa);
        }) {}
  void publish() {
    api::v1alpha1::NodeConfig node1 = test::syntheticConfig(1);
    for (auto& workload : *node1.mutable_workloads()) {
      workload.set_service_account("web");
    }
    api::v1alpha1::Workload* batch = node1.add_workloads();
    batch->set_name("batch");
    batch->set_namespace_("demo");
    batch->set_uid("uid-batch");
    batch->set_ip("10.244.1.20");
    batch->set_service_account("batch");
    batch->set_mesh_enabled(false);
    api::v1alpha1::NodeConfig node2 = test::syntheticConfig(1);
    node2.set_node_name("node2");
    node2.mutable_workloads()->RemoveLast();
    node2.mutable_workloads(0)->set_service_account("db");
    distributor.publish({{"node1", node1}, {"node2", node2}});
  }
  absl::StatusOr<SignedCertificate> sign(const std::string& node, const std::string& id) {
    return signer.sign(node, requestFor(id, csrFor(id)), kNow);
  }
  // The refusal of a request for kWeb by node1 carrying `csr_pem`.
  absl::Status refusal(const std::string& csr_pem) {
    auto issued = signer.sign("node1", requestFor(kWeb, csr_pem), kNow);
    REQUIRE_FALSE(issued.ok());
    return issued.status();
  }

  CertificateAuthority ca;
  ConfigDistributor distributor;
  CertificateSigner signer;
};

void verifiesAsWorkload(const SignedCertificate& issued, absl::Time at) {
  auto bundle = take(common::identity::TrustBundle::fromPem(issued.response.trust_bundle_pem()));
  // Both TLS roles: the tunnel presents the same certificate as client and as server.
  for (auto role : {common::identity::PeerRole::kClient, common::identity::PeerRole::kServer}) {
    common::identity::PeerPolicy policy;
    policy.trust_domain = "cluster.local";
    policy.role = role;
    policy.expected_id = take(SpiffeId::parse(issued.spiffe_id));
    auto verified = common::identity::verifyPeerPem(issued.response.certificate_chain_pem(), bundle,
                                                    policy, at);
    INFO(verified.status().ToString());
    CHECK(verified.ok());
  }
}

TEST_CASE("a node gets a 24 h certificate for a service account it runs a mesh pod of") {
  Signer s;
  s.publish();
  SignedCertificate issued = take(s.sign("node1", kWeb));
  CHECK(issued.spiffe_id == kWeb);
  verifiesAsWorkload(issued, kNow + absl::Hours(23));
  common::identity::PeerPolicy any;
  any.trust_domain = "cluster.local";
  auto bundle = take(common::identity::TrustBundle::fromPem(issued.response.trust_bundle_pem()));
  auto expired = common::identity::verifyPeerPem(issued.response.certificate_chain_pem(), bundle,
                                                 any, kNow + absl::Hours(24));
  CHECK_FALSE(expired.ok());
}

TEST_CASE("the lifetime is the signer's") {
  Signer s;
  s.publish();
  CertificateSigner short_lived(
      s.ca,
      [&s](const std::string& node, const std::string& ns, const std::string& sa) {
        return s.distributor.runsMeshPodOf(node, ns, sa);
      },
      absl::Minutes(90));
  auto issued = take(short_lived.sign("node1", requestFor(kWeb, csrFor(kWeb)), kNow));
  auto leaf = take(common::identity::chainFromPem(issued.response.certificate_chain_pem()));
  CHECK(common::identity::notAfter(leaf.front().get()) == kNow + absl::Minutes(90));
}

TEST_CASE("a CA with an intermediate answers with the leaf and the intermediate") {
  CertificateAuthority root = take(CertificateAuthority::selfSigned(
      "cluster.local", absl::Hours(24 * 365), kNow - absl::Hours(1)));
  Signer s(take(CertificateAuthority::createIntermediate(root, absl::Hours(24 * 30), kNow)));
  s.publish();
  SignedCertificate issued = take(s.sign("node1", kWeb));
  auto chain = take(common::identity::chainFromPem(issued.response.certificate_chain_pem()));
  REQUIRE(chain.size() == 2);
  CHECK(X509_cmp(chain[1].get(), s.ca.certificate()) == 0);
  auto bundle = take(common::identity::chainFromPem(issued.response.trust_bundle_pem()));
  REQUIRE(bundle.size() == 1);
  CHECK(X509_cmp(bundle[0].get(), root.certificate()) == 0);
  verifiesAsWorkload(issued, kNow + absl::Hours(1));
}

TEST_CASE("an identity without a mesh pod on the asking node is refused, naming both") {
  Signer s;
  s.publish();
  // db runs on node2, not node1; node3 runs nothing; batch runs on node1 outside the mesh.
  for (const auto& [node, id] : {std::pair{"node1", "spiffe://cluster.local/ns/demo/sa/db"},
                                 {"node2", kWeb},
                                 {"node3", kWeb},
                                 {"node1", "spiffe://cluster.local/ns/other/sa/web"},
                                 {"node1", "spiffe://cluster.local/ns/demo/sa/batch"}}) {
    INFO(node << " " << id);
    auto issued = s.sign(node, id);
    CHECK(issued.status().code() == absl::StatusCode::kPermissionDenied);
    CHECK_THAT(std::string(issued.status().message()),
               Catch::StartsWith(
                   absl::StrCat("node ", node, " runs no mesh-enabled pod with service account ")));
    CHECK_THAT(std::string(issued.status().message()),
               Catch::EndsWith(absl::StrCat(": not signing ", id)));
  }
  CHECK(s.sign("node1", "spiffe://cluster.local/ns/demo/sa/db").status().message() ==
        "node node1 runs no mesh-enabled pod with service account demo/db: not signing "
        "spiffe://cluster.local/ns/demo/sa/db");
}

TEST_CASE("another trust domain is invalid") {
  Signer s;
  s.publish();
  auto issued = s.sign("node1", "spiffe://other.org/ns/demo/sa/web");
  CHECK(issued.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(issued.status().message() ==
        "spiffe://other.org/ns/demo/sa/web is not in this operator's trust domain "
        "\"cluster.local\"");
}

TEST_CASE("a requested identity that is not a SPIFFE ID is invalid") {
  Signer s;
  s.publish();
  for (const char* id : {"", "web", "spiffe://cluster.local/ns/demo/sa/Web"}) {
    INFO(id);
    auto issued = s.signer.sign("node1", requestFor(id, csrFor(kWeb)), kNow);
    CHECK(issued.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(issued.status().message()),
               Catch::StartsWith("the requested identity: invalid SPIFFE ID"));
  }
}

TEST_CASE("each malformed CSR is invalid and says which rule it broke") {
  Signer s;
  s.publish();
  const std::string prefix = absl::StrCat("the CSR for ", kWeb, " is refused: ");
  EvpPkeyPtr p256 = take(common::identity::generateP256Key());
  EvpPkeyPtr rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  EvpPkeyPtr p384(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  std::string tampered = csrFor(kWeb);
  // One base64 character of the signature, near the end of the block.
  const size_t end = tampered.find("-----END");
  tampered[end - 10] = tampered[end - 10] == 'A' ? 'B' : 'A';
  const struct {
    const char* what;
    std::string csr_pem;
    const char* reason;
  } cases[] = {
      {"not PEM", "not a CSR", ""},
      {"an RSA key", rawCsrPem(rsa.get(), {{GEN_URI, kWeb}}), "got RSA 2048"},
      {"a P-384 key", rawCsrPem(p384.get(), {{GEN_URI, kWeb}}), "got EC secp384r1"},
      {"an extra DNS SAN", rawCsrPem(p256.get(), {{GEN_URI, kWeb}, {GEN_DNS, "web.demo.svc"}}),
       "non-URI subjectAltName"},
      {"a second URI SAN",
       rawCsrPem(p256.get(), {{GEN_URI, kWeb}, {GEN_URI, "spiffe://cluster.local/ns/demo/sa/db"}}),
       "2 URI subjectAltNames"},
      {"no SAN", rawCsrPem(p256.get(), {}), "no SPIFFE ID"},
      {"a bad signature", tampered, ""},
      {"another identity than requested", csrFor("spiffe://cluster.local/ns/demo/sa/db"),
       "it names spiffe://cluster.local/ns/demo/sa/db instead"},
      {"another trust domain than requested", csrFor("spiffe://other.org/ns/demo/sa/web"),
       "it names spiffe://other.org/ns/demo/sa/web instead"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    const absl::Status refused = s.refusal(c.csr_pem);
    CHECK(refused.code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(refused.message()), Catch::StartsWith(prefix));
    CHECK_THAT(std::string(refused.message()), Catch::Contains(c.reason));
  }
}

TEST_CASE("before the first snapshot nothing is signed: try again") {
  Signer s;
  auto issued = s.sign("node1", kWeb);
  CHECK(issued.status().code() == absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace weft::op
