#include "common/http/server.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/executor_work_guard.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <thread>

namespace weft::common::http {
namespace {

// The server on its own io_context thread, with a /hello route echoing the query.
struct ServerUnderTest {
  explicit ServerUnderTest(ServerOptions options = {}) : server(io, options) {
    server.route("/hello", [](const Request& r) { return Response{.body = "hello " + r.query}; });
    auto bound = server.listen({*IpAddress::Parse("127.0.0.1"), 0});
    REQUIRE(bound.ok());
    address = *bound;
    thread = std::thread([this] { io.run(); });
  }
  ~ServerUnderTest() {
    io.stop();
    thread.join();
  }

  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  Server server;
  SocketAddress address;
  std::thread thread;
};

// A blocking client socket with a safety timeout (a hung server fails, never hangs, a test).
class RawClient {
 public:
  explicit RawClient(const SocketAddress& to) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval safety{.tv_sec = 20, .tv_usec = 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &safety, sizeof(safety));
    sockaddr_storage ss;
    const socklen_t len = to.toSockaddr(&ss);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&ss), len) == 0;
  }
  ~RawClient() { ::close(fd_); }
  bool connected() const { return connected_; }
  void send(const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      const ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) {
        return;  // the server may close early (e.g. after 431); the response tells why
      }
      off += n;
    }
  }
  std::string readAll() {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd_, buf, sizeof(buf), 0)) > 0) {
      out.append(buf, n);
    }
    return out;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

std::string roundTrip(const SocketAddress& to, const std::string& request) {
  RawClient client(to);
  REQUIRE(client.connected());
  client.send(request);
  return client.readAll();
}

TEST_CASE("a GET for a routed path gets the handler's response") {
  ServerUnderTest s;
  const std::string response = roundTrip(s.address, "GET /hello?you HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(response ==
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 9\r\n"
        "Connection: close\r\n\r\nhello you");
}

TEST_CASE("a request arriving in pieces is answered once complete") {
  ServerUnderTest s;
  RawClient client(s.address);
  REQUIRE(client.connected());
  client.send("GET /hel");
  client.send("lo HTTP/1.1\r\nHo");
  client.send("st: x\r\n\r\n");
  CHECK_THAT(client.readAll(), Catch::StartsWith("HTTP/1.1 200 OK\r\n"));
}

TEST_CASE("an unknown path is 404") {
  ServerUnderTest s;
  CHECK_THAT(roundTrip(s.address, "GET /nope HTTP/1.1\r\n\r\n"),
             Catch::StartsWith("HTTP/1.1 404 Not Found\r\n"));
}

TEST_CASE("methods other than GET are 405 with Allow: GET") {
  ServerUnderTest s;
  for (const char* method : {"POST", "PUT", "DELETE", "HEAD"}) {
    const std::string response =
        roundTrip(s.address, std::string(method) + " /hello HTTP/1.1\r\n\r\n");
    INFO(method);
    CHECK_THAT(response, Catch::StartsWith("HTTP/1.1 405 Method Not Allowed\r\n"));
    CHECK_THAT(response, Catch::Contains("\r\nAllow: GET\r\n"));
  }
}

TEST_CASE("a malformed request is 400") {
  ServerUnderTest s;
  CHECK_THAT(roundTrip(s.address, "hello there\r\n\r\n"),
             Catch::StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  CHECK_THAT(roundTrip(s.address, "GET / HTTP/1.1\r\nbroken header\r\n\r\n"),
             Catch::StartsWith("HTTP/1.1 400 Bad Request\r\n"));
}

TEST_CASE("a request head over the size limit is 431") {
  ServerUnderTest s(ServerOptions{.max_request_bytes = 1024});
  const std::string big = "GET /hello HTTP/1.1\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n";
  CHECK_THAT(roundTrip(s.address, big),
             Catch::StartsWith("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
  // A head that fits exactly is still served.
  std::string fits = "GET /hello HTTP/1.1\r\nX-Pad: ";
  fits += std::string(1024 - fits.size() - 4, 'b') + "\r\n\r\n";
  REQUIRE(fits.size() == 1024);
  CHECK_THAT(roundTrip(s.address, fits), Catch::StartsWith("HTTP/1.1 200 OK\r\n"));
}

TEST_CASE("a request that never completes gets 408 after the time limit") {
  ServerUnderTest s(ServerOptions{.request_timeout = std::chrono::milliseconds(50)});
  RawClient client(s.address);
  REQUIRE(client.connected());
  client.send("GET /hello HTTP/1.1\r\n");  // and never the blank line
  CHECK_THAT(client.readAll(), Catch::StartsWith("HTTP/1.1 408 Request Timeout\r\n"));
}

TEST_CASE("connections over the limit are closed without a response") {
  ServerUnderTest s(ServerOptions{.max_connections = 1});
  RawClient first(s.address);
  REQUIRE(first.connected());
  first.send("GET /hello HTTP/1.1\r\n");
  RawClient second(s.address);  // accepted after the first, so over the limit
  REQUIRE(second.connected());
  CHECK(second.readAll().empty());
  first.send("\r\n");
  CHECK_THAT(first.readAll(), Catch::StartsWith("HTTP/1.1 200 OK\r\n"));
}

}  // namespace
}  // namespace weft::common::http
