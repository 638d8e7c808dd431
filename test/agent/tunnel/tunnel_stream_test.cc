// A tunnelled connection end to end over loopback: a TunnelClient and a TunnelServer on their
// own threads, real TLS 1.3 and HTTP/2, the server relaying to TCP servers on 127.0.0.1.
// What a stream carries: bytes both ways, flow control, half-closes, resets.

#include <sys/socket.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <optional>
#include <thread>

#include "test/agent/testing/test_upstream.h"
#include "test/agent/testing/wait_for.h"
#include "test/agent/tunnel/tunnel_test_support.h"

namespace weft::agent::tunnel::testing {
namespace {

using weft::test::TestUpstream;
using weft::test::waitFor;

// A tunnel, an open stream through it to a plain TCP upstream, and the upstream's end of that
// connection, which the test drives with blocking calls.
struct RawUpstream {
  RawListener listener;
  Tunnel t;
  std::optional<BlockingStream> stream;
  int fd = -1;

  RawUpstream() {
    t.startServer();
    t.startClient();
    stream.emplace(t.client_thread, take(t.open(listener.target())));
    fd = listener.accept();
    REQUIRE(fd >= 0);
  }
  ~RawUpstream() {
    stream.reset();  // on the client's thread, before the tunnel goes
    if (fd >= 0) {
      ::close(fd);
    }
  }
};

TEST_CASE("bytes echo through a stream intact, and the echo's close comes back as EOF") {
  TestUpstream echo("127.0.0.1", 0);
  REQUIRE(echo.valid());
  Tunnel t;
  t.startServer();
  t.startClient();
  for (size_t size : {size_t{1}, size_t{64} << 10, size_t{1} << 20}) {
    INFO("size " << size);
    const std::string data = pattern(size);
    std::error_code end;
    const std::string back = exchange(t.client_thread, take(t.open(targetOf(echo))), data, &end);
    CHECK(end == asio::error::eof);
    CHECK(back == data);
  }
}

TEST_CASE("8 MiB each way at once arrive intact through HTTP/2 flow control") {
  constexpr size_t kSize = 8 << 20;
  // Windows an eighth of the transfer: each direction only completes if windows reopen.
  constexpr int32_t kWindow = 1 << 20;
  TunnelServerOptions server_options;
  server_options.h2.stream_window = kWindow;
  server_options.h2.connection_window = kWindow;
  TunnelClientOptions client_options;
  client_options.h2 = server_options.h2;
  RawListener upstream;
  Tunnel t;
  t.startServer({}, nullptr, server_options);
  t.startClient({}, client_options);
  TunnelStreamPtr stream = take(t.open(upstream.target()));
  const int fd = upstream.accept();
  REQUIRE(fd >= 0);

  const std::string up = pattern(kSize, 1);
  const std::string down = pattern(kSize, 2);
  Checksum at_upstream;
  bool upstream_saw_eof = false;
  bool upstream_sent = false;
  std::thread reader([&] { upstream_saw_eof = receiveAll(fd, &at_upstream); });
  std::thread writer([&] {
    upstream_sent = sendAll(fd, down);
    ::shutdown(fd, SHUT_WR);
  });
  std::error_code end;
  const std::string at_client = exchange(t.client_thread, std::move(stream), up, &end);
  reader.join();
  writer.join();
  ::close(fd);

  CHECK(upstream_sent);
  CHECK(upstream_saw_eof);         // the client's END_STREAM became a FIN
  CHECK(end == asio::error::eof);  // and the upstream's FIN an END_STREAM
  CHECK(at_upstream.size() == kSize);
  CHECK(at_upstream.hash() == checksumOf(up).hash());
  CHECK(at_client.size() == kSize);
  CHECK(checksumOf(at_client).hash() == checksumOf(down).hash());
}

TEST_CASE("the client's half-close reaches the upstream, whose reply still arrives") {
  RawUpstream u;
  REQUIRE_FALSE(u.stream->write("request").ec);
  u.stream->shutdownWrite();

  Checksum ignored;
  std::string request;
  CHECK(receiveAll(u.fd, &ignored, &request));  // EOF reached the upstream
  CHECK(request == "request");
  REQUIRE(sendAll(u.fd, "reply"));
  ::close(std::exchange(u.fd, -1));

  std::string reply;
  CHECK(u.stream->readAll(&reply) == asio::error::eof);
  CHECK(reply == "reply");
  CHECK(u.stream->write("too late").ec == asio::error::shut_down);
}

TEST_CASE("the upstream's half-close reaches the client, which can still send") {
  RawUpstream u;
  REQUIRE(sendAll(u.fd, "banner"));
  ::shutdown(u.fd, SHUT_WR);

  std::string banner;
  CHECK(u.stream->readAll(&banner) == asio::error::eof);
  CHECK(banner == "banner");
  CHECK_FALSE(u.stream->write("after eof").ec);
  u.stream->shutdownWrite();

  Checksum ignored;
  std::string got;
  CHECK(receiveAll(u.fd, &ignored, &got));
  CHECK(got == "after eof");
}

TEST_CASE("a client reset resets the server's TCP connection to the upstream") {
  RawUpstream u;
  REQUIRE_FALSE(u.stream->write("x").ec);
  char buffer[16];
  REQUIRE(recvOnce(u.fd, buffer, sizeof(buffer)) == 1);
  u.stream->reset();
  errno = 0;
  CHECK(recvOnce(u.fd, buffer, sizeof(buffer)) == -1);
  CHECK(errno == ECONNRESET);
  CHECK(waitFor([&] { return u.t.serverStats().relays_failed == 1; }));
}

TEST_CASE("an upstream's reset reaches the client as a stream reset") {
  RawUpstream u;
  REQUIRE(sendAll(u.fd, "hi"));
  std::string got;
  while (got.size() < 2) {
    REQUIRE_FALSE(u.stream->read(&got).ec);
  }
  closeWithReset(std::exchange(u.fd, -1));
  CHECK(u.stream->readAll(&got) == asio::error::connection_reset);
  CHECK(u.stream->write("gone").ec);
}

TEST_CASE("an upstream's reset after its half-close still reaches the client") {
  RawUpstream u;
  ::shutdown(u.fd, SHUT_WR);
  std::string got;
  REQUIRE(u.stream->readAll(&got) == asio::error::eof);
  // The server's relay reads nothing more from this socket and writes nothing to it: only its
  // error watch can see this reset.
  closeWithReset(std::exchange(u.fd, -1));
  CHECK(waitFor([&] { return u.t.serverStats().relays_failed == 1; }));
  IoResult write;
  CHECK(waitFor([&] {
    write = u.stream->write("x");
    return static_cast<bool>(write.ec);
  }));
  CHECK(write.ec == asio::error::connection_reset);
}

TEST_CASE("resetting one stream leaves the others on its connection working") {
  TestUpstream echo("127.0.0.1", 0);
  Tunnel t;
  t.startServer();
  t.startClient();
  TunnelStreamPtr first = take(t.open(targetOf(echo)));
  TunnelStreamPtr second = take(t.open(targetOf(echo)));
  t.client_thread.run([&] {
    first->reset();
    first.reset();
    return 0;
  });
  CHECK(exchange(t.client_thread, std::move(second), "still here") == "still here");
  CHECK(t.clientConnections() == 1);
  CHECK(t.clientStats().handshakes == 1);
}

size_t systemTcpRmemMax() {
  std::ifstream in("/proc/sys/net/ipv4/tcp_rmem");
  size_t min = 0, def = 0, max = 0;
  in >> min >> def >> max;
  return max > 0 ? max : (6 << 20);
}

TEST_CASE("a slow reader keeps what is buffered for it bounded by the flow-control window") {
  constexpr int32_t kWindow = 256 << 10;
  RawListener upstream;
  Tunnel t;
  TunnelServerOptions server_options;
  server_options.relay_buffer = 16 << 10;
  t.startServer({}, nullptr, server_options);
  TunnelClientOptions client_options;
  client_options.h2.stream_window = kWindow;
  client_options.h2.connection_window = kWindow;
  t.startClient({}, client_options);
  BlockingStream stream(t.client_thread, take(t.open(upstream.target())));
  const int fd = upstream.accept();
  REQUIRE(fd >= 0);
  int sndbuf = 64 << 10;
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
  socklen_t len = sizeof(sndbuf);
  ::getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len);

