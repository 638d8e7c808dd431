// Checks the generated keys, CSRs and certificates with the `openssl` command line, so what
// weft issues is known to be read the same way by a standard, independent tool.

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/identity/certificate_authority.h"
#include "common/identity/csr.h"
#include "common/identity/pem.h"
#include "common/identity/x509_util.h"
#include "test/common/identity/test_pki.h"

namespace weft::common::identity {
namespace {

using testing::id;
using testing::kNow;
using testing::take;

constexpr const char* kWeb = "spiffe://example.org/ns/prod/sa/web";

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "weft-id-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }

  std::string write(const std::string& name, const std::string& contents) const {
    const std::string file = (path_ / name).string();
    std::ofstream(file) << contents;
    return file;
  }
  std::string read(const std::string& name) const {
    std::ifstream in(path_ / name);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::string path(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Runs `command` with its output in `dir`/out.txt; returns the exit status.
int run(const TempDir& dir, const std::string& command) {
  const std::string line = absl::StrCat(command, " > ", dir.path("out.txt"), " 2>&1");
  INFO(line);
  const int status = std::system(line.c_str());
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

TEST_CASE("openssl verifies a leaf through the intermediate to the root, for both TLS roles") {
  TempDir dir;
  auto root = take(CertificateAuthority::selfSigned("example.org", absl::Hours(1000), kNow));
  auto inter = take(CertificateAuthority::createIntermediate(root, absl::Hours(500), kNow));
  IssuedCertificate issued = testing::issue(inter, kWeb);
  const std::string root_pem = dir.write("root.pem", testing::toPem(root.certificate()));
  const std::string inter_pem = dir.write("inter.pem", testing::toPem(inter.certificate()));
  const std::string leaf_pem = dir.write("leaf.pem", testing::toPem(issued.leaf.get()));
  const std::string at = absl::StrCat(" -attime ", absl::ToUnixSeconds(kNow));
  for (const char* purpose : {"sslclient", "sslserver"}) {
    const int status =
        run(dir, absl::StrCat("openssl verify -x509_strict -purpose ", purpose, at, " -CAfile ",
                              root_pem, " -untrusted ", inter_pem, " ", leaf_pem));
    INFO(dir.read("out.txt"));
    CHECK(status == 0);
    CHECK_THAT(dir.read("out.txt"), Catch::Contains(leaf_pem + ": OK"));
  }
  // The same command fails without the intermediate, and after expiry: the check can fail.
  CHECK(run(dir, absl::StrCat("openssl verify", at, " -CAfile ", root_pem, " ", leaf_pem)) != 0);
  CHECK(
      run(dir, absl::StrCat("openssl verify -attime ", absl::ToUnixSeconds(kNow + absl::Hours(25)),
                            " -CAfile ", root_pem, " -untrusted ", inter_pem, " ", leaf_pem)) != 0);
}

TEST_CASE("openssl shows the leaf's URI SAN and SVID extensions") {
  TempDir dir;
  auto root = take(CertificateAuthority::selfSigned("example.org", absl::Hours(1000), kNow));
  IssuedCertificate issued = testing::issue(root, kWeb);
  const std::string leaf_pem = dir.write("leaf.pem", testing::toPem(issued.leaf.get()));
  REQUIRE(run(dir, "openssl x509 -noout -text -in " + leaf_pem) == 0);
  const std::string text = dir.read("out.txt");
  INFO(text);
  CHECK_THAT(text, Catch::Contains("X509v3 Subject Alternative Name: critical"));
  CHECK_THAT(text, Catch::Contains(absl::StrCat("URI:", kWeb)));
  CHECK_THAT(text, Catch::Contains("X509v3 Basic Constraints: critical"));
  CHECK_THAT(text, Catch::Contains("CA:FALSE"));
  CHECK_THAT(text, Catch::Contains("Digital Signature"));
  CHECK_THAT(text, Catch::Contains("TLS Web Server Authentication, TLS Web Client Authentication"));
  CHECK_THAT(text, Catch::Contains("NIST CURVE: P-256"));
  CHECK_THAT(text, Catch::Contains("ecdsa-with-SHA256"));
  // /debug/certificates names certificates by serial as openssl prints it.
  REQUIRE(run(dir, "openssl x509 -noout -serial -in " + leaf_pem) == 0);
  CHECK(dir.read("out.txt") == absl::StrCat("serial=", serialHex(issued.leaf.get()), "\n"));
}

TEST_CASE("openssl accepts our CSR and key, and we accept its CSR") {
  TempDir dir;
  EvpPkeyPtr key = take(generateP256Key());
  const std::string key_pem = dir.write("key.pem", take(privateKeyToPem(key.get())));
  const std::string csr_pem = dir.write("csr.pem", take(buildCsrPem(id(kWeb), key.get())));
  CHECK(run(dir, "openssl pkey -noout -check -in " + key_pem) == 0);
  REQUIRE(run(dir, "openssl req -noout -verify -text -in " + csr_pem) == 0);
  CHECK_THAT(dir.read("out.txt"), Catch::Contains(absl::StrCat("URI:", kWeb)));

  const std::string theirs = dir.path("theirs.pem");
  REQUIRE(run(dir, absl::StrCat("openssl req -new -key ", key_pem, " -subj /CN=web -addext ",
                                "subjectAltName=URI:", kWeb, " -out ", theirs)) == 0);
  CertificateRequest parsed = take(parseCsrPem(dir.read("theirs.pem")));
  CHECK(parsed.id == id(kWeb));
}

}  // namespace
}  // namespace weft::common::identity
