#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace weft::common {

// An IP address in one form for both families: IPv4 is kept v4-mapped (::ffff:a.b.c.d),
// the same layout the BPF maps use, so kernel and user space compare bytes directly.
class IpAddress {
 public:
  IpAddress() = default;
  static absl::StatusOr<IpAddress> Parse(absl::string_view text);
  static IpAddress FromV4(in_addr addr);
  static IpAddress FromV6(const in6_addr& addr);  // v4-mapped input stays v4

  bool isV4() const;
  // The IPv4 address in network byte order; only meaningful when isV4().
  uint32_t v4NetworkOrder() const;
  const std::array<uint8_t, 16>& bytes() const { return bytes_; }
  std::string toString() const;

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const IpAddress& a) {
    return H::combine(std::move(h), a.bytes_);
  }

 private:
  std::array<uint8_t, 16> bytes_{};
};

// An IP address and a port (host byte order).
struct SocketAddress {
  IpAddress ip;
  uint16_t port = 0;

  static absl::StatusOr<SocketAddress> FromSockaddr(const sockaddr* sa, socklen_t len);
  // "10.0.0.1:80" or "[fd00::1]:80", as toString() prints them.
  static absl::StatusOr<SocketAddress> Parse(absl::string_view text);
  // Fills `out` (sockaddr_in for IPv4, sockaddr_in6 otherwise) and returns its length.
  socklen_t toSockaddr(sockaddr_storage* out) const;
  std::string toString() const;  // "10.0.0.1:80" or "[fd00::1]:80"

  friend bool operator==(const SocketAddress&, const SocketAddress&) = default;
  friend auto operator<=>(const SocketAddress&, const SocketAddress&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const SocketAddress& a) {
    return H::combine(std::move(h), a.ip, a.port);
  }
};

// A server named by DNS name or IP and a port, as a flag gives it: "weft-operator:15012",
// "10.0.0.1:15012", "[fd00::1]:15012" (brackets required around an IPv6 address).
struct HostPort {
  std::string host;  // without brackets
  uint16_t port = 0;

  static absl::StatusOr<HostPort> Parse(absl::string_view text);
};

}  // namespace weft::common
