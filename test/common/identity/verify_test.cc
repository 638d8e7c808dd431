#include "common/identity/verify.h"

#include <catch2/catch.hpp>
#include <string>

#include "common/identity/cert_builder.h"
#include "common/identity/certificate_authority.h"
#include "common/identity/pem.h"
#include "test/common/identity/test_pki.h"

namespace weft::common::identity {
namespace {

using testing::id;
using testing::issue;
using testing::kNow;
using testing::messageOf;
using testing::take;

constexpr const char* kWeb = "spiffe://example.org/ns/prod/sa/web";

CertificateAuthority rootCa(absl::string_view trust_domain = "example.org") {
  return take(CertificateAuthority::selfSigned(trust_domain, absl::Hours(24 * 365), kNow));
}

TrustBundle bundleOf(const CertificateAuthority& ca) {
  return take(TrustBundle::fromCertificates(ca.trustBundle()));
}

PeerPolicy policy(PeerRole role = PeerRole::kServer) {
  PeerPolicy p;
  p.trust_domain = "example.org";
  p.role = role;
  return p;
}

absl::StatusOr<SpiffeId> verify(const IssuedCertificate& issued, const TrustBundle& bundle,
                                const PeerPolicy& p = policy(), absl::Time now = kNow) {
  return verifyPeerPem(take(issued.chainPem()), bundle, p, now);
}

// The failure's code and message.
std::string failure(const absl::StatusOr<SpiffeId>& result, absl::StatusCode code) {
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().code() == code);
  return messageOf(result.status());
}

TEST_CASE("a leaf signed by the root verifies for both TLS roles and yields its identity") {
  CertificateAuthority ca = rootCa();
  IssuedCertificate issued = issue(ca, kWeb);
  for (PeerRole role : {PeerRole::kClient, PeerRole::kServer}) {
    CHECK(take(verify(issued, bundleOf(ca), policy(role))) == id(kWeb));
  }
}

TEST_CASE("a leaf signed by an intermediate verifies with the intermediate sent along") {
  CertificateAuthority root = rootCa();
  auto inter = take(CertificateAuthority::createIntermediate(root, absl::Hours(100), kNow));
  IssuedCertificate issued = issue(inter, kWeb);
  CHECK(take(verify(issued, bundleOf(root))) == id(kWeb));
  // Without the intermediate, the chain cannot be built.
  issued.intermediates.clear();
  CHECK_THAT(failure(verify(issued, bundleOf(root)), absl::StatusCode::kUnauthenticated),
             Catch::Contains("not issued by a CA in the trust bundle"));
}

TEST_CASE("a certificate from another CA is refused") {
  CertificateAuthority ours = rootCa();
  CertificateAuthority theirs = rootCa();  // same trust domain name, different key
  IssuedCertificate issued = issue(theirs, kWeb);
  CHECK_THAT(failure(verify(issued, bundleOf(ours)), absl::StatusCode::kUnauthenticated),
             Catch::Contains("not issued by a CA in the trust bundle"));
}

TEST_CASE("an expired or not yet valid certificate is refused") {
  CertificateAuthority ca = rootCa();
  IssuedCertificate issued = issue(ca, kWeb, kNow, absl::Hours(24));
  // OpenSSL treats notAfter as the first instant a certificate is no longer valid.
  CHECK(verify(issued, bundleOf(ca), policy(), kNow + absl::Hours(24) - absl::Seconds(1)).ok());
  CHECK_FALSE(verify(issued, bundleOf(ca), policy(), kNow + absl::Hours(24)).ok());
  CHECK_THAT(failure(verify(issued, bundleOf(ca), policy(), kNow + absl::Hours(25)),
                     absl::StatusCode::kUnauthenticated),
             Catch::Contains("expired at 2030-01-02T00:00:00Z (now 2030-01-02T01:00:00Z)"));
  IssuedCertificate later = issue(ca, kWeb, kNow + absl::Hours(1), absl::Hours(24));
  CHECK_THAT(failure(verify(later, bundleOf(ca), policy(), kNow + absl::Minutes(30)),
                     absl::StatusCode::kUnauthenticated),
             Catch::Contains("certificate \"spiffe://example.org/ns/prod/sa/web\" is not valid "
                             "before 2030-01-01T00:59:00Z (now 2030-01-01T00:30:00Z)"));
}

TEST_CASE("an expired intermediate makes its leaves fail, naming the CA certificate") {
  CertificateAuthority root = rootCa();
  auto inter = take(CertificateAuthority::createIntermediate(root, absl::Hours(10), kNow));
  IssuedCertificate issued = issue(inter, kWeb, kNow, absl::Hours(5));
  // The leaf is capped by the intermediate, so check the intermediate itself.
  CHECK_THAT(failure(verify(issued, bundleOf(root), policy(), kNow + absl::Hours(11)),
                     absl::StatusCode::kUnauthenticated),
             Catch::Contains("CA certificate") && Catch::Contains("expired at"));
}

TEST_CASE("a certificate for another identity is refused when one is expected") {
  CertificateAuthority ca = rootCa();
  IssuedCertificate issued = issue(ca, "spiffe://example.org/ns/prod/sa/db");
  PeerPolicy p = policy();
  p.expected_id = id(kWeb);
  CHECK_THAT(
      failure(verify(issued, bundleOf(ca), p), absl::StatusCode::kPermissionDenied),
      Catch::Contains("peer is spiffe://example.org/ns/prod/sa/db, expected " + std::string(kWeb)));
}

TEST_CASE("the allow predicate decides which identities pass") {
  CertificateAuthority ca = rootCa();
  IssuedCertificate issued = issue(ca, kWeb);
  PeerPolicy p = policy();
  p.allow = [](const SpiffeId& peer) { return peer.namespace_name == "prod"; };
  CHECK(verify(issued, bundleOf(ca), p).ok());
  p.allow = [](const SpiffeId& peer) { return peer.namespace_name == "staging"; };
  CHECK_THAT(failure(verify(issued, bundleOf(ca), p), absl::StatusCode::kPermissionDenied),
             Catch::Contains("is not allowed"));
}

// A mixed bundle is the only way to make another trust domain's certificate chain-verify;
// real bundles hold one trust domain's roots (trust_bundle.h).
TEST_CASE("a trusted certificate of another trust domain is refused") {
  CertificateAuthority ours = rootCa();
  CertificateAuthority federated = rootCa("other.org");
  CertChain roots = ours.trustBundle();
  roots.push_back(std::move(federated.trustBundle()[0]));
  TrustBundle both = take(TrustBundle::fromCertificates(roots));
  IssuedCertificate issued = issue(federated, "spiffe://other.org/ns/prod/sa/web");
  CHECK_THAT(failure(verify(issued, both), absl::StatusCode::kPermissionDenied),
             Catch::Contains("is in trust domain \"other.org\", expected \"example.org\""));
}

TEST_CASE("a trusted certificate without a SPIFFE ID is refused") {
  CertificateAuthority ca = rootCa();
  EvpPkeyPtr ca_key = take(privateKeyFromPem(take(ca.keyPem())));
  EvpPkeyPtr key = take(generateP256Key());
  CertSpec spec;
  spec.public_key = key.get();
  spec.common_name = "web";  // a subject, but no SAN at all
  spec.not_before = kNow - absl::Hours(1);
  spec.not_after = kNow + absl::Hours(1);
  X509Ptr leaf = take(buildCertificate(spec, ca.certificate(), ca_key.get()));
  CertChain chain;
  chain.push_back(std::move(leaf));
  CHECK_THAT(failure(verifyPeerChain(chain, bundleOf(ca), policy(), kNow),
                     absl::StatusCode::kUnauthenticated),
             Catch::Contains("has no SPIFFE ID"));
}

TEST_CASE("a CA certificate presented as a workload certificate is refused") {
  CertificateAuthority root = rootCa();
  auto inter = take(CertificateAuthority::createIntermediate(root, absl::Hours(100), kNow));
  for (X509* ca_cert : {inter.certificate(), root.certificate()}) {
    CertChain chain = shareChain(inter.chain());
    chain.insert(chain.begin(), shareCert(ca_cert));
    CHECK_THAT(failure(verifyPeerChain(chain, bundleOf(root), policy(), kNow),
                       absl::StatusCode::kUnauthenticated),
               Catch::Contains("is a CA certificate, not a workload certificate"));
  }
}

TEST_CASE("unparseable peer input is refused as unauthenticated") {
  CertificateAuthority ca = rootCa();
  CHECK_THAT(failure(verifyPeerPem("nonsense", bundleOf(ca), policy(), kNow),
                     absl::StatusCode::kUnauthenticated),
             Catch::Contains("no PEM block"));
  CHECK_THAT(failure(verifyPeerChain({}, bundleOf(ca), policy(), kNow),
                     absl::StatusCode::kUnauthenticated),
             Catch::Contains("no certificate"));
}

TEST_CASE("verifyFromStoreCtx verifies the chain a TLS stack hands over") {
  CertificateAuthority root = rootCa();
  auto inter = take(CertificateAuthority::createIntermediate(root, absl::Hours(100), kNow));
  IssuedCertificate issued = issue(inter, kWeb);
  X509StorePtr empty_store(X509_STORE_new());  // the SSL_CTX's store is not what decides
  X509StackPtr untrusted = toStack(issued.intermediates);
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  REQUIRE(X509_STORE_CTX_init(ctx.get(), empty_store.get(), issued.leaf.get(), untrusted.get()) ==
          1);
  CHECK(take(verifyFromStoreCtx(ctx.get(), bundleOf(root), policy(), kNow)) == id(kWeb));

  CertificateAuthority stranger = rootCa();
  CHECK_FALSE(verifyFromStoreCtx(ctx.get(), bundleOf(stranger), policy(), kNow).ok());
  CHECK(X509_STORE_CTX_get_error(ctx.get()) == X509_V_ERR_APPLICATION_VERIFICATION);
}

TEST_CASE("a trust bundle holds CA certificates only") {
  CertificateAuthority ca = rootCa();
  IssuedCertificate issued = issue(ca, kWeb);
  CertChain leaf_only;
  leaf_only.push_back(shareCert(issued.leaf.get()));
  auto bad = TrustBundle::fromCertificates(leaf_only);
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(messageOf(bad.status()), Catch::Contains("is not a CA"));
  CHECK_FALSE(TrustBundle::fromCertificates({}).ok());
  TrustBundle bundle = bundleOf(ca);
  CHECK(take(TrustBundle::fromPem(take(bundle.toPem()))).roots().size() == 1);
}

}  // namespace
}  // namespace weft::common::identity
