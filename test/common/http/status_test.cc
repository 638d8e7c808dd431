#include "common/http/status.h"

#include <catch2/catch.hpp>

namespace weft::common::http {
namespace {

TEST_CASE("status codes in words") {
  CHECK(reasonPhrase(410) == "Gone");
  CHECK(reasonPhrase(418).empty());
  CHECK(statusLine(201) == "201 Created");
  CHECK(statusLine(431) == "431 Request Header Fields Too Large");
  CHECK(statusLine(418) == "418 Status 418");
}

}  // namespace
}  // namespace weft::common::http
