#pragma once

// A TCP server on a loopback address for proxy tests, on its own thread. Modes:
//  kEcho:   echoes every byte; on EOF from the client, shuts down its write side and closes.
//  kBanner: sends "banner", shuts down its write side, then reads until EOF and records how
//           many bytes it got (tests the server→client half-close).

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <memory>
#include <string>
#include <thread>

namespace weft::test {

class TestUpstream {
 public:
  enum class Mode { kEcho, kBanner };

  // Listens on ip:port (port 0 picks one). valid() is false when the bind failed.
  TestUpstream(const std::string& ip, uint16_t port, Mode mode = Mode::kEcho)
      : mode_(mode), acceptor_(io_) {
    asio::error_code ec;
    const asio::ip::tcp::endpoint ep(asio::ip::make_address(ip, ec), port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) {
      acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
    }
    if (!ec) {
      acceptor_.bind(ep, ec);
    }
    if (!ec) {
      acceptor_.listen(64, ec);
    }
    if (ec) {
      return;
    }
    port_ = acceptor_.local_endpoint(ec).port();
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TestUpstream() {
    io_.stop();
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  bool valid() const { return port_ != 0; }
  uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }
  // kBanner: bytes read from finished connections.
  size_t drained() const { return drained_.load(); }

 private:
  struct Session : std::enable_shared_from_this<Session> {
    Session(TestUpstream& owner, asio::ip::tcp::socket s) : owner(owner), socket(std::move(s)) {}

    void start() {
      if (owner.mode_ == Mode::kBanner) {
        asio::async_write(socket, asio::buffer(std::string_view("banner")),
                          [self = shared_from_this()](const asio::error_code& ec, size_t) {
                            asio::error_code ignored;
                            self->socket.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
                            self->read();
                          });
        return;
      }
      read();
    }
    void read() {
      socket.async_read_some(asio::buffer(buffer),
                             [self = shared_from_this()](const asio::error_code& ec, size_t n) {
                               self->onRead(ec, n);
                             });
    }
    void onRead(const asio::error_code& ec, size_t n) {
      asio::error_code ignored;
      if (ec) {
        if (owner.mode_ == Mode::kBanner) {
          owner.drained_ += total;
        } else {
          socket.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
        }
        socket.close(ignored);
        return;
      }
      total += n;
      if (owner.mode_ == Mode::kBanner) {
        read();
        return;
      }
      asio::async_write(socket, asio::buffer(buffer, n),
                        [self = shared_from_this()](const asio::error_code& ec, size_t) {
                          if (!ec) {
                            self->read();
                          }
                        });
    }

    TestUpstream& owner;
    asio::ip::tcp::socket socket;
    char buffer[8192];
    size_t total = 0;
  };

  void accept() {
    acceptor_.async_accept([this](const asio::error_code& ec, asio::ip::tcp::socket socket) {
      if (ec) {
        return;
      }
      ++accepted_;
      std::make_shared<Session>(*this, std::move(socket))->start();
      accept();
    });
  }

  Mode mode_;
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::atomic<size_t> drained_{0};
};

}  // namespace weft::test
