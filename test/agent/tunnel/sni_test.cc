#include "agent/tunnel/sni.h"

#include <catch2/catch.hpp>
#include <string>

#include "agent/tunnel/tunnel_server.h"
#include "test/common/identity/test_pki.h"

namespace weft::agent::tunnel {
namespace {

using common::identity::SpiffeId;
using common::identity::testing::id;
using common::identity::testing::take;

TEST_CASE("a destination identity travels in SNI as <sa>.<ns>.<td>.weft and back") {
  const SpiffeId db = id("spiffe://cluster.local/ns/prod/sa/db.reader");
  const std::string name = take(encodeServerName(db));
  CHECK(name == "db.reader.prod.cluster.local.weft");
  CHECK(take(decodeServerName(name, "cluster.local")) == db);
}

TEST_CASE("a server name is decoded only against the server's trust domain") {
  CHECK_FALSE(decodeServerName("db.prod.other.org.weft", "cluster.local").ok());
  CHECK_FALSE(decodeServerName("prod.cluster.local.weft", "cluster.local").ok());  // no sa
  CHECK_FALSE(decodeServerName("db.prod.cluster.local", "cluster.local").ok());
  CHECK_FALSE(decodeServerName("DB.prod.cluster.local.weft", "cluster.local").ok());
}

TEST_CASE("identities SNI cannot carry are refused with the reason") {
  auto underscore = encodeServerName(id("spiffe://my_domain.org/ns/prod/sa/db"));
  CHECK(underscore.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(underscore.status().message()).find("cannot be a TLS server name") !=
        std::string::npos);
  auto long_name = encodeServerName(id("spiffe://example.org/ns/prod/sa/" + std::string(60, 'a') +
                                       "." + std::string(60, 'b') + "." + std::string(60, 'c') +
                                       "." + std::string(60, 'd')));
  CHECK(std::string(long_name.status().message()).find("too long") != std::string::npos);
}

TEST_CASE("a CONNECT target is an IP literal and a port") {
  CHECK(take(parseTarget("10.0.0.1:8080")).toString() == "10.0.0.1:8080");
  CHECK(take(parseTarget("[fd00::1]:443")).toString() == "[fd00::1]:443");
  CHECK_FALSE(parseTarget("fd00::1:443").ok());
  CHECK_FALSE(parseTarget("db.prod:80").ok());
  CHECK_FALSE(parseTarget("10.0.0.1:0").ok());
  CHECK_FALSE(parseTarget("10.0.0.1:65536").ok());
  CHECK_FALSE(parseTarget("10.0.0.1").ok());
}

}  // namespace
}  // namespace weft::agent::tunnel
