#include "agent/proxy/relay.h"

#include <sys/socket.h>

#include <asio/write.hpp>
#include <memory>
#include <utility>

namespace weft::agent::proxy {
namespace {

using asio::ip::tcp;

// One direction: bytes read from `from` are written to `to` before the next read, so a slow
// reader pushes back on a fast writer through TCP flow control.
struct Direction {
  tcp::socket* from;
  tcp::socket* to;
  RelaySide into;  // which side `to` is
  char* buffer;
  prometheus::Counter* read_counter;   // counts bytes read from `from` (or nullptr)
  prometheus::Counter* write_counter;  // counts bytes written to `to` (or nullptr)
  uint64_t written = 0;
  bool done = false;
};

class RelaySession : public std::enable_shared_from_this<RelaySession> {
 public:
  RelaySession(tcp::socket client, tcp::socket upstream, size_t buffer_size,
               const telemetry::ConnectionCounters& counters, std::shared_ptr<RelayTap> tap,
               Relay::Done done)
      : client_(std::move(client)),
        upstream_(std::move(upstream)),
        buffer_size_(buffer_size),
        buffers_(new char[2 * buffer_size]),
        tap_(std::move(tap)),
        done_(std::move(done)) {
    to_upstream_ = {
        &client_, &upstream_, RelaySide::kUpstream, buffers_.get(), counters.received_bytes,
        nullptr};
    to_client_ = {&upstream_, &client_,           RelaySide::kClient, buffers_.get() + buffer_size,
                  nullptr,    counters.sent_bytes};
  }

  void start() {
    read(to_upstream_);
    read(to_client_);
  }

 private:
  void read(Direction& d) {
    d.from->async_read_some(asio::buffer(d.buffer, buffer_size_),
                            [self = shared_from_this(), &d](const asio::error_code& ec, size_t n) {
                              self->onRead(d, ec, n);
                            });
  }

  void onRead(Direction& d, const asio::error_code& ec, size_t n) {
    if (finished_) {
      return;
    }
    if (ec == asio::error::eof) {
      if (tap_ != nullptr) {
        tap_->onEof(d.into);
      }
      asio::error_code ignored;
      // The other side may already be gone; finishing the other direction reports that.
      d.to->shutdown(tcp::socket::shutdown_send, ignored);
      d.done = true;
      if (to_upstream_.done && to_client_.done) {
        finish(RelayOutcome::kCompleted);
      } else {
        watchForReset(d);
      }
      return;
    }
    if (ec) {
      finish(RelayOutcome::kFailed);
      return;
    }
    if (d.read_counter != nullptr) {
      d.read_counter->Increment(static_cast<double>(n));
    }
    asio::async_write(*d.to, asio::buffer(d.buffer, n),
                      [self = shared_from_this(), &d](const asio::error_code& ec, size_t n) {
                        self->onWritten(d, ec, n);
                      });
  }

  void onWritten(Direction& d, const asio::error_code& ec, size_t n) {
    if (finished_) {
      return;
    }
    if (d.write_counter != nullptr) {
      d.write_counter->Increment(static_cast<double>(n));
    }
    if (ec) {
      finish(RelayOutcome::kFailed);
      return;
    }
    d.written += n;
    if (tap_ != nullptr) {
      tap_->onWritten(d.into, d.written);
    }
    read(d);
  }

  // Nothing reads a socket after its EOF, so a reset from that peer (while the other
  // direction still runs) would go unnoticed until the other side writes; an error wait
  // catches it, and the reset is passed on.
  void watchForReset(Direction& d) {
    d.from->async_wait(
        tcp::socket::wait_error, [self = shared_from_this(), &d](const asio::error_code& ec) {
          if (self->finished_ || ec == asio::error::operation_aborted) {
            return;
          }
          int pending = 0;
          socklen_t len = sizeof(pending);
          ::getsockopt(d.from->native_handle(), SOL_SOCKET, SO_ERROR, &pending, &len);
          if (ec || pending != 0) {
            self->finish(RelayOutcome::kFailed);
          }
        });
  }

  void finish(RelayOutcome outcome) {
    finished_ = true;
    if (tap_ != nullptr) {
      tap_->onClosing();
    }
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

  tcp::socket client_;
  tcp::socket upstream_;
  size_t buffer_size_;
  std::unique_ptr<char[]> buffers_;
  std::shared_ptr<RelayTap> tap_;
  Relay::Done done_;
  Direction to_upstream_{};
  Direction to_client_{};
  bool finished_ = false;
};

}  // namespace

void runRelaySession(RelayJob job, size_t buffer_size, std::shared_ptr<RelayTap> tap,
                     Relay::Done done) {
  std::make_shared<RelaySession>(std::move(job.client), std::move(job.upstream), buffer_size,
                                 job.counters, std::move(tap), std::move(done))
      ->start();
}

void BufferedRelay::start(RelayJob job, Done done) {
  if (metrics_ != nullptr) {
    metrics_->countRelay(telemetry::RelayMode::kBuffered);
  }
  runRelaySession(std::move(job), buffer_size_, nullptr, std::move(done));
}

}  // namespace weft::agent::proxy
