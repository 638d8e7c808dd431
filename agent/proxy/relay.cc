#include "agent/proxy/relay.h"

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
  char* buffer;
  prometheus::Counter* read_counter;   // counts bytes read from `from` (or nullptr)
  prometheus::Counter* write_counter;  // counts bytes written to `to` (or nullptr)
  bool done = false;
};

class RelaySession : public std::enable_shared_from_this<RelaySession> {
 public:
  RelaySession(tcp::socket client, tcp::socket upstream, size_t buffer_size,
               const telemetry::ConnectionCounters& counters, Relay::Done done)
      : client_(std::move(client)),
        upstream_(std::move(upstream)),
        buffer_size_(buffer_size),
        buffers_(new char[2 * buffer_size]),
        done_(std::move(done)) {
    to_upstream_ = {&client_, &upstream_, buffers_.get(), counters.received_bytes, nullptr};
    to_client_ = {&upstream_, &client_, buffers_.get() + buffer_size, nullptr, counters.sent_bytes};
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
      asio::error_code ignored;
      // The other side may already be gone; finishing the other direction reports that.
      d.to->shutdown(tcp::socket::shutdown_send, ignored);
      d.done = true;
      if (to_upstream_.done && to_client_.done) {
        finish(RelayOutcome::kCompleted);
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
    read(d);
  }

  void finish(RelayOutcome outcome) {
    finished_ = true;
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
  Relay::Done done_;
  Direction to_upstream_{};
  Direction to_client_{};
  bool finished_ = false;
};

}  // namespace

void BufferedRelay::start(RelayJob job, Done done) {
  if (metrics_ != nullptr) {
    metrics_->countRelay(telemetry::RelayMode::kBuffered);
  }
  std::make_shared<RelaySession>(std::move(job.client), std::move(job.upstream), buffer_size_,
                                 job.counters, std::move(done))
      ->start();
}

}  // namespace weft::agent::proxy
