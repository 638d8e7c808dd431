#pragma once

// A small HTTP/1.1 server for admin endpoints (GET only): a route table of exact paths,
// a limit on the request head's size and on the time to receive it, one request per
// connection. Runs on the caller's io_context (the control thread's).

#include <asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/http/request.h"
#include "common/net/address.h"

namespace weft::common::http {

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using Handler = std::function<Response(const Request&)>;

struct ServerOptions {
  size_t max_request_bytes = 8 * 1024;                // larger heads get 431
  std::chrono::milliseconds request_timeout{10'000};  // slower requests get 408
  size_t max_connections = 64;                        // more are closed on accept
};

class Server {
 public:
  explicit Server(asio::io_context& io, ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Serves GET requests for exactly `path` (the query is ignored for matching).
  void route(std::string path, Handler handler);
  // Starts accepting on `address`; returns the bound address (port 0 picks one).
  absl::StatusOr<SocketAddress> listen(const SocketAddress& address);
  // Stops accepting; requests in flight finish.
  void stop();

  struct State;

 private:
  asio::io_context& io_;
  std::shared_ptr<State> state_;
};

}  // namespace weft::common::http
