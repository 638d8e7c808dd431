#include "common/identity/svid.h"

#include <catch2/catch.hpp>
#include <string>

#include "common/identity/certificate_authority.h"
#include "test/common/identity/test_pki.h"

namespace weft::common::identity {
namespace {

using testing::id;
using testing::kNow;
using testing::messageOf;
using testing::requester;
using testing::take;

constexpr const char* kWeb = "spiffe://example.org/ns/prod/sa/web";

struct Fixture {
  CertificateAuthority root =
      take(CertificateAuthority::selfSigned("example.org", absl::Hours(24 * 365), kNow));
  CertificateAuthority inter =
      take(CertificateAuthority::createIntermediate(root, absl::Hours(24 * 30), kNow));
  TrustBundle bundle = take(TrustBundle::fromCertificates(root.trustBundle()));
};

TEST_CASE("an SVID assembled from the CA's answer holds key, leaf, chain and times") {
  Fixture f;
  testing::Requester web = requester(kWeb);
  IssuedCertificate issued = take(f.inter.sign(web.csr, absl::Hours(24), kNow));
  Svid svid =
      take(Svid::assemble(id(kWeb), std::move(web.key), take(issued.chainPem()), f.bundle, kNow));
  CHECK(svid.id == id(kWeb));
  CHECK(X509_cmp(svid.leaf.get(), issued.leaf.get()) == 0);
  REQUIRE(svid.intermediates.size() == 1);
  CHECK(X509_cmp(svid.intermediates[0].get(), f.inter.certificate()) == 0);
  CHECK(svid.not_before == kNow - absl::Minutes(1));
  CHECK(svid.not_after == kNow + absl::Hours(24));
  CHECK(svid.expiresIn(kNow) == absl::Hours(24));
  CHECK(svid.expiresIn(kNow + absl::Hours(25)) == -absl::Hours(1));
}

TEST_CASE("assemble refuses a certificate for another key or another identity") {
  Fixture f;
  testing::Requester web = requester(kWeb);
  const std::string chain = take(take(f.root.sign(web.csr, absl::Hours(24), kNow)).chainPem());

  auto wrong_key = Svid::assemble(id(kWeb), take(generateP256Key()), chain, f.bundle, kNow);
  REQUIRE_FALSE(wrong_key.ok());
  CHECK_THAT(messageOf(wrong_key.status()), Catch::Contains("is not for this key"));

  auto wrong_id = Svid::assemble(id("spiffe://example.org/ns/prod/sa/db"), std::move(web.key),
                                 chain, f.bundle, kNow);
  REQUIRE_FALSE(wrong_id.ok());
  CHECK_THAT(messageOf(wrong_id.status()), Catch::Contains("expected"));
}

TEST_CASE("assemble refuses a certificate the bundle does not trust") {
  Fixture f;
  auto stranger = take(CertificateAuthority::selfSigned("example.org", absl::Hours(100), kNow));
  testing::Requester web = requester(kWeb);
  const std::string chain = take(take(stranger.sign(web.csr, absl::Hours(24), kNow)).chainPem());
  auto svid = Svid::assemble(id(kWeb), std::move(web.key), chain, f.bundle, kNow);
  REQUIRE_FALSE(svid.ok());
  CHECK(svid.status().code() == absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace weft::common::identity
