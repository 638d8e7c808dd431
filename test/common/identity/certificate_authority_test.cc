#include "common/identity/certificate_authority.h"

#include <openssl/x509v3.h>

#include <catch2/catch.hpp>
#include <string>

#include "common/identity/cert_builder.h"
#include "common/identity/keys.h"
#include "common/identity/pem.h"
#include "common/identity/x509_util.h"
#include "test/common/identity/test_pki.h"

namespace weft::common::identity {
namespace {

using testing::issue;
using testing::kNow;
using testing::messageOf;
using testing::requester;
using testing::take;

constexpr const char* kWeb = "spiffe://example.org/ns/prod/sa/web";

CertificateAuthority rootCa(absl::Duration validity = absl::Hours(24 * 365)) {
  return take(CertificateAuthority::selfSigned("example.org", validity, kNow));
}

std::vector<std::string> uris(X509* cert) {
  return take(certificateSans(cert)).uris;
}

std::string fromPemError(const std::string& chain_pem, const std::string& key_pem,
                         absl::Time now = kNow) {
  auto ca = CertificateAuthority::fromPem("example.org", chain_pem, key_pem, now);
  REQUIRE_FALSE(ca.ok());
  CHECK(ca.status().code() == absl::StatusCode::kInvalidArgument);
  return messageOf(ca.status());
}

TEST_CASE("a self-signed root is a CA for its trust domain") {
  CertificateAuthority ca = rootCa(absl::Hours(100));
  X509* root = ca.certificate();
  CHECK(isCa(root));
  CHECK(isSelfSigned(root));
  CHECK((X509_get_key_usage(root) & KU_KEY_CERT_SIGN) != 0);
  CHECK(uris(root) == std::vector<std::string>{"spiffe://example.org"});
  CHECK(notBefore(root) == kNow - absl::Minutes(1));
  CHECK(notAfter(root) == kNow + absl::Hours(100));
  CHECK(ca.chain().size() == 1);
  REQUIRE(ca.trustBundle().size() == 1);
  CHECK(X509_cmp(ca.trustBundle()[0].get(), root) == 0);
}

TEST_CASE("selfSigned refuses a bad trust domain or validity") {
  CHECK_FALSE(CertificateAuthority::selfSigned("Example.org", absl::Hours(1), kNow).ok());
  CHECK_FALSE(CertificateAuthority::selfSigned("example.org", absl::ZeroDuration(), kNow).ok());
}

TEST_CASE("a signed leaf is an SVID for exactly the requested identity") {
  CertificateAuthority ca = rootCa();
  IssuedCertificate issued = issue(ca, kWeb, kNow, absl::Hours(24));
  X509* leaf = issued.leaf.get();
  CHECK_FALSE(isCa(leaf));
  CHECK(uris(leaf) == std::vector<std::string>{kWeb});
  CHECK(take(certificateSans(leaf)).others == 0);
  CHECK(X509_NAME_entry_count(X509_get_subject_name(leaf)) == 0);
  CHECK(X509_NAME_cmp(X509_get_issuer_name(leaf), X509_get_subject_name(ca.certificate())) == 0);
  CHECK(notBefore(leaf) == kNow - absl::Minutes(1));
  CHECK(notAfter(leaf) == kNow + absl::Hours(24));
  CHECK(X509_get_key_usage(leaf) == KU_DIGITAL_SIGNATURE);
  CHECK(X509_get_extended_key_usage(leaf) == (XKU_SSL_SERVER | XKU_SSL_CLIENT));
  CHECK(issued.intermediates.empty());
  CHECK(X509_check_issued(ca.certificate(), leaf) == X509_V_OK);
}

TEST_CASE("a serving certificate carries the SPIFFE ID and the DNS names clients check") {
  CertificateAuthority ca = rootCa();
  EvpPkeyPtr key = take(generateP256Key());
  IssuedCertificate issued =
      take(ca.signServing(testing::id("spiffe://example.org/ns/weft-system/sa/weft-operator"),
                          key.get(), {"weft-operator"}, absl::Hours(24), kNow));
  X509* leaf = issued.leaf.get();
  CHECK(uris(leaf) ==
        std::vector<std::string>{"spiffe://example.org/ns/weft-system/sa/weft-operator"});
  CHECK(take(certificateSans(leaf)).others == 1);
  CHECK(X509_check_host(leaf, "weft-operator", 0, 0, nullptr) == 1);
  CHECK(X509_check_host(leaf, "other", 0, 0, nullptr) == 0);
  CHECK(X509_get_extended_key_usage(leaf) == (XKU_SSL_SERVER | XKU_SSL_CLIENT));
  auto other = ca.signServing(testing::id("spiffe://other.org/ns/a/sa/b"), key.get(), {"x"},
                              absl::Hours(1), kNow);
  CHECK(other.status().code() == absl::StatusCode::kPermissionDenied);
}

TEST_CASE("serial numbers are random and at most 128 bits") {
  CertificateAuthority ca = rootCa();
  BignumPtr a(ASN1_INTEGER_to_BN(X509_get0_serialNumber(issue(ca, kWeb).leaf.get()), nullptr));
  BignumPtr b(ASN1_INTEGER_to_BN(X509_get0_serialNumber(issue(ca, kWeb).leaf.get()), nullptr));
  CHECK(BN_num_bits(a.get()) <= 128);
  CHECK(BN_num_bits(a.get()) > 64);  // fails with probability 2^-64
  CHECK(BN_cmp(a.get(), b.get()) != 0);
}

TEST_CASE("a leaf never outlives its signer") {
  CertificateAuthority ca = rootCa(absl::Hours(10));
  IssuedCertificate issued = issue(ca, kWeb, kNow + absl::Hours(1), absl::Hours(24));
  CHECK(notAfter(issued.leaf.get()) == kNow + absl::Hours(10));
}

TEST_CASE("a leaf is not backdated before its signer became valid") {
  CertificateAuthority ca = rootCa();  // valid from kNow - 1 min
  // Issued 30 s after the CA's notBefore: now - 1 min would predate the CA.
  IssuedCertificate issued = issue(ca, kWeb, kNow - absl::Seconds(30), absl::Hours(1));
  CHECK(notBefore(issued.leaf.get()) == notBefore(ca.certificate()));
}

TEST_CASE("the CA refuses identities of another trust domain") {
  CertificateAuthority ca = rootCa();
  auto other = ca.sign(requester("spiffe://other.org/ns/prod/sa/web").csr, absl::Hours(1), kNow);
  REQUIRE_FALSE(other.ok());
  CHECK(other.status().code() == absl::StatusCode::kPermissionDenied);
  CHECK_THAT(messageOf(other.status()), Catch::Contains("signs for trust domain \"example.org\""));
}

TEST_CASE("the CA refuses to sign while expired or not yet valid, or for no lifetime") {
  CertificateAuthority ca = rootCa(absl::Hours(10));
  auto csr = requester(kWeb).csr;
  auto late = ca.sign(csr, absl::Hours(1), kNow + absl::Hours(11));
  REQUIRE_FALSE(late.ok());
  CHECK_THAT(messageOf(late.status()), Catch::Contains("expired at 2030-01-01T10:00:00Z"));
  auto early = ca.sign(csr, absl::Hours(1), kNow - absl::Hours(1));
  REQUIRE_FALSE(early.ok());
  CHECK_THAT(messageOf(early.status()), Catch::Contains("is not valid before"));
  auto none = ca.sign(csr, absl::ZeroDuration(), kNow);
  REQUIRE_FALSE(none.ok());
  CHECK_THAT(messageOf(none.status()), Catch::Contains("lifetime must be positive"));
}

TEST_CASE("an intermediate signs leaves presented with the intermediate") {
  CertificateAuthority root = rootCa(absl::Hours(100));
  auto inter = take(CertificateAuthority::createIntermediate(root, absl::Hours(1000), kNow));
  CHECK(isCa(inter.certificate()));
  CHECK_FALSE(isSelfSigned(inter.certificate()));
  CHECK(notAfter(inter.certificate()) == kNow + absl::Hours(100));  // capped by the root
  REQUIRE(inter.chain().size() == 2);
  CHECK(X509_cmp(inter.trustBundle()[0].get(), root.certificate()) == 0);

  IssuedCertificate issued = issue(inter, kWeb);
  REQUIRE(issued.intermediates.size() == 1);
  CHECK(X509_cmp(issued.intermediates[0].get(), inter.certificate()) == 0);
  CHECK(X509_check_issued(inter.certificate(), issued.leaf.get()) == X509_V_OK);
  CertChain presented = take(chainFromPem(take(issued.chainPem())));
  CHECK(presented.size() == 2);
}

TEST_CASE("a CA persisted as PEM loads again and signs") {
  CertificateAuthority root = rootCa();
  auto inter = take(CertificateAuthority::createIntermediate(root, absl::Hours(100), kNow));
  for (const CertificateAuthority* ca : {&root, &inter}) {
    auto loaded = take(CertificateAuthority::fromPem("example.org", take(ca->chainPem()),
                                                     take(ca->keyPem()), kNow));
    CHECK(X509_cmp(loaded.certificate(), ca->certificate()) == 0);
    CHECK(loaded.chain().size() == ca->chain().size());
    CHECK(issue(loaded, kWeb).intermediates.size() == ca->chain().size() - 1);
  }
}

TEST_CASE("fromPem refuses a key that does not match the certificate") {
  CertificateAuthority a = rootCa();
  CertificateAuthority b = rootCa();
  CHECK_THAT(fromPemError(take(a.chainPem()), take(b.keyPem())),
             Catch::Contains("the key does not match"));
}

TEST_CASE("fromPem refuses a certificate that is not a CA") {
  CertificateAuthority ca = rootCa();
  testing::Requester web = requester(kWeb);
  IssuedCertificate issued = take(ca.sign(web.csr, absl::Hours(1), kNow));
  const std::string chain = take(issued.chainPem()) + take(ca.chainPem());
  CHECK_THAT(fromPemError(chain, take(privateKeyToPem(web.key.get()))),
             Catch::Contains("is not a CA"));
}

TEST_CASE("fromPem refuses an expired or not yet valid CA") {
  CertificateAuthority ca = rootCa(absl::Hours(10));
  CHECK_THAT(fromPemError(take(ca.chainPem()), take(ca.keyPem()), kNow + absl::Hours(11)),
             Catch::Contains("expired at 2030-01-01T10:00:00Z"));
  CHECK_THAT(fromPemError(take(ca.chainPem()), take(ca.keyPem()), kNow - absl::Hours(1)),
             Catch::Contains("is not valid before"));
}

TEST_CASE("fromPem refuses a chain that does not end with its root") {
  CertificateAuthority root = rootCa();
  auto inter = take(CertificateAuthority::createIntermediate(root, absl::Hours(100), kNow));
  CHECK_THAT(fromPemError(testing::toPem(inter.certificate()), take(inter.keyPem())),
             Catch::Contains("must end with its self-signed root"));
  CertificateAuthority stranger = rootCa();
  CHECK_THAT(
      fromPemError(testing::toPem(inter.certificate()) + testing::toPem(stranger.certificate()),
                   take(inter.keyPem())),
      Catch::Contains("not issued by a CA"));
}

TEST_CASE("fromPem refuses a CA named for another trust domain") {
  auto other = take(CertificateAuthority::selfSigned("other.org", absl::Hours(10), kNow));
  CHECK_THAT(fromPemError(take(other.chainPem()), take(other.keyPem())),
             Catch::Contains("names \"spiffe://other.org\", not trust domain \"example.org\""));
}

TEST_CASE("fromPem accepts an RSA root without a SPIFFE SAN, as corporate CAs often are") {
  EvpPkeyPtr rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  CertSpec spec;
  spec.public_key = rsa.get();
  spec.common_name = "Corp Root";
  spec.ca = true;
  spec.not_before = kNow - absl::Hours(1);
  spec.not_after = kNow + absl::Hours(1000);
  X509Ptr root = take(buildCertificate(spec, nullptr, rsa.get()));
  auto ca = take(CertificateAuthority::fromPem("example.org", testing::toPem(root.get()),
                                               take(privateKeyToPem(rsa.get())), kNow));
  IssuedCertificate issued = issue(ca, kWeb);
  CHECK(X509_check_issued(root.get(), issued.leaf.get()) == X509_V_OK);
}

}  // namespace
}  // namespace weft::common::identity
