#include "agent/capture/kernel_splicer.h"

#include <bpf/bpf.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "agent/capture/abi.h"
#include "agent/capture/splice_accounting.h"
#include "common/util/status_macros.h"

namespace weft::agent::capture {
namespace {

// Counters race with arriving ACKs and data; a few re-reads find a quiet moment.
constexpr int kStableReadAttempts = 32;

// TCP_ESTABLISHED of include/net/tcp_states.h (netinet/tcp.h clashes with linux/tcp.h).
constexpr uint8_t kTcpEstablished = 1;

std::string errnoText(int err) {
  return std::error_code(err, std::generic_category()).message();
}

struct TcpCounters {
  uint64_t bytes_received = 0;
  uint64_t bytes_acked = 0;
  uint8_t state = 0;
};

absl::StatusOr<TcpCounters> readTcpInfo(int fd) {
  tcp_info info{};
  socklen_t len = sizeof(info);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("TCP_INFO on fd ", fd, ": ", errnoText(errno)));
  }
  return TcpCounters{info.tcpi_bytes_received, info.tcpi_bytes_acked, info.tcpi_state};
}

absl::StatusOr<uint64_t> readQueue(int fd, unsigned long request) {
  int bytes = 0;
  if (ioctl(fd, request, &bytes) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("queue size of fd ", fd, ": ", errnoText(errno)));
  }
  return static_cast<uint64_t>(bytes);
}

absl::StatusOr<uint64_t> socketCookie(int fd) {
  uint64_t cookie = 0;
  socklen_t len = sizeof(cookie);
  if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("SO_COOKIE on fd ", fd, ": ", errnoText(errno)));
  }
  return cookie;
}

// bytes_acked + SIOCOUTQ: everything ever written into the socket (plus its SYN when it
// connected actively). Exact once no ACK arrived between the reads.
absl::StatusOr<uint64_t> sentTotal(int fd) {
  for (int i = 0; i < kStableReadAttempts; ++i) {
    ASSIGN_OR_RETURN(TcpCounters before, readTcpInfo(fd));
    ASSIGN_OR_RETURN(uint64_t outq, readQueue(fd, SIOCOUTQ));
    ASSIGN_OR_RETURN(TcpCounters after, readTcpInfo(fd));
    if (before.bytes_acked == after.bytes_acked) {
      return after.bytes_acked + outq;
    }
  }
  return absl::UnavailableError(absl::StrCat("fd ", fd, " never held still for a byte count"));
}

// Bytes the application already read: the verdict program only sees what is still queued,
// and an skb read halfway would be redirected whole.
absl::StatusOr<uint64_t> consumedTotal(int fd) {
  for (int i = 0; i < kStableReadAttempts; ++i) {
    ASSIGN_OR_RETURN(TcpCounters before, readTcpInfo(fd));
    ASSIGN_OR_RETURN(uint64_t inq, readQueue(fd, SIOCINQ));
    ASSIGN_OR_RETURN(TcpCounters after, readTcpInfo(fd));
    if (before.bytes_received == after.bytes_received) {
      return after.bytes_received - inq;
    }
  }
  return absl::UnavailableError(absl::StrCat("fd ", fd, " never held still for a byte count"));
}

absl::Status checkSpliceable(int fd, absl::string_view role) {
  ASSIGN_OR_RETURN(TcpCounters tcp, readTcpInfo(fd));
  if (tcp.state != kTcpEstablished) {
    return absl::FailedPreconditionError(
        absl::StrCat(role, " fd ", fd, " is not an established TCP socket (state ",
                     static_cast<int>(tcp.state), "); relay it in user space"));
  }
  ASSIGN_OR_RETURN(uint64_t consumed, consumedTotal(fd));
  if (consumed != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(role, " fd ", fd, ": ", consumed,
                     " bytes were already read from it; splice needs untouched receive queues"));
  }
  return absl::OkStatus();
}

class KernelSplicedPair : public SplicedPair {
 public:
  struct End {
    int fd = -1;
    uint64_t cookie = 0;
    uint64_t sent_base = 0;
  };

  KernelSplicedPair(int sockhash_fd, int state_fd, End downstream, End upstream)
      : sockhash_fd_(sockhash_fd), state_fd_(state_fd), down_(downstream), up_(upstream) {}

  ~KernelSplicedPair() override {
    // Out of the sockhash first, so no verdict runs against a missing state entry.
    for (const End* end : {&down_, &up_}) {
      bpf_map_delete_elem(sockhash_fd_, &end->cookie);
    }
    for (const End* end : {&down_, &up_}) {
      bpf_map_delete_elem(state_fd_, &end->cookie);
    }
  }

