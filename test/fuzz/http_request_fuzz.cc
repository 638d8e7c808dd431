// Fuzzes the admin server's HTTP/1 request-head parser: any bytes give NeedMore, Malformed
// with a reason, or a Request whose parts are consistent with each other.

#include <cstdint>
#include <cstdlib>
#include <variant>

#include "common/http/request.h"
#include "test/fuzz/fuzz_require.h"

using weft::test::fuzzRequire;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace weft::common::http;
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto parsed = parseRequestHead(bytes);
  if (auto* bad = std::get_if<Malformed>(&parsed)) {
    fuzzRequire(!bad->reason.empty());
  } else if (auto* request = std::get_if<Request>(&parsed)) {
    fuzzRequire(!request->method.empty());
    fuzzRequire(!request->path.empty() && request->path[0] == '/');
    fuzzRequire(request->target.compare(0, request->path.size(), request->path) == 0);
    fuzzRequire(request->minor_version == 0 || request->minor_version == 1);
    for (const auto& [name, value] : request->headers) {
      fuzzRequire(!name.empty());
    }
  }
  return 0;
}
