#include "agent/proxy/spliced_relay.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace weft::agent::proxy {
namespace {

using asio::ip::tcp;
using capture::SpliceProgress;
using telemetry::SpliceFallbackReason;

SpliceFallbackReason fallbackReason(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kFailedPrecondition:
      return SpliceFallbackReason::kNotSpliceable;
    case absl::StatusCode::kResourceExhausted:
      return SpliceFallbackReason::kMapFull;
    default:
      return SpliceFallbackReason::kKernelError;
  }
}

// What a spliced socket's readability means. The kernel takes every received byte away, so
// a readable socket is at EOF or in error; bytes still queued are ones that arrived just
// before the splice and wait for the kernel to push them through.
enum class Readable { kEof, kNotYet, kError };

struct Peeked {
  Readable what;
  int error = 0;  // kError: the socket's errno
};

Peeked peek(int fd) {
  char byte;
  const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) {
    return {Readable::kEof};
  }
  if (n > 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    return {Readable::kNotYet};
  }
  return {Readable::kError, errno};
}

// A socket in TCP_CLOSE that the agent never sent its FIN on was reset: an orderly close
// needs both FINs. (After the agent's FIN, TCP_CLOSE is the normal end.)
bool resetBeforeOurFin(tcp::socket& socket, bool fin_sent) {
  if (fin_sent) {
    return false;
  }
  tcp_info info{};
  socklen_t len = sizeof(info);
  if (::getsockopt(socket.native_handle(), IPPROTO_TCP, TCP_INFO, &info, &len) != 0) {
    return true;
  }
  return info.tcpi_state == TCP_CLOSE;
}

int pendingError(tcp::socket& socket) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
    return errno;
  }
  return err;
}

enum class Stage {
  kOpen,      // the source has not finished sending
  kDraining,  // the source's EOF arrived; the kernel may still be moving its last bytes
  kShut,      // every byte handed over and the EOF passed on to the target
};

// One direction of the connection: bytes the kernel moves from `from` to `to`.
struct Direction {
  Direction(tcp::socket& from, tcp::socket& to, bool from_client)
      : from(from), to(to), from_client(from_client), timer(from.get_executor()) {}

  tcp::socket& from;
  tcp::socket& to;
  bool from_client;
  asio::steady_timer timer;  // the next drain poll, or a re-wait after an early wake-up
  std::chrono::milliseconds next_poll{0};
  Stage stage = Stage::kOpen;
};

class SplicedSession : public std::enable_shared_from_this<SplicedSession> {
 public:
  SplicedSession(RelayJob job, std::unique_ptr<capture::SplicedPair> pair,
                 const SplicedRelayOptions& options, Relay::Done done)
      : client_(std::move(job.client)),
        upstream_(std::move(job.upstream)),
        counters_(job.counters),
        pair_(std::move(pair)),
        options_(options),
        done_(std::move(done)),
        to_upstream_(client_, upstream_, /*from_client=*/true),
        to_client_(upstream_, client_, /*from_client=*/false),
        refresh_(client_.get_executor()) {}

  void start() {
    waitReadable(to_upstream_);
    waitReadable(to_client_);
    scheduleRefresh();
  }

 private:
  Direction& reverse(const Direction& d) { return d.from_client ? to_client_ : to_upstream_; }
  // Whether the agent already sent its FIN on `socket` (the direction into it is shut).
  bool finSentOn(const tcp::socket& socket) const {
    return (&socket == &client_ ? to_client_ : to_upstream_).stage == Stage::kShut;
  }

  void waitReadable(Direction& d) {
    d.from.async_wait(
        tcp::socket::wait_read,
        [self = shared_from_this(), &d](const asio::error_code& ec) { self->onReadable(d, ec); });
  }

