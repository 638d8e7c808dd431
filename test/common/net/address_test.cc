#include "common/net/address.h"

#include <catch2/catch.hpp>

using weft::common::IpAddress;
using weft::common::SocketAddress;

TEST_CASE("IPv4 addresses are kept v4-mapped and print as IPv4") {
  auto a = IpAddress::Parse("10.96.0.10");
  REQUIRE(a.ok());
  CHECK(a->isV4());
  CHECK(a->bytes()[10] == 0xff);
  CHECK(a->bytes()[12] == 10);
  CHECK(a->toString() == "10.96.0.10");
}

TEST_CASE("IPv6 addresses round-trip and v4-mapped IPv6 input counts as IPv4") {
  auto v6 = IpAddress::Parse("fd00::1");
  REQUIRE(v6.ok());
  CHECK_FALSE(v6->isV4());
  CHECK(v6->toString() == "fd00::1");
  auto mapped = IpAddress::Parse("::ffff:10.0.0.1");
  REQUIRE(mapped.ok());
  CHECK(mapped->isV4());
  CHECK(*mapped == *IpAddress::Parse("10.0.0.1"));
}

TEST_CASE("garbage is rejected with the offending text in the message") {
  auto bad = IpAddress::Parse("10.96.0.300");
  REQUIRE_FALSE(bad.ok());
  CHECK(std::string(bad.status().message()).find("10.96.0.300") != std::string::npos);
}

TEST_CASE("socket addresses convert to and from sockaddr") {
  SocketAddress in{*IpAddress::Parse("10.244.1.5"), 8080};
  sockaddr_storage ss;
  socklen_t len = in.toSockaddr(&ss);
  CHECK(len == sizeof(sockaddr_in));
  auto out = SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
  REQUIRE(out.ok());
  CHECK(*out == in);
  CHECK(out->toString() == "10.244.1.5:8080");
  SocketAddress v6{*IpAddress::Parse("fd00::5"), 443};
  CHECK(v6.toString() == "[fd00::5]:443");
}

namespace weft::common {
namespace {

TEST_CASE("a socket address parses as toString prints it") {
  for (const char* text : {"10.0.0.1:80", "[fd00::1]:15012", "0.0.0.0:0"}) {
    auto parsed = SocketAddress::Parse(text);
    REQUIRE(parsed.ok());
    CHECK(parsed->toString() == text);
  }
  for (const char* text : {"10.0.0.1", "10.0.0.1:", "fd00::1:80", "host:80", "1.2.3.4:65536"}) {
    CHECK_FALSE(SocketAddress::Parse(text).ok());
  }
  CHECK(SocketAddress::Parse("host:80").status().message() ==
        "\"host:80\" is not an IP:port (e.g. 0.0.0.0:15014 or [::]:15014)");
}

TEST_CASE("a host:port names a server by DNS name or address") {
  auto name = HostPort::Parse("weft-operator.weft-system:15012");
  REQUIRE(name.ok());
  CHECK(name->host == "weft-operator.weft-system");
  CHECK(name->port == 15012);
  auto v6 = HostPort::Parse("[fd00::1]:15012");
  REQUIRE(v6.ok());
  CHECK(v6->host == "fd00::1");
  for (const char* text :
       {"weft-operator", ":15012", "fd00::1:15012", "host:", "host:x", "host:70000", "[]:1"}) {
    INFO(text);
    CHECK_FALSE(HostPort::Parse(text).ok());
  }
  CHECK(HostPort::Parse("nope").status().message() ==
        "\"nope\" is not a host:port (e.g. weft-operator:15012)");
}

}  // namespace
}  // namespace weft::common
