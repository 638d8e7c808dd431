// Fuzzes what a peer's certificate chain goes through before any signature is checked: PEM
// and DER decoding, then reading the SAN, basicConstraints and validity of each certificate.
// Decoded chains must encode and decode back to the same certificates.

#include <cstdint>
#include <cstdlib>

#include "common/identity/pem.h"
#include "common/identity/x509_util.h"
#include "test/fuzz/fuzz_require.h"

using weft::test::fuzzRequire;

namespace {

void readFields(X509* cert) {
  using namespace weft::common::identity;
  auto sans = certificateSans(cert);
  if (sans.ok()) {
    auto id = spiffeIdFromSans(*sans, "fuzzed certificate");
    fuzzRequire(id.ok() || !id.status().message().empty());
  }
  (void)isCa(cert);
  (void)describeCert(cert);
  (void)formatTime(notBefore(cert));
  (void)formatTime(notAfter(cert));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace weft::common::identity;
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  (void)privateKeyFromPem(text);
  auto chain = chainFromPem(text);
  if (!chain.ok()) {
    fuzzRequire(!chain.status().message().empty());
    return 0;
  }
  for (const X509Ptr& cert : *chain) {
    readFields(cert.get());
  }
  auto pem = chainToPem(*chain);
  fuzzRequire(pem.ok());
  auto again = chainFromPem(*pem);
  fuzzRequire(again.ok() && again->size() == chain->size());
  for (size_t i = 0; i < chain->size(); ++i) {
    fuzzRequire(X509_cmp((*chain)[i].get(), (*again)[i].get()) == 0);
  }
  return 0;
}
