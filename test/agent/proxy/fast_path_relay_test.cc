// FastPathRelay against a fake kernel: real loopback sockets on both sides, and a fake
// FastPath whose byte counts the test scripts. The fake redirects nothing, so every byte the
// peers exchange goes through the user-space relay, and what the test sees (data, EOF, reset,
// the progress reported to the kernel) is exactly what the relay did. The real kernel path
// is tested in test/bpf/fast_path_test.cc and test/e2e/same_node_fast_path_test.sh.

#include "agent/proxy/fast_path_relay.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "test/agent/testing/metric_value.h"
#include "test/agent/testing/wait_for.h"

namespace weft::agent::proxy {
namespace {

using asio::ip::tcp;
using capture::AgentSocket;

// What the fake kernel was told, and what it answers. Shared between the test thread and the
// relay's thread.
struct FakeKernel {
  std::mutex mu;
  absl::Status refuse;  // pair() fails with this when not OK
  int pairs = 0;
  int client_fd = -1, upstream_fd = -1;
  std::map<AgentSocket, std::vector<uint64_t>> forwarded;  // every total reported, in order
  std::map<AgentSocket, uint64_t> bytes_into;              // what bytesInto() answers
  bool released = false;
  bool fds_open_at_release = false;
  std::vector<int> released_clients;  // release() calls

  std::vector<uint64_t> forwardedInto(AgentSocket into) {
    std::lock_guard lock(mu);
    return forwarded[into];
  }
  void setBytesInto(AgentSocket into, uint64_t n) {
    std::lock_guard lock(mu);
    bytes_into[into] = n;
  }
  bool wasReleased() {
    std::lock_guard lock(mu);
    return released;
  }
};

bool fdOpen(int fd) {
  return ::fcntl(fd, F_GETFD) != -1;
}

class FakeConnection : public capture::FastPathConnection {
 public:
  explicit FakeConnection(FakeKernel& kernel) : kernel_(kernel) {}
  ~FakeConnection() override {
    std::lock_guard lock(kernel_.mu);
    kernel_.released = true;
    kernel_.fds_open_at_release = fdOpen(kernel_.client_fd) && fdOpen(kernel_.upstream_fd);
  }
  absl::Status forwarded(AgentSocket into, uint64_t total) override {
    std::lock_guard lock(kernel_.mu);
    kernel_.forwarded[into].push_back(total);
    return absl::OkStatus();
  }
  absl::StatusOr<uint64_t> bytesInto(AgentSocket into) override {
    std::lock_guard lock(kernel_.mu);
    return kernel_.bytes_into[into];
  }

