#pragma once

// The project's addresses on Asio: conversions between Asio endpoints and SocketAddress
// (v4-mapped form), and the one way to open a listening TCP acceptor.

#include <sys/socket.h>

#include <asio/ip/tcp.hpp>
#include <asio/ip/v6_only.hpp>
#include <cstring>

#include "common/net/address.h"

namespace weft::common {

inline asio::ip::tcp::endpoint toEndpoint(const SocketAddress& address) {
  asio::ip::tcp::endpoint endpoint;
  sockaddr_storage storage;
  const socklen_t len = address.toSockaddr(&storage);
  std::memcpy(endpoint.data(), &storage, len);
  endpoint.resize(len);
  return endpoint;
}

// An unspecified address when the endpoint is neither IPv4 nor IPv6 (never for TCP).
inline SocketAddress toSocketAddress(const asio::ip::tcp::endpoint& endpoint) {
  auto address = SocketAddress::FromSockaddr(endpoint.data(), endpoint.size());
  return address.ok() ? *address : SocketAddress{};
}

// Opens, binds (SO_REUSEADDR; SO_REUSEPORT too when asked; IPv6 sockets v6-only) and listens
// on `address`. Returns the first error; the acceptor is closed then.
inline asio::error_code openListener(asio::ip::tcp::acceptor& acceptor,
                                     const SocketAddress& address, bool reuse_port) {
  using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
  const asio::ip::tcp::endpoint endpoint = toEndpoint(address);
  asio::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) {
    acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  }
  if (!ec && reuse_port) {
    acceptor.set_option(ReusePort(true), ec);
  }
  if (!ec && !address.ip.isV4()) {
    acceptor.set_option(asio::ip::v6_only(true), ec);
  }
  if (!ec) {
    acceptor.bind(endpoint, ec);
  }
  if (!ec) {
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    asio::error_code ignored;
    acceptor.close(ignored);
  }
  return ec;
}

}  // namespace weft::common
