#include "common/identity/spiffe_id.h"

#include <catch2/catch.hpp>
#include <string>

#include "absl/hash/hash.h"

namespace weft::common::identity {
namespace {

std::string errorOf(const std::string& text) {
  auto parsed = SpiffeId::parse(text);
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument);
  return std::string(parsed.status().message());
}

TEST_CASE("a workload SPIFFE ID parses into its parts and prints back the same") {
  auto parsed = SpiffeId::parse("spiffe://cluster.local/ns/default/sa/web-frontend");
  REQUIRE(parsed.ok());
  CHECK(parsed->trust_domain == "cluster.local");
  CHECK(parsed->namespace_name == "default");
  CHECK(parsed->service_account == "web-frontend");
  CHECK(parsed->toString() == "spiffe://cluster.local/ns/default/sa/web-frontend");
}

TEST_CASE("trust domains may use digits, dots, dashes and underscores") {
  CHECK(SpiffeId::parse("spiffe://prod_1.example-corp.io/ns/a1/sa/b.c-2").ok());
}

TEST_CASE("the scheme must be exactly spiffe://") {
  CHECK_THAT(errorOf("https://example.org/ns/a/sa/b"),
             Catch::Contains("does not start with \"spiffe://\""));
  CHECK_THAT(errorOf("SPIFFE://example.org/ns/a/sa/b"), Catch::Contains("must be lowercase"));
  CHECK_THAT(errorOf("spiffe:/example.org/ns/a/sa/b"), Catch::Contains("spiffe://"));
  CHECK_THAT(errorOf(""), Catch::Contains("does not start with"));
}

TEST_CASE("the trust domain is lowercase and non-empty") {
  CHECK_THAT(errorOf("spiffe://Example.org/ns/a/sa/b"), Catch::Contains("lowercase letters"));
  CHECK_THAT(errorOf("spiffe:///ns/a/sa/b"), Catch::Contains("trust domain is empty"));
  CHECK_THAT(errorOf("spiffe://exa mple/ns/a/sa/b"), Catch::Contains("lowercase letters"));
  CHECK_THAT(errorOf("spiffe://" + std::string(256, 'a') + "/ns/a/sa/b"),
             Catch::Contains("longer than 255"));
  CHECK(SpiffeId::parse("spiffe://" + std::string(255, 'a') + "/ns/a/sa/b").ok());
}

TEST_CASE("no port, userinfo, query or fragment") {
  CHECK_THAT(errorOf("spiffe://example.org:443/ns/a/sa/b"), Catch::Contains("port"));
  CHECK_THAT(errorOf("spiffe://user@example.org/ns/a/sa/b"), Catch::Contains("userinfo"));
  CHECK_THAT(errorOf("spiffe://example.org/ns/a/sa/b?x=1"), Catch::Contains("query"));
  CHECK_THAT(errorOf("spiffe://example.org/ns/a/sa/b#frag"), Catch::Contains("fragment"));
}

TEST_CASE("the path is exactly /ns/<namespace>/sa/<service-account>") {
  for (const char* bad :
       {"spiffe://example.org", "spiffe://example.org/", "spiffe://example.org/ns/a",
        "spiffe://example.org/ns/a/sa/b/", "spiffe://example.org/ns/a/sa/b/c",
        "spiffe://example.org//ns/a/sa/b", "spiffe://example.org/sa/b/ns/a",
        "spiffe://example.org/namespace/a/serviceaccount/b", "spiffe://example.org/ns//sa/b"}) {
    INFO(bad);
    auto parsed = SpiffeId::parse(bad);
    CHECK_FALSE(parsed.ok());
    CHECK_THAT(std::string(parsed.status().message()),
               Catch::Contains("path") || Catch::Contains("namespace"));
  }
}

TEST_CASE("namespace and service account follow Kubernetes name rules") {
  CHECK_THAT(errorOf("spiffe://example.org/ns/Default/sa/b"), Catch::Contains("namespace"));
  CHECK_THAT(errorOf("spiffe://example.org/ns/-a/sa/b"), Catch::Contains("namespace"));
  CHECK_THAT(errorOf("spiffe://example.org/ns/a.b/sa/b"), Catch::Contains("namespace"));
  CHECK_THAT(errorOf("spiffe://example.org/ns/a/sa/b_c"), Catch::Contains("service account"));
  CHECK_THAT(errorOf("spiffe://example.org/ns/a/sa/b..c"), Catch::Contains("service account"));
  CHECK_THAT(errorOf("spiffe://example.org/ns/a/sa/.."), Catch::Contains("service account"));
  CHECK_THAT(errorOf("spiffe://example.org/ns/a/sa/b%2Fc"), Catch::Contains("percent"));
  CHECK_THAT(errorOf("spiffe://example.org/ns/" + std::string(64, 'a') + "/sa/b"),
             Catch::Contains("longer than 63"));
  CHECK(SpiffeId::parse("spiffe://example.org/ns/" + std::string(63, 'a') + "/sa/b").ok());
  CHECK_THAT(errorOf("spiffe://example.org/ns/a/sa/" + std::string(254, 'b')),
             Catch::Contains("longer than 253"));
}

TEST_CASE("inputs over 2048 bytes are refused and error messages stay short") {
  const std::string huge = "spiffe://example.org/ns/a/sa/" + std::string(3000, 'b');
  const std::string message = errorOf(huge);
  CHECK_THAT(message, Catch::Contains("longer than 2048"));
  CHECK(message.size() < 300);
}

TEST_CASE("control bytes are escaped in error messages") {
  CHECK_THAT(errorOf(std::string("spiffe://exa\nmple/ns/a/sa/b\0", 29)), Catch::Contains("\\n"));
}

TEST_CASE("fromParts validates like parse") {
  auto made = SpiffeId::fromParts("example.org", "prod", "api");
  REQUIRE(made.ok());
  CHECK(made->toString() == "spiffe://example.org/ns/prod/sa/api");
  CHECK_FALSE(SpiffeId::fromParts("example.org", "prod/x", "api").ok());
  CHECK_FALSE(SpiffeId::fromParts("Example.org", "prod", "api").ok());
}

TEST_CASE("equal IDs compare and hash equal") {
  const SpiffeId a = *SpiffeId::parse("spiffe://example.org/ns/a/sa/b");
  const SpiffeId b = *SpiffeId::parse("spiffe://example.org/ns/a/sa/b");
  const SpiffeId c = *SpiffeId::parse("spiffe://example.org/ns/a/sa/c");
  CHECK(a == b);
  CHECK_FALSE(a == c);
  CHECK(absl::Hash<SpiffeId>()(a) == absl::Hash<SpiffeId>()(b));
}

}  // namespace
}  // namespace weft::common::identity