  absl::StatusOr<SpliceProgress> progress() override {
    // Read order matters (see DirectionSample): source tcp_info, BPF counters, target.
    ASSIGN_OR_RETURN(TcpCounters down_rx, readTcpInfo(down_.fd));
    ASSIGN_OR_RETURN(TcpCounters up_rx, readTcpInfo(up_.fd));
    ASSIGN_OR_RETURN(weft_splice_state down_state, readState(down_.cookie));
    ASSIGN_OR_RETURN(weft_splice_state up_state, readState(up_.cookie));
    ASSIGN_OR_RETURN(TcpCounters down_tx, readTcpInfo(down_.fd));
    ASSIGN_OR_RETURN(TcpCounters up_tx, readTcpInfo(up_.fd));
    ASSIGN_OR_RETURN(uint64_t down_outq, readQueue(down_.fd, SIOCOUTQ));
    ASSIGN_OR_RETURN(uint64_t up_outq, readQueue(up_.fd, SIOCOUTQ));

    DirectionProgress d2u =
        computeDirectionProgress({.source_bytes_received = down_rx.bytes_received,
                                  .source_state = down_rx.state,
                                  .redirected = down_state.bytes_redirected,
                                  .target_bytes_acked = up_tx.bytes_acked,
                                  .target_outq = up_outq,
                                  .target_state = up_tx.state,
                                  .source_consumed_base = 0,
                                  .target_sent_base = up_.sent_base});
    DirectionProgress u2d = computeDirectionProgress({.source_bytes_received = up_rx.bytes_received,
                                                      .source_state = up_rx.state,
                                                      .redirected = up_state.bytes_redirected,
                                                      .target_bytes_acked = down_tx.bytes_acked,
                                                      .target_outq = down_outq,
                                                      .target_state = down_tx.state,
                                                      .source_consumed_base = 0,
                                                      .target_sent_base = down_.sent_base});
    // Once a finished direction is drained it stays so, even after the agent's own FIN
    // changes the target's counters.
    d2u_done_ = d2u_done_ || (d2u.eof && d2u.drained);
    u2d_done_ = u2d_done_ || (u2d.eof && u2d.drained);

    SpliceProgress out;
    out.downstream_to_upstream = down_state.bytes_redirected;
    out.upstream_to_downstream = up_state.bytes_redirected;
    out.downstream_eof = d2u.eof;
    out.upstream_eof = u2d.eof;
    out.downstream_to_upstream_drained = d2u_done_ || d2u.drained;
    out.upstream_to_downstream_drained = u2d_done_ || u2d.drained;
    out.bytes_dropped = down_state.bytes_dropped + up_state.bytes_dropped;
    return out;
  }

 private:
  absl::StatusOr<weft_splice_state> readState(uint64_t cookie) const {
    weft_splice_state st{};
    if (bpf_map_lookup_elem(state_fd_, &cookie, &st) != 0) {
      return absl::NotFoundError(
          absl::StrCat("splice state of socket cookie ", cookie, " is gone: ", errnoText(errno)));
    }
    return st;
  }

  int sockhash_fd_;
  int state_fd_;
  End down_;
  End up_;
  bool d2u_done_ = false;
  bool u2d_done_ = false;
};

absl::Status insertState(int state_fd, uint64_t cookie, uint64_t peer) {
  weft_splice_state st{};
  st.peer_cookie = peer;
  if (bpf_map_update_elem(state_fd, &cookie, &st, BPF_NOEXIST) != 0) {
    return errno == EEXIST
               ? absl::AlreadyExistsError(
                     absl::StrCat("socket cookie ", cookie, " is already spliced"))
               : absl::ResourceExhaustedError(absl::StrCat("splice state map: ", errnoText(errno)));
  }
  return absl::OkStatus();
}

absl::Status insertSocket(int sockhash_fd, uint64_t cookie, int fd) {
  const uint64_t value = static_cast<uint64_t>(fd);
  if (bpf_map_update_elem(sockhash_fd, &cookie, &value, BPF_NOEXIST) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("adding fd ", fd, " to the splice sockhash: ", errnoText(errno),
                     errno == EOPNOTSUPP ? " (socket no longer established)" : ""));
  }
  return absl::OkStatus();
}

// Pushes bytes that arrived before the socket joined the sockhash through the verdict:
// they sit in the plain receive queue until the next data_ready, and setting SO_RCVLOWAT
// runs tcp_data_ready, which (psock installed) drains that queue through the verdict in
// order. Without it, a client that sent its request before the splice would hang.
absl::Status kick(int fd) {
  const int lowat = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof(lowat)) != 0) {
    return absl::InternalError(absl::StrCat("SO_RCVLOWAT on fd ", fd, ": ", errnoText(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SplicedPair>> KernelSplicer::splice(int downstream_fd,
                                                                   int upstream_fd) {
  RETURN_IF_ERROR(checkSpliceable(downstream_fd, "downstream"));
  RETURN_IF_ERROR(checkSpliceable(upstream_fd, "upstream"));
  KernelSplicedPair::End down{.fd = downstream_fd};
  KernelSplicedPair::End up{.fd = upstream_fd};
  ASSIGN_OR_RETURN(down.cookie, socketCookie(downstream_fd));
  ASSIGN_OR_RETURN(up.cookie, socketCookie(upstream_fd));
  ASSIGN_OR_RETURN(down.sent_base, sentTotal(downstream_fd));
  ASSIGN_OR_RETURN(up.sent_base, sentTotal(upstream_fd));

  // State first (the verdict needs it from the first byte), then the sockets; the pair's
  // destructor undoes whatever part was done if a step fails.
  RETURN_IF_ERROR(insertState(state_fd_, down.cookie, up.cookie));
  if (absl::Status s = insertState(state_fd_, up.cookie, down.cookie); !s.ok()) {
    bpf_map_delete_elem(state_fd_, &down.cookie);
    return s;
  }
  auto pair = std::make_unique<KernelSplicedPair>(sockhash_fd_, state_fd_, down, up);
  RETURN_IF_ERROR(insertSocket(sockhash_fd_, up.cookie, upstream_fd));
  RETURN_IF_ERROR(insertSocket(sockhash_fd_, down.cookie, downstream_fd));
  RETURN_IF_ERROR(kick(upstream_fd));
  RETURN_IF_ERROR(kick(downstream_fd));
  return pair;
}

}  // namespace weft::agent::capture
