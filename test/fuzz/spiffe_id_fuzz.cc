// Fuzzes the SPIFFE ID parser: any input is refused with a short message, or it is the one
// canonical spelling of its ID (parse -> toString gives the input back, and parses again to
// the same ID).

#include <cstdint>
#include <cstdlib>

#include "common/identity/spiffe_id.h"
#include "test/fuzz/fuzz_require.h"

using weft::test::fuzzRequire;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using weft::common::identity::SpiffeId;
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto id = SpiffeId::parse(text);
  if (!id.ok()) {
    // A peer controls the input; the error it causes must stay readable and bounded.
    fuzzRequire(!id.status().message().empty() && id.status().message().size() < 1024);
    return 0;
  }
  const std::string printed = id->toString();
  fuzzRequire(printed == text);
  auto again = SpiffeId::parse(printed);
  fuzzRequire(again.ok() && *again == *id);
  auto rebuilt = SpiffeId::fromParts(id->trust_domain, id->namespace_name, id->service_account);
  fuzzRequire(rebuilt.ok() && *rebuilt == *id);
  return 0;
}
