#include "common/net/address.h"

#include <arpa/inet.h>

#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace weft::common {
namespace {

constexpr std::array<uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

}  // namespace

absl::StatusOr<IpAddress> IpAddress::Parse(absl::string_view text) {
  const std::string s(text);
  in_addr v4;
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    return FromV4(v4);
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    return FromV6(v6);
  }
  return absl::InvalidArgumentError(absl::StrCat("not an IP address: \"", text, "\""));
}

IpAddress IpAddress::FromV4(in_addr addr) {
  IpAddress a;
  std::memcpy(a.bytes_.data(), kV4MappedPrefix.data(), kV4MappedPrefix.size());
  std::memcpy(a.bytes_.data() + 12, &addr.s_addr, 4);
  return a;
}

IpAddress IpAddress::FromV6(const in6_addr& addr) {
  IpAddress a;
  std::memcpy(a.bytes_.data(), addr.s6_addr, 16);
  return a;
}

bool IpAddress::isV4() const {
  return std::memcmp(bytes_.data(), kV4MappedPrefix.data(), kV4MappedPrefix.size()) == 0;
}

uint32_t IpAddress::v4NetworkOrder() const {
  uint32_t v;
  std::memcpy(&v, bytes_.data() + 12, 4);
  return v;
}

std::string IpAddress::toString() const {
  char buf[INET6_ADDRSTRLEN];
  if (isV4()) {
    in_addr v4{v4NetworkOrder()};
    inet_ntop(AF_INET, &v4, buf, sizeof(buf));
  } else {
    inet_ntop(AF_INET6, bytes_.data(), buf, sizeof(buf));
  }
  return buf;
}

absl::StatusOr<SocketAddress> SocketAddress::FromSockaddr(const sockaddr* sa, socklen_t len) {
  if (sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    return SocketAddress{IpAddress::FromV4(in->sin_addr), ntohs(in->sin_port)};
  }
  if (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    return SocketAddress{IpAddress::FromV6(in6->sin6_addr), ntohs(in6->sin6_port)};
  }
  return absl::InvalidArgumentError(absl::StrCat("unsupported address family ", sa->sa_family));
}

absl::StatusOr<SocketAddress> SocketAddress::Parse(absl::string_view text) {
  absl::StatusOr<HostPort> parts = HostPort::Parse(text);
  absl::StatusOr<IpAddress> ip =
      parts.ok() ? IpAddress::Parse(parts->host) : absl::StatusOr<IpAddress>(parts.status());
  if (!ip.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not an IP:port (e.g. 0.0.0.0:15014 or [::]:15014)"));
  }
  return SocketAddress{*ip, parts->port};
}

absl::StatusOr<HostPort> HostPort::Parse(absl::string_view text) {
  const size_t colon = text.rfind(':');
  absl::string_view host = text.substr(0, colon == absl::string_view::npos ? 0 : colon);
  const bool bracketed = absl::ConsumePrefix(&host, "[") && absl::ConsumeSuffix(&host, "]");
  uint32_t port = 0;
  if (colon == absl::string_view::npos || host.empty() ||
      (host.find(':') != absl::string_view::npos && !bracketed) ||
      !absl::SimpleAtoi(text.substr(colon + 1), &port) || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not a host:port (e.g. weft-operator:15012)"));
  }
  return HostPort{std::string(host), static_cast<uint16_t>(port)};
}

socklen_t SocketAddress::toSockaddr(sockaddr_storage* out) const {
  std::memset(out, 0, sizeof(*out));
  if (ip.isV4()) {
    auto* in = reinterpret_cast<sockaddr_in*>(out);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    in->sin_addr.s_addr = ip.v4NetworkOrder();
    return sizeof(sockaddr_in);
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(out);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(port);
  std::memcpy(in6->sin6_addr.s6_addr, ip.bytes().data(), 16);
  return sizeof(sockaddr_in6);
}

std::string SocketAddress::toString() const {
  if (ip.isV4()) {
    return absl::StrCat(ip.toString(), ":", port);
  }
  return absl::StrCat("[", ip.toString(), "]:", port);
}

}  // namespace weft::common