  void onReadable(Direction& d, const asio::error_code& ec) {
    if (finished_) {
      return;
    }
    if (ec) {
      fail(absl::StrCat("waiting for the ", side(d), ": ", ec.message()));
      return;
    }
    const Peeked peeked = peek(d.from.native_handle());
    if (peeked.what == Readable::kEof) {
      onEof(d);
      return;
    }
    if (peeked.what == Readable::kError && !isFinHandover(peeked.error, d.from)) {
      fail(absl::StrCat("the ", side(d), " failed: ", std::strerror(peeked.error)));
      return;
    }
    // Kernels before 6.18 answer EAGAIN instead of 0 at a spliced socket's EOF; the TCP
    // state in progress() tells. Otherwise look again shortly: the wake-up was the FIN
    // handover's error (now consumed), or early bytes the kernel is still pushing through
    // (the socket stays readable until it has).
    const std::optional<SpliceProgress> p = poll();
    if (!p) {
      return;
    }
    if (d.from_client ? p->downstream_eof : p->upstream_eof) {
      onEof(d);
      return;
    }
    d.timer.expires_after(options_.drain_poll);
    d.timer.async_wait([self = shared_from_this(), &d](const asio::error_code& ec) {
      if (!ec && !self->finished_) {
        self->waitReadable(d);
      }
    });
  }

  void onEof(Direction& d) {
    if (resetBeforeOurFin(d.from, finSentOn(d.from))) {
      fail(absl::StrCat("the ", side(d), " was reset"));
      return;
    }
    d.stage = Stage::kDraining;
    d.next_poll = options_.drain_poll;
    watchErrors(d);
    pollDrain(d);
  }

  // A socket at EOF stays readable, so it is watched for errors only: a reset now (the peer
  // went away while the other direction still runs) must reset the other side too.
  void watchErrors(Direction& d) {
    d.from.async_wait(
        tcp::socket::wait_error, [self = shared_from_this(), &d](const asio::error_code& ec) {
          if (self->finished_ || ec == asio::error::operation_aborted) {
            return;
          }
          const int error = ec ? ec.value() : pendingError(d.from);
          if (error != 0 && self->isFinHandover(error, d.from)) {
            self->watchErrors(d);  // the error is consumed; keep watching
          } else if (error != 0 || resetBeforeOurFin(d.from, self->finSentOn(d.from))) {
            self->fail(absl::StrCat("the ", self->side(d), " was reset"));
          }
          // Otherwise the socket is closed both ways, normally: nothing to watch.
        });
  }

  // The kernel hands a source's FIN to the target like data, as an empty skb, and sending an
  // empty skb reports EPIPE on the target socket (checked on Linux 6.18). So EPIPE on a socket
  // whose incoming direction has reached EOF is that handover, not a failure; a real failure
  // to pass bytes on shows as a reset socket or dropped bytes, which poll() checks.
  bool isFinHandover(int error, const tcp::socket& socket) {
    if (error != EPIPE) {
      return false;
    }
    auto p = pair_->progress();
    return p.ok() && (&socket == &client_ ? p->upstream_eof : p->downstream_eof);
  }

  void pollDrain(Direction& d) {
    if (finished_) {
      return;
    }
    const std::optional<SpliceProgress> p = poll();
    if (!p) {
      return;
    }
    const bool drained =
        d.from_client ? p->downstream_to_upstream_drained : p->upstream_to_downstream_drained;
    if (drained) {
      asio::error_code ec;
      d.to.shutdown(tcp::socket::shutdown_send, ec);
      if (ec) {
        fail(absl::StrCat("passing EOF on from the ", side(d), ": ", ec.message()));
        return;
      }
      d.stage = Stage::kShut;
      if (reverse(d).stage == Stage::kShut) {
        finish(RelayOutcome::kCompleted);
      }
      return;
    }
    d.timer.expires_after(d.next_poll);
    d.next_poll = std::min(d.next_poll * 2, options_.drain_poll_max);
    d.timer.async_wait([self = shared_from_this(), &d](const asio::error_code& ec) {
      if (!ec) {
        self->pollDrain(d);
      }
    });
  }

  // Reads the kernel's progress and checks the pair's health; fails the session (and returns
  // nothing) when the kernel dropped bytes or a socket was reset, since the drain of a broken
  // direction would never complete.
  std::optional<SpliceProgress> poll() {
    auto p = pair_->progress();
    if (!p.ok()) {
      fail(absl::StrCat("splice progress: ", p.status().message()));
      return std::nullopt;
    }
    latest_ = *p;
    if (p->bytes_dropped > 0) {
      fail(absl::StrCat("the kernel dropped ", p->bytes_dropped, " bytes (a peer went away)"));
      return std::nullopt;
    }
    for (tcp::socket* socket : {&client_, &upstream_}) {
      if (resetBeforeOurFin(*socket, finSentOn(*socket))) {
        fail(absl::StrCat("the ", socket == &client_ ? "client" : "upstream", " was reset"));
        return std::nullopt;
      }
    }
    return *p;
  }

