#pragma once

// C++ view of bpf/include/weft_abi.h: size checks (both compilers must agree on every
// layout) and conversions between the kernel's structs and the agent's address types.

#include <cstring>

#include "common/net/address.h"
#include "weft_abi.h"

namespace weft::agent::capture {

static_assert(sizeof(weft_addr) == 16);
static_assert(sizeof(weft_service_key) == 20);
static_assert(sizeof(weft_service_value) == 4);
static_assert(sizeof(weft_orig_dst) == 32);
static_assert(sizeof(weft_socket) == 72);
static_assert(sizeof(weft_sock_key) == 40);
static_assert(sizeof(weft_close_event) == 72);
static_assert(sizeof(weft_msg_flow) == 16);
static_assert(sizeof(weft_msg_pair) == 48);
static_assert(sizeof(weft_expect_key) == 20);
static_assert(sizeof(weft_strict_key) == 20);
static_assert(sizeof(common::IpAddress) == sizeof(weft_addr));

inline weft_addr toWeftAddr(const common::IpAddress& ip) {
  weft_addr out;
  std::memcpy(out.bytes, ip.bytes().data(), sizeof(out.bytes));
  return out;
}

inline common::IpAddress fromWeftAddr(const weft_addr& a) {
  in6_addr in6;
  std::memcpy(in6.s6_addr, a.bytes, sizeof(a.bytes));
  return common::IpAddress::FromV6(in6);
}

inline weft_service_key toServiceKey(const common::SocketAddress& vip) {
  weft_service_key key{};
  key.ip = toWeftAddr(vip.ip);
  key.port = vip.port;
  return key;
}

inline weft_strict_key toStrictKey(const common::IpAddress& pod, uint16_t port) {
  weft_strict_key key{};
  key.ip = toWeftAddr(pod);
  key.port = port;
  return key;
}

// A socket's key as the socket itself sees its 4-tuple.
inline weft_sock_key toSockKey(const common::SocketAddress& local,
                               const common::SocketAddress& remote) {
  weft_sock_key key{};
  key.local_ip = toWeftAddr(local.ip);
  key.remote_ip = toWeftAddr(remote.ip);
  key.local_port = local.port;
  key.remote_port = remote.port;
  return key;
}

// Reason-code names, in enum weft_stat order, for metrics and logs.
inline constexpr const char* kStatNames[] = {
#define WEFT_STAT_NAME_(name, text) text,
    WEFT_STATS(WEFT_STAT_NAME_)
#undef WEFT_STAT_NAME_
};
static_assert(sizeof(kStatNames) / sizeof(kStatNames[0]) == WEFT_STAT_MAX);

}  // namespace weft::agent::capture
