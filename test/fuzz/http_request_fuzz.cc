// Fuzzes the admin server's HTTP/1 request-head parser: any bytes give NeedMore, Malformed
// with a reason, or a Request whose parts are consistent with each other.

#include <cstdint>
#include <cstdlib>
#include <variant>

#include "common/http/request.h"

namespace {

void require(bool invariant) {
  if (!invariant) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace weft::common::http;
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto parsed = parseRequestHead(bytes);
  if (auto* bad = std::get_if<Malformed>(&parsed)) {
    require(!bad->reason.empty());
  } else if (auto* request = std::get_if<Request>(&parsed)) {
    require(!request->method.empty());
    require(!request->path.empty() && request->path[0] == '/');
    require(request->target.compare(0, request->path.size(), request->path) == 0);
    require(request->minor_version == 0 || request->minor_version == 1);
    for (const auto& [name, value] : request->headers) {
      require(!name.empty());
    }
  }
  return 0;
}
