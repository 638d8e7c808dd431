// Fuzzes the CSR parser the operator's CA runs on agent input: any bytes are refused with a
// message, or yield a valid SPIFFE ID and an EC P-256 key.

#include <cstdint>
#include <cstdlib>

#include "common/identity/csr.h"
#include "common/identity/keys.h"
#include "test/fuzz/fuzz_require.h"

using weft::test::fuzzRequire;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace weft::common::identity;
  auto csr = parseCsrPem(absl::string_view(reinterpret_cast<const char*>(data), size));
  if (!csr.ok()) {
    fuzzRequire(!csr.status().message().empty());
    return 0;
  }
  fuzzRequire(isP256Key(csr->public_key.get()));
  auto again = SpiffeId::parse(csr->id.toString());
  fuzzRequire(again.ok() && *again == csr->id);
  return 0;
}
