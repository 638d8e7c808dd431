#pragma once

// Tests of the admin servers: GET over a blocking loopback connection, and a server on
// loopback with its io_context on a thread of its own.

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <utility>

#include "common/http/server.h"
#include "common/net/address.h"
#include "test/agent/testing/blocking_client.h"

namespace weft::test {

// Status code and body of GET `path` from the HTTP server at `address`.
inline std::pair<int, std::string> httpGet(const common::SocketAddress& address,
                                           const std::string& path) {
  BlockingClient client;
  REQUIRE(client.connect(address));
  REQUIRE(client.sendAll("GET " + path + " HTTP/1.1\r\nHost: admin\r\n\r\n"));
  std::string response;
  REQUIRE(client.readToEof(response));
  REQUIRE(response.size() > 12);
  const size_t body = response.find("\r\n\r\n");
  REQUIRE(body != std::string::npos);
  return {std::stoi(response.substr(9, 3)), response.substr(body + 4)};
}

// Add routes to `server`, then start() it; it stops when this goes.
struct LoopbackHttpServer {
  LoopbackHttpServer() : server(io) {}
  ~LoopbackHttpServer() {
    io.stop();
    if (thread.joinable()) {
      thread.join();
    }
  }
  void start() {
    auto bound = server.listen({*common::IpAddress::Parse("127.0.0.1"), 0});
    REQUIRE(bound.ok());
    address = *bound;
    thread = std::thread([this] { io.run(); });
  }
  std::pair<int, std::string> get(const std::string& path) { return httpGet(address, path); }

  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  common::http::Server server;
  common::SocketAddress address;
  std::thread thread;
};

}  // namespace weft::test
