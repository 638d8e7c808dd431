#include "agent/capture/kernel_fast_path.h"

#include <bpf/bpf.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "agent/capture/abi.h"
#include "common/util/status_macros.h"

namespace weft::agent::capture {
namespace {

// TCP_INFO and SIOCOUTQ race with arriving ACKs; a few re-reads find a quiet moment.
constexpr int kStableReadAttempts = 32;

std::string errnoText(int err) {
  return std::error_code(err, std::generic_category()).message();
}

using AddressGetter = int (*)(int, sockaddr*, socklen_t*);

absl::StatusOr<common::SocketAddress> address(int fd, AddressGetter get, const char* what) {
  sockaddr_storage storage{};
  socklen_t len = sizeof(storage);
  if (get(fd, reinterpret_cast<sockaddr*>(&storage), &len) != 0) {
    return absl::InternalError(absl::StrCat(what, " of fd ", fd, ": ", errnoText(errno)));
  }
  return common::SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&storage), len);
}

// The socket's own key, and its peer's (the same 4-tuple seen from the other end).
struct Keys {
  weft_sock_key self{};
  weft_sock_key peer{};
};

absl::StatusOr<Keys> keysOf(int fd) {
  ASSIGN_OR_RETURN(common::SocketAddress local, address(fd, ::getsockname, "getsockname"));
  ASSIGN_OR_RETURN(common::SocketAddress remote, address(fd, ::getpeername, "getpeername"));
  return Keys{toSockKey(local, remote), toSockKey(remote, local)};
}

weft_expect_key toExpectKey(const common::SocketAddress& endpoint, uint16_t local_port) {
  weft_expect_key key{};
  key.local_ip = toWeftAddr(endpoint.ip);
  key.local_port = endpoint.port;
  key.remote_port = local_port;
  return key;
}

// TCP_ESTABLISHED of include/net/tcp_states.h (netinet/tcp.h clashes with linux/tcp.h).
constexpr uint8_t kTcpEstablished = 1;

// A sockhash takes only established sockets: one whose peer already sent its FIN (or that
// was reset) stays with the user-space relay.
absl::Status checkEstablished(int fd) {
  tcp_info info{};
  socklen_t len = sizeof(info);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) {
    return absl::InternalError(absl::StrCat("TCP_INFO of fd ", fd, ": ", errnoText(errno)));
  }
  if (info.tcpi_state != kTcpEstablished) {
    return absl::FailedPreconditionError(
        absl::StrCat("fd ", fd, " is no longer established (TCP state ",
                     static_cast<int>(info.tcpi_state), "): its peer finished or went away"));
  }
  return absl::OkStatus();
}

// Everything ever written into the socket: bytes_acked + SIOCOUTQ, read while no ACK
// arrived in between. (Includes the SYN of an active open; callers subtract a base.)
absl::StatusOr<uint64_t> writtenTotal(int fd) {
  for (int i = 0; i < kStableReadAttempts; ++i) {
    tcp_info before{}, after{};
    socklen_t len = sizeof(before);
    int outq = 0;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &before, &len) != 0 ||
        ioctl(fd, SIOCOUTQ, &outq) != 0 ||
        getsockopt(fd, IPPROTO_TCP, TCP_INFO, &after, &len) != 0) {
      return absl::InternalError(absl::StrCat("byte count of fd ", fd, ": ", errnoText(errno)));
    }
    if (before.tcpi_bytes_acked == after.tcpi_bytes_acked) {
      return after.tcpi_bytes_acked + static_cast<uint64_t>(outq);
    }
  }
  return absl::UnavailableError(absl::StrCat("fd ", fd, " never held still for a byte count"));
}

class KernelFastPathConnection : public FastPathConnection {
 public:
  struct Side {
    int fd = -1;
    Keys keys;                  // the agent socket's key; peer = the pod socket's key
    uint64_t written_base = 0;  // writtenTotal() at pairing
  };

  KernelFastPathConnection(FastPathMaps maps, Side client, Side upstream)
      : maps_(maps), client_(client), upstream_(upstream) {}