 private:
  FakeKernel& kernel_;
};

class FakeFastPath : public capture::FastPath {
 public:
  explicit FakeFastPath(FakeKernel& kernel) : kernel_(kernel) {}
  absl::Status expect(const common::SocketAddress&, uint16_t) override { return absl::OkStatus(); }
  void forget(const common::SocketAddress&, uint16_t) override {}
  absl::Status release(int client_fd) override {
    std::lock_guard lock(kernel_.mu);
    kernel_.released_clients.push_back(client_fd);
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<capture::FastPathConnection>> pair(int client,
                                                                    int upstream) override {
    std::lock_guard lock(kernel_.mu);
    ++kernel_.pairs;
    if (!kernel_.refuse.ok()) {
      return kernel_.refuse;
    }
    kernel_.client_fd = client;
    kernel_.upstream_fd = upstream;
    return std::make_unique<FakeConnection>(kernel_);
  }

 private:
  FakeKernel& kernel_;
};

// A connected pair: `socket` on the relay's io_context, `peer` a plain fd for the test.
struct Connected {
  tcp::socket socket;
  int peer = -1;
};

Connected connectedPair(asio::io_context& io) {
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  tcp::socket outside(io);
  outside.connect(acceptor.local_endpoint());
  Connected c{acceptor.accept(), -1};
  c.peer = outside.release();
  return c;
}

bool waitReadable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 20000) == 1;  // safety limit only
}

bool writeAll(int fd, const std::string& data) {
  return ::send(fd, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
}

std::string readExactly(int fd, size_t n) {
  std::string out;
  char buf[4096];
  while (out.size() < n && waitReadable(fd)) {
    const ssize_t got = ::recv(fd, buf, std::min(sizeof(buf), n - out.size()), 0);
    if (got <= 0) {
      break;
    }
    out.append(buf, got);
  }
  return out;
}

// 0: EOF, -errno: an error (e.g. -ECONNRESET), 1: data arrived instead.
int readEnd(int fd) {
  char c;
  if (!waitReadable(fd)) {
    return -ETIMEDOUT;
  }
  const ssize_t n = ::recv(fd, &c, 1, 0);
  return n < 0 ? -errno : static_cast<int>(n);
}

// A peer that still has its write side open reaches TCP_CLOSE only through a reset.
bool resetArrives(int fd) {
  return test::waitFor([fd] {
    tcp_info info{};
    socklen_t len = sizeof(info);
    return ::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0 &&
           info.tcpi_state == TCP_CLOSE;
  });
}

void resetFrom(int& fd) {
  const linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  ::close(fd);
  fd = -1;
}

const telemetry::ConnectionLabels kLabels{
    .source_workload = "client",
    .source_namespace = "shop",
    .destination_service = "echo.default.svc.cluster.local",
    .destination_workload = "echo",
    .destination_namespace = "default",
};

// client_peer <-> [client | FastPathRelay | upstream] <-> upstream_peer
struct RelayUnderTest {
  explicit RelayUnderTest(FastPathRelayOptions options = {.buffer_size = 4096,
                                                          .counter_refresh = std::chrono::hours(1)})
      : relay(fast_path, buffered, metrics, options) {}

  ~RelayUnderTest() {
    work.reset();
    io.stop();
    if (thread.joinable()) {
      thread.join();
    }
    for (int fd : {client_peer, upstream_peer}) {
      if (fd >= 0) {
        ::close(fd);
      }
    }
  }

  void start(bool same_node, bool service_has_local_endpoint = true) {
    Connected client = connectedPair(io);
    Connected upstream = connectedPair(io);
    client_peer = client.peer;
    upstream_peer = upstream.peer;
    RelayJob job{
        .client = std::move(client.socket),
        .upstream = std::move(upstream.socket),
        .counters = metrics.connectionCounters(kLabels),
        .same_node = same_node,
        .service_has_local_endpoint = service_has_local_endpoint,
    };
    relay.start(std::move(job), [this](RelayOutcome o) { outcome = static_cast<int>(o); });
    thread = std::thread([this] { io.run(); });
  }

  std::optional<RelayOutcome> finished() const {
    const int o = outcome.load();
    return o < 0 ? std::nullopt : std::optional(static_cast<RelayOutcome>(o));
  }
  bool awaitOutcome(RelayOutcome expected) {
    return test::waitFor([&] { return finished() == expected; });
  }
  double metric(const std::string& name, const std::map<std::string, std::string>& labels) {
    return test::counterValue(*metrics.registry(), name, labels).value_or(-1);
  }
  double bytes(const std::string& name) { return metric(name, {{"source_workload", "client"}}); }
  double relays(const std::string& mode) {
    return metric("weft_proxy_relays_total", {{"mode", mode}});
  }
  double fallbacks(const std::string& reason) {
    return metric("weft_proxy_fast_path_fallbacks_total", {{"reason", reason}});
  }

  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{
      asio::make_work_guard(io)};
  std::thread thread;
  telemetry::Metrics metrics;
  FakeKernel kernel;
  FakeFastPath fast_path{kernel};
  BufferedRelay buffered{4096, &metrics};
  FastPathRelay relay;
  int client_peer = -1;
  int upstream_peer = -1;
  std::atomic<int> outcome{-1};
};

TEST_CASE("a connection to another node is relayed in user space without the kernel") {
  for (const bool local_endpoint : {true, false}) {
    DYNAMIC_SECTION("the service has " << (local_endpoint ? "a" : "no") << " local endpoint") {
      RelayUnderTest t;
      t.start(/*same_node=*/false, local_endpoint);
      REQUIRE(writeAll(t.client_peer, "ping"));
      CHECK(readExactly(t.upstream_peer, 4) == "ping");
      REQUIRE(writeAll(t.upstream_peer, "pong"));
      CHECK(readExactly(t.client_peer, 4) == "pong");
      CHECK(t.kernel.pairs == 0);
      CHECK(t.relays("buffered") == 1);
      CHECK(t.relays("fast_path") == 0);
      // The client's socket joined the fast path at connect only if the service has a
      // local endpoint; then it is taken out again, once.
      std::lock_guard lock(t.kernel.mu);
      CHECK(t.kernel.released_clients.size() == (local_endpoint ? 1u : 0u));
    }
  }
}

struct RefusalCase {
  absl::Status refusal;
  const char* reason;
};

TEST_CASE("a same-node connection the kernel cannot pair is relayed in user space, by reason") {
  const RefusalCase cases[] = {
      {absl::FailedPreconditionError("fd 9 is no longer established"), "not_established"},
      {absl::ResourceExhaustedError("the fast-path sockhash is full"), "map_full"},
      {absl::InternalError("getpeername of fd 9: bad file descriptor"), "kernel_error"},
  };
  for (const RefusalCase& c : cases) {
    DYNAMIC_SECTION(c.reason) {
      RelayUnderTest t;
      t.kernel.refuse = c.refusal;
      t.start(/*same_node=*/true);
      REQUIRE(writeAll(t.client_peer, "request"));
      CHECK(readExactly(t.upstream_peer, 7) == "request");
      REQUIRE(writeAll(t.upstream_peer, "answer"));
      CHECK(readExactly(t.client_peer, 6) == "answer");
      ::shutdown(t.client_peer, SHUT_WR);
      ::shutdown(t.upstream_peer, SHUT_WR);
      REQUIRE(t.awaitOutcome(RelayOutcome::kCompleted));
      CHECK(t.kernel.pairs == 1);
      CHECK(t.fallbacks(c.reason) == 1);
      CHECK(t.relays("buffered") == 1);
      CHECK(t.relays("fast_path") == 0);
      CHECK(t.bytes("weft_tcp_received_bytes_total") == 7);
      CHECK(t.bytes("weft_tcp_sent_bytes_total") == 6);
    }
  }
}

TEST_CASE("every write the relay still makes is reported to the kernel as a running total") {
  RelayUnderTest t;
  t.start(/*same_node=*/true);
  REQUIRE(t.kernel.pairs == 1);
  CHECK(t.relays("fast_path") == 1);
  REQUIRE(writeAll(t.client_peer, "GET /"));
  REQUIRE(readExactly(t.upstream_peer, 5) == "GET /");
  REQUIRE(writeAll(t.client_peer, " HTTP/1.1"));
  REQUIRE(readExactly(t.upstream_peer, 9) == " HTTP/1.1");
  REQUIRE(writeAll(t.upstream_peer, "HTTP/1.1 200"));
  REQUIRE(readExactly(t.client_peer, 12) == "HTTP/1.1 200");
  // The kernel redirects a pod's sends only once these totals catch up with what it sent.
  CHECK(test::waitFor([&] {
    return t.kernel.forwardedInto(AgentSocket::kUpstream) == std::vector<uint64_t>{5, 14};
  }));
  CHECK(test::waitFor(
      [&] { return t.kernel.forwardedInto(AgentSocket::kClient) == std::vector<uint64_t>{12}; }));
}

TEST_CASE("byte counters come from the kernel: while open, at each EOF, and at the end") {
  RelayUnderTest t(
      FastPathRelayOptions{.buffer_size = 4096, .counter_refresh = std::chrono::milliseconds(5)});
  t.start(/*same_node=*/true);
  t.kernel.setBytesInto(AgentSocket::kUpstream, 1000);
  t.kernel.setBytesInto(AgentSocket::kClient, 250000);
  // A long-lived connection's counters move before it ends.
  REQUIRE(test::waitFor([&] {
    return t.bytes("weft_tcp_received_bytes_total") == 1000 &&
           t.bytes("weft_tcp_sent_bytes_total") == 250000;
  }));
  CHECK_FALSE(t.finished().has_value());

  // The client finishes: its direction is counted at its EOF, before the FIN is passed on
  // (a FIN counts as a byte in TCP's numbers; it must not show as payload).
  t.kernel.setBytesInto(AgentSocket::kUpstream, 10 * 1024 * 1024 + 1);
  ::shutdown(t.client_peer, SHUT_WR);
  REQUIRE(readEnd(t.upstream_peer) == 0);
  t.kernel.setBytesInto(AgentSocket::kUpstream, 10 * 1024 * 1024 + 2);  // + the FIN

  t.kernel.setBytesInto(AgentSocket::kClient, 250000 + 7);
  ::shutdown(t.upstream_peer, SHUT_WR);
  REQUIRE(readEnd(t.client_peer) == 0);
  REQUIRE(t.awaitOutcome(RelayOutcome::kCompleted));
  CHECK(t.bytes("weft_tcp_received_bytes_total") == 10 * 1024 * 1024 + 1);
  CHECK(t.bytes("weft_tcp_sent_bytes_total") == 250000 + 7);
  CHECK(t.kernel.wasReleased());
  CHECK(t.kernel.fds_open_at_release);  // unpaired first, then the sockets closed
}

TEST_CASE("a reset on one side unpairs and resets the other side, counting what moved") {
  for (const bool client_resets : {true, false}) {
    DYNAMIC_SECTION((client_resets ? "the client" : "the upstream") << " resets") {
      RelayUnderTest t;
      t.start(/*same_node=*/true);
      t.kernel.setBytesInto(AgentSocket::kUpstream, 300);
      t.kernel.setBytesInto(AgentSocket::kClient, 40);
      int& resetting = client_resets ? t.client_peer : t.upstream_peer;
      const int other = client_resets ? t.upstream_peer : t.client_peer;
      resetFrom(resetting);
      REQUIRE(t.awaitOutcome(RelayOutcome::kFailed));
      CHECK(readEnd(other) == -ECONNRESET);
      CHECK(t.kernel.wasReleased());
      CHECK(t.kernel.fds_open_at_release);
      CHECK(t.bytes("weft_tcp_received_bytes_total") == 300);
      CHECK(t.bytes("weft_tcp_sent_bytes_total") == 40);
    }
  }
}

TEST_CASE("a reset after a half-close, while the other direction runs, resets the other side") {
  RelayUnderTest t;
  t.start(/*same_node=*/true);
  ::shutdown(t.client_peer, SHUT_WR);
  REQUIRE(readEnd(t.upstream_peer) == 0);
  // The upstream is still sending (as far as the relay knows) when the client goes away.
  resetFrom(t.client_peer);
  REQUIRE(t.awaitOutcome(RelayOutcome::kFailed));
  CHECK(resetArrives(t.upstream_peer));
  CHECK(t.kernel.wasReleased());
}

}  // namespace
}  // namespace weft::agent::proxy
