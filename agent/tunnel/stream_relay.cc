#include "agent/tunnel/stream_relay.h"

#include <sys/socket.h>

#include <asio/write.hpp>
#include <memory>
#include <utility>

namespace weft::agent::tunnel {
namespace {

using asio::ip::tcp;

class StreamRelay : public std::enable_shared_from_this<StreamRelay> {
 public:
  StreamRelay(TunnelStreamPtr stream, tcp::socket socket, size_t buffer_size,
              std::function<void(const StreamRelayResult&)> done)
      : stream_(std::move(stream)),
        socket_(std::move(socket)),
        buffer_size_(buffer_size),
        buffers_(new char[2 * buffer_size]),
        done_(std::move(done)) {}

  void start() {
    readSocket();
    readStream();
  }

 private:
  char* toStreamBuffer() { return buffers_.get(); }
  char* toSocketBuffer() { return buffers_.get() + buffer_size_; }

  // Socket → stream.
  void readSocket() {
    socket_.async_read_some(asio::buffer(toStreamBuffer(), buffer_size_),
                            [self = shared_from_this()](const std::error_code& ec, size_t n) {
                              self->onSocketRead(ec, n);
                            });
  }

  void onSocketRead(const std::error_code& ec, size_t n) {
    if (finished_) {
      return;
    }
    if (ec == asio::error::eof) {
      stream_->shutdownWrite();
      to_stream_done_ = true;
      if (to_socket_done_) {
        finish(StreamRelayOutcome::kCompleted);
      } else {
        watchSocketForReset();
      }
      return;
    }
    if (ec) {
      finish(StreamRelayOutcome::kFailed);
      return;
    }
    stream_->asyncWrite(asio::buffer(toStreamBuffer(), n),
                        [self = shared_from_this()](const std::error_code& ec, size_t n) {
                          self->result_.to_stream += n;
                          self->afterWrite(ec, &StreamRelay::readSocket);
                        });
  }

  // Stream → socket.
  void readStream() {
    stream_->asyncRead(asio::buffer(toSocketBuffer(), buffer_size_),
                       [self = shared_from_this()](const std::error_code& ec, size_t n) {
                         self->onStreamRead(ec, n);
                       });
  }

  void onStreamRead(const std::error_code& ec, size_t n) {
    if (finished_) {
      return;
    }
    if (ec == asio::error::eof) {
      std::error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_send, ignored);
      to_socket_done_ = true;
      if (to_stream_done_) {
        finish(StreamRelayOutcome::kCompleted);
      }
      return;
    }
    if (ec) {
      finish(StreamRelayOutcome::kFailed);
      return;
    }
    asio::async_write(socket_, asio::buffer(toSocketBuffer(), n),
                      [self = shared_from_this()](const std::error_code& ec, size_t n) {
                        self->result_.to_socket += n;
                        self->afterWrite(ec, &StreamRelay::readStream);
                      });
  }

  // A direction reads again only once its chunk is written: that is the back-pressure.
  void afterWrite(const std::error_code& ec, void (StreamRelay::*read_again)()) {
    if (finished_) {
      return;
    }
    if (ec) {
      finish(StreamRelayOutcome::kFailed);
      return;
    }
    (this->*read_again)();
  }

  // Nothing reads the socket after its EOF, so a later RST would go unnoticed while the
  // stream still sends: an error wait catches it (as agent/proxy/relay.cc does).
  void watchSocketForReset() {
    socket_.async_wait(
        tcp::socket::wait_error, [self = shared_from_this()](const std::error_code& ec) {
          if (self->finished_ || ec == asio::error::operation_aborted) {
            return;
          }
          int pending = 0;
          socklen_t len = sizeof(pending);
          ::getsockopt(self->socket_.native_handle(), SOL_SOCKET, SO_ERROR, &pending, &len);
          if (ec || pending != 0) {
            self->finish(StreamRelayOutcome::kFailed);
          }
        });
  }

  void finish(StreamRelayOutcome outcome) {
    finished_ = true;
    std::error_code ignored;
    if (outcome == StreamRelayOutcome::kFailed) {
      // A reset, not a clean FIN, tells the socket's peer the connection was cut short.
      socket_.set_option(asio::socket_base::linger(true, 0), ignored);
      stream_->reset();
    }
    socket_.close(ignored);
    result_.outcome = outcome;
    std::exchange(done_, nullptr)(result_);
  }

  TunnelStreamPtr stream_;
  tcp::socket socket_;
  size_t buffer_size_;
  std::unique_ptr<char[]> buffers_;
  std::function<void(const StreamRelayResult&)> done_;
  StreamRelayResult result_;
  bool to_stream_done_ = false;
  bool to_socket_done_ = false;
  bool finished_ = false;
};

}  // namespace

void relayStream(TunnelStreamPtr stream, tcp::socket socket, size_t buffer_size,
                 std::function<void(const StreamRelayResult&)> done) {
  std::make_shared<StreamRelay>(std::move(stream), std::move(socket), buffer_size, std::move(done))
      ->start();
}

}  // namespace weft::agent::tunnel
