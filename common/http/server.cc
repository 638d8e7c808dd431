#include "common/http/server.h"

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <cstring>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/http/status.h"
#include "common/net/asio.h"

namespace weft::common::http {

using asio::ip::tcp;

struct Server::State {
  ServerOptions options;
  absl::flat_hash_map<std::string, Handler> routes;
  std::unique_ptr<tcp::acceptor> acceptor;
  size_t connections = 0;
};

namespace {

Response plain(int status, std::string body) {
  return Response{.status = status, .body = std::move(body) + "\n"};
}

std::string serialize(const Response& response) {
  std::string extra = response.status == 405 ? "Allow: GET\r\n" : "";
  return absl::StrCat("HTTP/1.1 ", statusLine(response.status),
                      "\r\nContent-Type: ", response.content_type,
                      "\r\nContent-Length: ", response.body.size(), "\r\n", extra,
                      "Connection: close\r\n\r\n", response.body);
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<Server::State> state, tcp::socket socket)
      : state_(std::move(state)),
        socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        buffer_(state_->options.max_request_bytes, '\0') {
    ++state_->connections;
  }
  ~Session() { --state_->connections; }

  void start() {
    timer_.expires_after(state_->options.request_timeout);
    timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
      if (!ec && !self->responding_) {
        self->respond(plain(408, "request timeout"));
      }
    });
    read();
  }

 private:
  void read() {
    socket_.async_read_some(
        asio::buffer(buffer_.data() + filled_, buffer_.size() - filled_),
        [self = shared_from_this()](const asio::error_code& ec, size_t n) { self->onRead(ec, n); });
  }

  void onRead(const asio::error_code& ec, size_t n) {
    if (responding_) {
      return;
    }
    if (ec) {
      close();  // the client went away or the timeout fired
      return;
    }
    filled_ += n;
    auto parsed = parseRequestHead(absl::string_view(buffer_.data(), filled_));
    if (auto* bad = std::get_if<Malformed>(&parsed)) {
      respond(plain(400, absl::StrCat("bad request: ", bad->reason)));
    } else if (auto* request = std::get_if<Request>(&parsed)) {
      respond(dispatch(*request));
    } else if (filled_ == buffer_.size()) {
      respond(plain(431, "request head too large"));
    } else {
      read();
    }
  }

  Response dispatch(const Request& request) const {
    if (request.method != "GET") {
      return plain(405, "only GET is supported");
    }
    auto it = state_->routes.find(request.path);
    if (it == state_->routes.end()) {
      return plain(404, "not found");
    }
    return it->second(request);
  }

  void respond(const Response& response) {
    responding_ = true;
    asio::error_code ignored;
    socket_.cancel(ignored);
    out_ = serialize(response);
    asio::async_write(
        socket_, asio::buffer(out_),
        [self = shared_from_this()](const asio::error_code&, size_t) { self->close(); });
  }

  void close() {
    asio::error_code ignored;
    timer_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  std::shared_ptr<Server::State> state_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  std::string buffer_;
  size_t filled_ = 0;
  std::string out_;
  bool responding_ = false;
};

void acceptLoop(std::shared_ptr<Server::State> state) {
  tcp::acceptor* acceptor = state->acceptor.get();
  acceptor->async_accept([state = std::move(state)](const asio::error_code& ec,
                                                    tcp::socket socket) mutable {
    if (ec == asio::error::operation_aborted || !state->acceptor || !state->acceptor->is_open()) {
      return;
    }
    if (!ec) {
      if (state->connections < state->options.max_connections) {
        std::make_shared<Session>(state, std::move(socket))->start();
      }
      // Over the limit, the socket closes when it goes out of scope here.
    }
    acceptLoop(std::move(state));
  });
}

}  // namespace

Server::Server(asio::io_context& io, ServerOptions options)
    : io_(io), state_(std::make_shared<State>()) {
  state_->options = options;
}

Server::~Server() {
  stop();
}

void Server::route(std::string path, Handler handler) {
  state_->routes[std::move(path)] = std::move(handler);
}

absl::StatusOr<SocketAddress> Server::listen(const SocketAddress& address) {
  auto acceptor = std::make_unique<tcp::acceptor>(io_);
  asio::error_code ec = openListener(*acceptor, address, /*reuse_port=*/false);
  tcp::endpoint bound;
  if (!ec) {
    bound = acceptor->local_endpoint(ec);
  }
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("http server ", address.toString(), ": ", ec.message()));
  }
  state_->acceptor = std::move(acceptor);
  acceptLoop(state_);
  return toSocketAddress(bound);
}

void Server::stop() {
  if (state_->acceptor) {
    asio::error_code ignored;
    state_->acceptor->close(ignored);
  }
}

}  // namespace weft::common::http