  ~KernelFastPathConnection() override {
    // Unpair first, so no send is redirected toward a socket about to leave the sockhash.
    for (const Side* side : {&client_, &upstream_}) {
      bpf_map_delete_elem(maps_.pairs, &side->keys.peer);
    }
    for (const Side* side : {&client_, &upstream_}) {
      bpf_map_delete_elem(maps_.sockets, &side->keys.self);
    }
  }

  absl::Status forwarded(AgentSocket into, uint64_t total) override {
    // The pod facing the opposite socket is the sender whose stream `into` carries on.
    const Side& target = side(into);
    const Side& sender_side = into == AgentSocket::kClient ? upstream_ : client_;
    const weft_msg_pair pair{target.keys.self, total};
    if (bpf_map_update_elem(maps_.pairs, &sender_side.keys.peer, &pair, BPF_ANY) != 0) {
      return absl::UnavailableError(absl::StrCat("fast path progress: ", errnoText(errno)));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> bytesInto(AgentSocket into) override {
    const Side& s = side(into);
    ASSIGN_OR_RETURN(uint64_t total, writtenTotal(s.fd));
    return total - s.written_base;
  }

 private:
  const Side& side(AgentSocket which) const {
    return which == AgentSocket::kClient ? client_ : upstream_;
  }

  FastPathMaps maps_;
  Side client_;
  Side upstream_;
};

}  // namespace

absl::Status KernelFastPath::expect(const common::SocketAddress& endpoint, uint16_t local_port) {
  const weft_expect_key key = toExpectKey(endpoint, local_port);
  const uint8_t present = 1;
  if (bpf_map_update_elem(maps_.expect, &key, &present, BPF_ANY) != 0) {
    return absl::UnavailableError(
        absl::StrCat("announcing the connection to ", endpoint.toString(), ": ", errnoText(errno)));
  }
  return absl::OkStatus();
}

void KernelFastPath::forget(const common::SocketAddress& endpoint, uint16_t local_port) {
  const weft_expect_key key = toExpectKey(endpoint, local_port);
  bpf_map_delete_elem(maps_.expect, &key);  // usually sockops already took it
}

absl::Status KernelFastPath::release(int client_fd) {
  ASSIGN_OR_RETURN(Keys keys, keysOf(client_fd));
  // Out of the sockhash, the socket gets its plain TCP send path back; then its flow.
  if (bpf_map_delete_elem(maps_.sockets, &keys.peer) != 0 && errno != ENOENT) {
    return absl::InternalError(absl::StrCat("taking the client of fd ", client_fd,
                                            " out of the fast path: ", errnoText(errno)));
  }
  bpf_map_delete_elem(maps_.flows, &keys.peer);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<FastPathConnection>> KernelFastPath::pair(int client_fd,
                                                                         int upstream_fd) {
  KernelFastPathConnection::Side client;
  KernelFastPathConnection::Side upstream;
  client.fd = client_fd;
  upstream.fd = upstream_fd;
  for (auto* s : {&client, &upstream}) {
    RETURN_IF_ERROR(checkEstablished(s->fd));
    ASSIGN_OR_RETURN(s->keys, keysOf(s->fd));
    ASSIGN_OR_RETURN(s->written_base, writtenTotal(s->fd));
  }
  for (auto* s : {&client, &upstream}) {
    const uint64_t fd = static_cast<uint64_t>(s->fd);
    if (bpf_map_update_elem(maps_.sockets, &s->keys.self, &fd, BPF_NOEXIST) != 0) {
      const int err = errno;
      bpf_map_delete_elem(maps_.sockets, &client.keys.self);
      return (err == ENOSPC || err == E2BIG)
                 ? absl::ResourceExhaustedError("the fast-path sockhash is full")
                 : absl::InternalError(
                       absl::StrCat("adding fd ", s->fd, " to the fast path: ", errnoText(err)));
    }
  }
  // The connection object owns the entries from here on: its destructor removes them.
  auto connection = std::make_unique<KernelFastPathConnection>(maps_, client, upstream);
  RETURN_IF_ERROR(connection->forwarded(AgentSocket::kClient, 0));
  RETURN_IF_ERROR(connection->forwarded(AgentSocket::kUpstream, 0));
  return connection;
}

}  // namespace weft::agent::capture
