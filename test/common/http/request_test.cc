#include "common/http/request.h"

#include <catch2/catch.hpp>

namespace weft::common::http {
namespace {

bool needsMore(absl::string_view bytes) {
  return std::holds_alternative<NeedMore>(parseRequestHead(bytes));
}

std::string malformedReason(absl::string_view bytes) {
  auto parsed = parseRequestHead(bytes);
  const auto* bad = std::get_if<Malformed>(&parsed);
  return bad != nullptr ? bad->reason : "(not malformed)";
}

TEST_CASE("a complete GET head parses into method, path, query and headers") {
  auto parsed = parseRequestHead(
      "GET /metrics?name=x HTTP/1.1\r\nHost: node1:15020\r\nAccept:  text/plain \r\n\r\n");
  const auto* request = std::get_if<Request>(&parsed);
  REQUIRE(request != nullptr);
  CHECK(request->method == "GET");
  CHECK(request->target == "/metrics?name=x");
  CHECK(request->path == "/metrics");
  CHECK(request->query == "name=x");
  CHECK(request->minor_version == 1);
  CHECK(request->header("host") == "node1:15020");
  CHECK(request->header("accept") == "text/plain");
  CHECK(request->header("missing").empty());
}

TEST_CASE("bare LF line endings and HTTP/1.0 are accepted") {
  auto parsed = parseRequestHead("GET / HTTP/1.0\nHost: x\n\n");
  const auto* request = std::get_if<Request>(&parsed);
  REQUIRE(request != nullptr);
  CHECK(request->minor_version == 0);
  CHECK(request->path == "/");
}

TEST_CASE("a head without its blank line needs more bytes") {
  CHECK(needsMore(""));
  CHECK(needsMore("GET / HTTP/1.1"));
  CHECK(needsMore("GET / HTTP/1.1\r\nHost: x\r\n"));
  CHECK(needsMore("GET / HTTP/1.1\r\nHost: x\r\n\r"));
}

TEST_CASE("malformed heads are rejected with a reason") {
  CHECK(malformedReason("\r\n") == "empty request");
  CHECK(malformedReason("GET /\r\n\r\n") == "request line is not \"METHOD /target HTTP/1.x\"");
  CHECK(malformedReason("GET  / HTTP/1.1\r\n\r\n") ==
        "request line is not \"METHOD /target HTTP/1.x\"");
  CHECK(malformedReason("G(T / HTTP/1.1\r\n\r\n") == "bad method");
  CHECK(malformedReason("GET http://x/ HTTP/1.1\r\n\r\n") == "request target must start with '/'");
  CHECK(malformedReason("GET /a\x01 HTTP/1.1\r\n\r\n") == "bad character in request target");
  CHECK(malformedReason("GET / HTTP/2.0\r\n\r\n") == "not HTTP/1.0 or HTTP/1.1");
  CHECK(malformedReason("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") ==
        "request target must start with '/'");
  CHECK(malformedReason("GET / HTTP/1.1\r\nno colon\r\n\r\n") == "bad header line");
  CHECK(malformedReason("GET / HTTP/1.1\r\n: empty name\r\n\r\n") == "bad header line");
  CHECK(malformedReason("GET / HTTP/1.1\r\nX: a\x01z\r\n\r\n") == "bad character in header value");
}

TEST_CASE("bytes after the head are not part of it") {
  auto parsed = parseRequestHead("GET /x HTTP/1.1\r\n\r\nGET /y HTTP/1.1\r\n\r\n");
  const auto* request = std::get_if<Request>(&parsed);
  REQUIRE(request != nullptr);
  CHECK(request->path == "/x");
  CHECK(request->headers.empty());
}

}  // namespace
}  // namespace weft::common::http
