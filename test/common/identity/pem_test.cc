#include "common/identity/pem.h"

#include <openssl/pem.h>

#include <catch2/catch.hpp>
#include <string>

#include "common/identity/keys.h"
#include "test/common/identity/test_pki.h"

namespace weft::common::identity {
namespace {

using testing::kNow;
using testing::messageOf;
using testing::take;

std::string errorOf(const absl::Status& status) {
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  return messageOf(status);
}

TEST_CASE("a generated key is EC P-256 and survives a PEM round trip") {
  EvpPkeyPtr key = take(generateP256Key());
  CHECK(isP256Key(key.get()));
  CHECK(describeKey(key.get()) == "EC P-256");
  const std::string pem = take(privateKeyToPem(key.get()));
  CHECK_THAT(pem, Catch::StartsWith("-----BEGIN PRIVATE KEY-----"));
  EvpPkeyPtr again = take(privateKeyFromPem(pem));
  CHECK(samePublicKey(key.get(), again.get()));
  CHECK_FALSE(samePublicKey(key.get(), take(generateP256Key()).get()));
}

TEST_CASE("an RSA key is not P-256") {
  EvpPkeyPtr rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  REQUIRE(rsa != nullptr);
  CHECK_FALSE(isP256Key(rsa.get()));
  CHECK(describeKey(rsa.get()) == "RSA 2048");
}

TEST_CASE("certificate chains survive a PEM round trip in order") {
  auto root = take(CertificateAuthority::selfSigned("example.org", absl::Hours(100), kNow));
  auto inter = take(CertificateAuthority::createIntermediate(root, absl::Hours(50), kNow));
  const std::string pem = take(inter.chainPem());
  CertChain chain = take(chainFromPem(pem));
  REQUIRE(chain.size() == 2);
  CHECK(X509_cmp(chain[0].get(), inter.certificate()) == 0);
  CHECK(X509_cmp(chain[1].get(), root.certificate()) == 0);
  CHECK(take(chainToPem(chain)) == pem);
}

TEST_CASE("certificateFromPem wants exactly one certificate") {
  auto root = take(CertificateAuthority::selfSigned("example.org", absl::Hours(100), kNow));
  auto inter = take(CertificateAuthority::createIntermediate(root, absl::Hours(50), kNow));
  CHECK(take(certificateFromPem(testing::toPem(root.certificate()))) != nullptr);
  CHECK_THAT(errorOf(certificateFromPem(take(inter.chainPem())).status()),
             Catch::Contains("expected one certificate, found 2"));
}

TEST_CASE("text between PEM blocks is ignored, as in CA bundles with comments") {
  auto root = take(CertificateAuthority::selfSigned("example.org", absl::Hours(100), kNow));
  const std::string pem = "# weft root\n" + testing::toPem(root.certificate()) + "# end\n";
  CHECK(take(chainFromPem(pem)).size() == 1);
}

TEST_CASE("bad PEM gives a clear error") {
  auto root = take(CertificateAuthority::selfSigned("example.org", absl::Hours(100), kNow));
  const std::string good = testing::toPem(root.certificate());

  CHECK_THAT(errorOf(chainFromPem("").status()), Catch::Contains("no PEM block found"));
  CHECK_THAT(errorOf(chainFromPem("hello\n").status()), Catch::Contains("no PEM block found"));

  std::string truncated = good.substr(0, good.size() / 2);
  CHECK_THAT(errorOf(chainFromPem(truncated).status()),
             Catch::Contains("PEM block 1 is malformed"));

  std::string bad_base64 = good;
  bad_base64[40] = '*';
  CHECK_THAT(errorOf(chainFromPem(bad_base64).status()),
             Catch::Contains("PEM block 1 is malformed"));

  const std::string not_der =
      "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n";
  CHECK_THAT(errorOf(chainFromPem(not_der).status()), Catch::Contains("not valid DER"));

  EvpPkeyPtr key = take(generateP256Key());
  const std::string key_pem = take(privateKeyToPem(key.get()));
  CHECK_THAT(errorOf(chainFromPem(good + key_pem).status()),
             Catch::Contains("PEM block 2 is \"PRIVATE KEY\", expected \"CERTIFICATE\""));
  CHECK_THAT(errorOf(privateKeyFromPem(good).status()),
             Catch::Contains("unexpected \"CERTIFICATE\" block"));
  CHECK_THAT(errorOf(privateKeyFromPem(key_pem + key_pem).status()),
             Catch::Contains("more than one private key"));
  CHECK_THAT(errorOf(chainFromPem(std::string(kMaxPemBytes + 1, 'a')).status()),
             Catch::Contains("larger than"));
}

TEST_CASE("encrypted private keys are refused") {
  const std::string encrypted =
      "-----BEGIN ENCRYPTED PRIVATE KEY-----\naGVsbG8gd29ybGQ=\n"
      "-----END ENCRYPTED PRIVATE KEY-----\n";
  CHECK_THAT(errorOf(privateKeyFromPem(encrypted).status()), Catch::Contains("encrypted"));
}

TEST_CASE("a SEC1 \"EC PRIVATE KEY\" with its \"EC PARAMETERS\" block is accepted") {
  // What `openssl ecparam -name prime256v1 -genkey` writes.
  EvpPkeyPtr key = take(generateP256Key());
  BioPtr bio(BIO_new(BIO_s_mem()));
  REQUIRE(PEM_write_bio_PrivateKey_traditional(bio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                               nullptr) == 1);
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  const std::string sec1(data, length);
  REQUIRE_THAT(sec1, Catch::StartsWith("-----BEGIN EC PRIVATE KEY-----"));
  const std::string params =
      "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n";
  EvpPkeyPtr again = take(privateKeyFromPem(params + sec1));
  CHECK(samePublicKey(key.get(), again.get()));
}

}  // namespace
}  // namespace weft::common::identity
