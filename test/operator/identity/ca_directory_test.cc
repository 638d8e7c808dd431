#include "operator/identity/ca_directory.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "common/identity/pem.h"
#include "common/util/file.h"
#include "test/agent/testing/temp_dir.h"
#include "test/common/identity/test_pki.h"

namespace weft::op {
namespace {

using common::identity::CertificateAuthority;
using common::identity::testing::kNow;
using common::identity::testing::take;

std::string rootPemOf(const CertificateAuthority& ca) {
  return take(common::identity::chainToPem(ca.trustBundle()));
}

TEST_CASE("an empty CA directory gets a self-signed root that later starts reuse") {
  test::TempDir dir;
  const std::string ca_dir = dir.path() + "/ca";
  CertificateAuthority first = take(loadOrCreateCa(ca_dir, "cluster.local", kNow));
  CHECK(first.chain().size() == 1);
  CHECK(first.trustDomain() == "cluster.local");
  // root.pem is what agents are given: the new root.
  CHECK(take(common::readFile(ca_dir + "/root.pem")) == rootPemOf(first));
  CHECK((std::filesystem::status(ca_dir + "/ca-key.pem").permissions() &
         std::filesystem::perms::group_read) == std::filesystem::perms::none);

  CertificateAuthority again = take(loadOrCreateCa(ca_dir, "cluster.local", kNow + absl::Hours(1)));
  CHECK(rootPemOf(again) == rootPemOf(first));
}

TEST_CASE("a provided CA with an intermediate signs with the intermediate, agents trust the root") {
  test::TempDir dir;
  CertificateAuthority root = take(CertificateAuthority::selfSigned(
      "cluster.local", absl::Hours(24 * 365), kNow - absl::Hours(1)));
  CertificateAuthority intermediate =
      take(CertificateAuthority::createIntermediate(root, absl::Hours(24 * 30), kNow));
  REQUIRE(common::writeFileAtomically(dir.path() + "/ca.pem", take(intermediate.chainPem())).ok());
  REQUIRE(common::writeFileAtomically(dir.path() + "/ca-key.pem", take(intermediate.keyPem()), 0600)
              .ok());
  CertificateAuthority loaded = take(loadOrCreateCa(dir.path(), "cluster.local", kNow));
  REQUIRE(loaded.chain().size() == 2);
  CHECK(X509_cmp(loaded.certificate(), intermediate.certificate()) == 0);
  CHECK(take(common::readFile(dir.path() + "/root.pem")) == rootPemOf(root));
}

TEST_CASE("a provided CA of another trust domain is refused, naming the directory") {
  test::TempDir dir;
  CertificateAuthority other = take(
      CertificateAuthority::selfSigned("other.org", absl::Hours(24 * 365), kNow - absl::Hours(1)));
  REQUIRE(common::writeFileAtomically(dir.path() + "/ca.pem", take(other.chainPem())).ok());
  REQUIRE(common::writeFileAtomically(dir.path() + "/ca-key.pem", take(other.keyPem()), 0600).ok());
  auto loaded = loadOrCreateCa(dir.path(), "cluster.local", kNow);
  REQUIRE_FALSE(loaded.ok());
  CHECK_THAT(std::string(loaded.status().message()),
             Catch::StartsWith("the CA in " + dir.path() + ": CA: certificate "));
  CHECK_THAT(std::string(loaded.status().message()),
             Catch::EndsWith("names \"spiffe://other.org\", not trust domain \"cluster.local\""));
}

}  // namespace
}  // namespace weft::op