  // Everything that can be in flight between the upstream and the reader: the stream window,
  // the server's relay buffer, and the two kernel socket buffers on the upstream connection.
  // (Plus the writer's chunk: it counts a send only once the call returned.)
  const size_t bound =
      kWindow + (16 << 10) + static_cast<size_t>(sndbuf) + systemTcpRmemMax() + (64 << 10);
  // Sending several times that much shows the sender was held back.
  const size_t kTotal = 3 * bound;
  std::atomic<size_t> sent{0};
  std::thread writer([&] {
    const std::string chunk = pattern(64 << 10);
    while (sent < kTotal) {
      const size_t size = std::min(chunk.size(), kTotal - sent);
      const ssize_t n = ::send(fd, chunk.data(), size, MSG_NOSIGNAL);
      if (n <= 0) {
        return;
      }
      sent += static_cast<size_t>(n);
    }
    ::shutdown(fd, SHUT_WR);
  });
  // The reader takes nothing until the stream holds a full window: the sender must stop there.
  REQUIRE(waitFor([&] {
    return t.client_thread.run([&] { return stream.stream().bufferedBytes(); }) >= kWindow;
  }));
  size_t received = 0;
  size_t max_in_flight = 0;
  std::string sink;
  for (;;) {
    const size_t sent_now = sent.load();
    max_in_flight = std::max(max_in_flight, sent_now > received ? sent_now - received : 0);
    sink.clear();
    IoResult r = stream.read(&sink, 16 << 10);
    received += r.n;
    if (r.ec) {
      CHECK(r.ec == asio::error::eof);
      break;
    }
  }
  writer.join();
  ::close(fd);
  CHECK(received == kTotal);
  CHECK(t.client_thread.run([&] { return stream.stream().maxBufferedBytes(); }) <=
        static_cast<size_t>(kWindow));
  CHECK(max_in_flight <= bound);
}

}  // namespace
}  // namespace weft::agent::tunnel::testing
