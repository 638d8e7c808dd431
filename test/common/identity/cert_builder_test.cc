#include "common/identity/cert_builder.h"

#include <openssl/x509v3.h>

#include <catch2/catch.hpp>
#include <string>

#include "common/identity/keys.h"
#include "common/identity/x509_util.h"
#include "test/common/identity/test_pki.h"

namespace weft::common::identity {
namespace {

using testing::kNow;
using testing::take;

CertSpec servingSpec(EVP_PKEY* key) {
  return CertSpec{.public_key = key,
                  .common_name = "kube-apiserver",
                  .dns_sans = {"localhost", "kubernetes.default.svc"},
                  .ip_sans = {"127.0.0.1", "::1"},
                  .not_before = kNow,
                  .not_after = kNow + absl::Hours(1)};
}

TEST_CASE("a serving certificate names its DNS names and IP addresses") {
  EvpPkeyPtr key = take(generateP256Key());
  X509Ptr cert = take(buildCertificate(servingSpec(key.get()), nullptr, key.get()));
  CHECK(X509_check_host(cert.get(), "localhost", 0, 0, nullptr) == 1);
  CHECK(X509_check_host(cert.get(), "kubernetes.default.svc", 0, 0, nullptr) == 1);
  CHECK(X509_check_host(cert.get(), "example.org", 0, 0, nullptr) == 0);
  CHECK(X509_check_ip_asc(cert.get(), "127.0.0.1", 0) == 1);
  CHECK(X509_check_ip_asc(cert.get(), "::1", 0) == 1);
  CHECK(X509_check_ip_asc(cert.get(), "127.0.0.2", 0) == 0);
  const SubjectAltNames sans = take(certificateSans(cert.get()));
  CHECK(sans.uris.empty());
  CHECK(sans.others == 4);
}

TEST_CASE("a URI SAN and DNS names go in one subjectAltName") {
  EvpPkeyPtr key = take(generateP256Key());
  CertSpec spec = servingSpec(key.get());
  spec.uri_san = "spiffe://example.org/ns/weft/sa/operator";
  X509Ptr cert = take(buildCertificate(spec, nullptr, key.get()));
  CHECK(take(certificateSans(cert.get())).uris ==
        std::vector<std::string>{"spiffe://example.org/ns/weft/sa/operator"});
  CHECK(X509_check_host(cert.get(), "localhost", 0, 0, nullptr) == 1);
}

TEST_CASE("an IP SAN that is not an address is refused") {
  EvpPkeyPtr key = take(generateP256Key());
  CertSpec spec = servingSpec(key.get());
  spec.ip_sans = {"localhost"};
  auto cert = buildCertificate(spec, nullptr, key.get());
  REQUIRE_FALSE(cert.ok());
  CHECK(cert.status().message() == "\"localhost\" is not an IP address");
}

}  // namespace
}  // namespace weft::common::identity
