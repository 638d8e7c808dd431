#pragma once

// Conversions between Asio endpoints and the project's SocketAddress (v4-mapped form).

#include <asio/ip/tcp.hpp>
#include <cstring>

#include "common/net/address.h"

namespace weft::agent::proxy {

inline asio::ip::tcp::endpoint toEndpoint(const common::SocketAddress& address) {
  asio::ip::tcp::endpoint endpoint;
  sockaddr_storage storage;
  const socklen_t len = address.toSockaddr(&storage);
  std::memcpy(endpoint.data(), &storage, len);
  endpoint.resize(len);
  return endpoint;
}

// An unspecified address when the endpoint is neither IPv4 nor IPv6 (never for TCP).
inline common::SocketAddress toSocketAddress(const asio::ip::tcp::endpoint& endpoint) {
  auto address = common::SocketAddress::FromSockaddr(endpoint.data(), endpoint.size());
  return address.ok() ? *address : common::SocketAddress{};
}

}  // namespace weft::agent::proxy
