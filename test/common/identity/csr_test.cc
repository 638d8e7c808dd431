#include "common/identity/csr.h"

#include <openssl/x509v3.h>

#include <catch2/catch.hpp>
#include <string>

#include "absl/strings/str_replace.h"
#include "common/identity/keys.h"
#include "common/identity/pem.h"
#include "test/common/identity/test_pki.h"

namespace weft::common::identity {
namespace {

using testing::id;
using testing::messageOf;
using testing::rawCsrPem;
using testing::take;

constexpr const char* kWeb = "spiffe://example.org/ns/prod/sa/web";

std::string csrError(const std::string& pem) {
  auto parsed = parseCsrPem(pem);
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument);
  return messageOf(parsed.status());
}

// The CSR's DER with `from` replaced by `to` (same length), wrapped in PEM again.
std::string tamperedCsr(const std::string& pem, const std::string& from, const std::string& to) {
  X509ReqPtr request = take(requestFromPem(pem));
  unsigned char* der = nullptr;
  const int length = i2d_X509_REQ(request.get(), &der);
  std::string bytes(reinterpret_cast<char*>(der), length);
  OPENSSL_free(der);
  const std::string changed = absl::StrReplaceAll(bytes, {{from, to}});
  REQUIRE(changed != bytes);
  return testing::derToPem("CERTIFICATE REQUEST", changed);
}

TEST_CASE("a CSR built for an identity parses back to that identity and key") {
  EvpPkeyPtr key = take(generateP256Key());
  const std::string pem = take(buildCsrPem(id(kWeb), key.get()));
  CHECK_THAT(pem, Catch::StartsWith("-----BEGIN CERTIFICATE REQUEST-----"));
  CertificateRequest csr = take(parseCsrPem(pem));
  CHECK(csr.id == id(kWeb));
  CHECK(samePublicKey(csr.public_key.get(), key.get()));
}

TEST_CASE("buildCsrPem refuses a key that is not P-256") {
  EvpPkeyPtr rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  auto pem = buildCsrPem(id(kWeb), rsa.get());
  REQUIRE_FALSE(pem.ok());
  CHECK_THAT(messageOf(pem.status()), Catch::Contains("must be EC P-256, got RSA 2048"));
}

TEST_CASE("a CSR with an RSA key is refused") {
  EvpPkeyPtr rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  CHECK_THAT(csrError(rawCsrPem(rsa.get(), {{GEN_URI, kWeb}})),
             Catch::Contains("key must be EC P-256, got RSA 2048"));
}

TEST_CASE("a CSR with a P-384 key is refused") {
  EvpPkeyPtr p384(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  CHECK_THAT(csrError(rawCsrPem(p384.get(), {{GEN_URI, kWeb}})),
             Catch::Contains("key must be EC P-256, got EC secp384r1"));
}

TEST_CASE("a CSR must ask for exactly one SPIFFE URI and nothing else") {
  EvpPkeyPtr key = take(generateP256Key());
  CHECK_THAT(csrError(rawCsrPem(
                 key.get(), {{GEN_URI, kWeb}, {GEN_URI, "spiffe://example.org/ns/prod/sa/db"}})),
             Catch::Contains("2 URI subjectAltNames"));
  CHECK_THAT(csrError(rawCsrPem(key.get(), {{GEN_URI, kWeb}, {GEN_DNS, "web.prod.svc"}})),
             Catch::Contains("non-URI subjectAltName"));
  CHECK_THAT(csrError(rawCsrPem(key.get(), {{GEN_DNS, "web.prod.svc"}})),
             Catch::Contains("non-URI subjectAltName"));
  CHECK_THAT(csrError(rawCsrPem(key.get(), {})), Catch::Contains("no SPIFFE ID"));
  CHECK_THAT(csrError(rawCsrPem(key.get(), {{GEN_URI, "https://example.org/web"}})),
             Catch::Contains("not a spiffe:// URI"));
  CHECK_THAT(csrError(rawCsrPem(key.get(), {{GEN_URI, "spiffe://example.org/ns/prod/sa/Web"}})),
             Catch::Contains("service account"));
}

TEST_CASE("a CSR whose contents were changed after signing is refused") {
  EvpPkeyPtr key = take(generateP256Key());
  const std::string pem = take(buildCsrPem(id(kWeb), key.get()));
  // Someone on the way swaps the identity for another of the same length.
  const std::string swapped = tamperedCsr(pem, "sa/web", "sa/dba");
  CHECK_THAT(csrError(swapped), Catch::Contains("signature does not verify"));
}

TEST_CASE("a CSR with a damaged signature is refused") {
  EvpPkeyPtr key = take(generateP256Key());
  X509ReqPtr request = take(requestFromPem(take(buildCsrPem(id(kWeb), key.get()))));
  unsigned char* der = nullptr;
  const int length = i2d_X509_REQ(request.get(), &der);
  std::string bytes(reinterpret_cast<char*>(der), length);
  OPENSSL_free(der);
  bytes.back() ^= 0x01;  // the last byte of the ECDSA signature's s value
  const std::string pem = testing::derToPem("CERTIFICATE REQUEST", bytes);
  CHECK_THAT(csrError(pem), Catch::Contains("signature does not verify"));
}

TEST_CASE("CSR PEM must hold one certificate request block") {
  EvpPkeyPtr key = take(generateP256Key());
  const std::string pem = take(buildCsrPem(id(kWeb), key.get()));
  CHECK_THAT(csrError(pem + pem), Catch::Contains("expected one block, found 2"));
  CHECK_THAT(csrError(take(privateKeyToPem(key.get()))),
             Catch::Contains("expected \"CERTIFICATE REQUEST\""));
  CHECK_THAT(csrError("garbage"), Catch::Contains("no PEM block"));
}

}  // namespace
}  // namespace weft::common::identity