  void scheduleRefresh() {
    refresh_.expires_after(options_.counter_refresh);
    refresh_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
      if (ec || self->finished_) {
        return;
      }
      if (self->poll()) {
        self->addCounts();
        self->scheduleRefresh();
      }
    });
  }

  // Adds what the kernel moved since the last call to the connection's byte counters.
  void addCounts() {
    if (counters_.received_bytes != nullptr &&
        latest_.downstream_to_upstream > counted_.downstream_to_upstream) {
      counters_.received_bytes->Increment(
          static_cast<double>(latest_.downstream_to_upstream - counted_.downstream_to_upstream));
    }
    if (counters_.sent_bytes != nullptr &&
        latest_.upstream_to_downstream > counted_.upstream_to_downstream) {
      counters_.sent_bytes->Increment(
          static_cast<double>(latest_.upstream_to_downstream - counted_.upstream_to_downstream));
    }
    counted_.downstream_to_upstream =
        std::max(counted_.downstream_to_upstream, latest_.downstream_to_upstream);
    counted_.upstream_to_downstream =
        std::max(counted_.upstream_to_downstream, latest_.upstream_to_downstream);
  }

  void fail(const std::string& why) {
    spdlog::debug("spliced relay: {}; resetting both sides", why);
    finish(RelayOutcome::kFailed);
  }

  void finish(RelayOutcome outcome) {
    if (finished_) {
      return;
    }
    finished_ = true;
    to_upstream_.timer.cancel();
    to_client_.timer.cancel();
    refresh_.cancel();
    if (outcome == RelayOutcome::kFailed) {
      // Count what the kernel moved up to now. (After a completed relay the last drain poll
      // already saw the final counts: both sources were at EOF.)
      if (auto p = pair_->progress(); p.ok()) {
        latest_ = *p;
      }
    }
    addCounts();
    // Out of the kernel fast path first, then close: the pair must not outlive the sockets.
    pair_.reset();
    asio::error_code ignored;
    if (outcome == RelayOutcome::kFailed) {
      // A reset, not a clean FIN, tells both peers the stream was cut short.
      client_.set_option(asio::socket_base::linger(true, 0), ignored);
      upstream_.set_option(asio::socket_base::linger(true, 0), ignored);
    }
    client_.close(ignored);
    upstream_.close(ignored);
    std::exchange(done_, nullptr)(outcome);
  }

  const char* side(const Direction& d) const { return d.from_client ? "client" : "upstream"; }

  tcp::socket client_;
  tcp::socket upstream_;
  telemetry::ConnectionCounters counters_;
  std::unique_ptr<capture::SplicedPair> pair_;
  SplicedRelayOptions options_;
  Relay::Done done_;
  Direction to_upstream_;
  Direction to_client_;
  asio::steady_timer refresh_;
  SpliceProgress latest_;   // the last progress() read
  SpliceProgress counted_;  // what has been added to the byte counters
  bool finished_ = false;
};

}  // namespace

SplicedRelay::SplicedRelay(capture::LocalSplicer& splicer, Relay& fallback,
                           telemetry::Metrics& metrics, SplicedRelayOptions options)
    : splicer_(splicer), fallback_(fallback), metrics_(metrics), options_(options) {}

void SplicedRelay::start(RelayJob job, Done done) {
  if (!job.same_node) {
    fallback_.start(std::move(job), std::move(done));
    return;
  }
  auto pair = splicer_.splice(job.client.native_handle(), job.upstream.native_handle());
  if (!pair.ok()) {
    // splice() refuses before anything was read or redirected: user space loses nothing.
    metrics_.countSpliceFallback(fallbackReason(pair.status()));
    spdlog::debug("same-node connection relayed in user space: {}",
                  std::string(pair.status().message()));
    fallback_.start(std::move(job), std::move(done));
    return;
  }
  metrics_.countRelay(telemetry::RelayMode::kSpliced);
  std::make_shared<SplicedSession>(std::move(job), std::move(*pair), options_, std::move(done))
      ->start();
}

}  // namespace weft::agent::proxy
