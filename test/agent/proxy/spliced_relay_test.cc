// SplicedRelay against a fake kernel: real loopback sockets on both sides, and a fake
// LocalSplicer whose progress() the test scripts. The fake moves no bytes, so what the peers
// see (EOF, reset) is exactly what the relay did. The real kernel path is tested in
// test/bpf/same_node_fast_path_test.cc.

#include "agent/proxy/spliced_relay.h"

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
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "test/agent/testing/metric_value.h"
#include "test/agent/testing/wait_for.h"

namespace weft::agent::proxy {
namespace {

using asio::ip::tcp;
using capture::SpliceProgress;

// What the fake kernel was asked, and what it answers. Shared between the test thread and
// the relay's thread.
struct FakeKernel {
  std::mutex mu;
  absl::Status refuse;  // splice() fails with this when not OK
  SpliceProgress progress;
  bool progress_fails = false;
  int splices = 0;
  int polls = 0;
  int down_fd = -1, up_fd = -1;
  bool released = false;
  bool fds_open_at_release = false;

  void update(const std::function<void(SpliceProgress&)>& change) {
    std::lock_guard lock(mu);
    change(progress);
  }
  int pollCount() {
    std::lock_guard lock(mu);
    return polls;
  }
  bool wasReleased() {
    std::lock_guard lock(mu);
    return released;
  }
};

bool fdOpen(int fd) {
  return ::fcntl(fd, F_GETFD) != -1;
}

class FakePair : public capture::SplicedPair {
 public:
  explicit FakePair(FakeKernel& kernel) : kernel_(kernel) {}
  ~FakePair() override {
    std::lock_guard lock(kernel_.mu);
    kernel_.released = true;
    kernel_.fds_open_at_release = fdOpen(kernel_.down_fd) && fdOpen(kernel_.up_fd);
  }
  absl::StatusOr<SpliceProgress> progress() override {
    std::lock_guard lock(kernel_.mu);
    ++kernel_.polls;
    if (kernel_.progress_fails) {
      return absl::NotFoundError("splice state is gone");
    }
    return kernel_.progress;
  }

 private:
  FakeKernel& kernel_;
};

class FakeSplicer : public capture::LocalSplicer {
 public:
  explicit FakeSplicer(FakeKernel& kernel) : kernel_(kernel) {}
  absl::StatusOr<std::unique_ptr<capture::SplicedPair>> splice(int down, int up) override {
    std::lock_guard lock(kernel_.mu);
    ++kernel_.splices;
    if (!kernel_.refuse.ok()) {
      return kernel_.refuse;
    }
    kernel_.down_fd = down;
    kernel_.up_fd = up;
    return std::make_unique<FakePair>(kernel_);
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

bool nothingArrived(int fd) {
  char c;
  return ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) < 0 && errno == EAGAIN;
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

// client_peer <-> [client | SplicedRelay | upstream] <-> upstream_peer
struct RelayUnderTest {
  explicit RelayUnderTest(SplicedRelayOptions options = {.counter_refresh = std::chrono::hours(1)})
      : relay(splicer, buffered, metrics, options) {}

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

  void start(bool same_node) {
    Connected client = connectedPair(io);
    Connected upstream = connectedPair(io);
    client_peer = client.peer;
    upstream_peer = upstream.peer;
    RelayJob job{
        .client = std::move(client.socket),
        .upstream = std::move(upstream.socket),
        .counters = metrics.connectionCounters(kLabels),
        .same_node = same_node,
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
    return metric("weft_proxy_splice_fallbacks_total", {{"reason", reason}});
  }

  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{
      asio::make_work_guard(io)};
  std::thread thread;
  telemetry::Metrics metrics;
  FakeKernel kernel;
  FakeSplicer splicer{kernel};
  BufferedRelay buffered{4096, &metrics};
  SplicedRelay relay;
  int client_peer = -1;
  int upstream_peer = -1;
  std::atomic<int> outcome{-1};
};

TEST_CASE("a connection to another node is relayed in user space without the kernel") {
  RelayUnderTest t;
  t.start(/*same_node=*/false);
  REQUIRE(writeAll(t.client_peer, "ping"));
  CHECK(readExactly(t.upstream_peer, 4) == "ping");
  REQUIRE(writeAll(t.upstream_peer, "pong"));
  CHECK(readExactly(t.client_peer, 4) == "pong");
  CHECK(t.kernel.splices == 0);
  CHECK(t.relays("buffered") == 1);
  CHECK(t.relays("spliced") == 0);
}

struct RefusalCase {
  absl::Status refusal;
  const char* reason;
};

TEST_CASE("a same-node connection the kernel refuses is relayed in user space, by reason") {
  const RefusalCase cases[] = {
      {absl::FailedPreconditionError("downstream fd is not an established TCP socket"),
       "not_spliceable"},
      {absl::ResourceExhaustedError("splice state map: no space"), "map_full"},
      {absl::InternalError("SO_RCVLOWAT failed"), "kernel_error"},
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
      CHECK(t.kernel.splices == 1);
      CHECK(t.fallbacks(c.reason) == 1);
      CHECK(t.relays("buffered") == 1);
      CHECK(t.relays("spliced") == 0);
      CHECK(t.bytes("weft_tcp_received_bytes_total") == 7);
      CHECK(t.bytes("weft_tcp_sent_bytes_total") == 6);
    }
  }
}

TEST_CASE("EOF is passed on only once the kernel has handed that direction's bytes over") {
  RelayUnderTest t;
  t.start(/*same_node=*/true);
  REQUIRE(t.kernel.splices == 1);
  CHECK(t.relays("spliced") == 1);

  // The client finished sending, but the kernel still has bytes of it in flight.
  t.kernel.update([](SpliceProgress& p) { p.downstream_eof = true; });
  ::shutdown(t.client_peer, SHUT_WR);
  REQUIRE(test::waitFor([&] { return t.kernel.pollCount() >= 3; }));
  CHECK(nothingArrived(t.upstream_peer));

  t.kernel.update([](SpliceProgress& p) { p.downstream_to_upstream_drained = true; });
  CHECK(readEnd(t.upstream_peer) == 0);
  CHECK_FALSE(t.finished().has_value());  // the upstream may still answer

  // Now the other way round; both directions done ends the relay.
  t.kernel.update([](SpliceProgress& p) {
    p.upstream_eof = true;
    p.upstream_to_downstream_drained = true;
  });
  ::shutdown(t.upstream_peer, SHUT_WR);
  CHECK(readEnd(t.client_peer) == 0);
  REQUIRE(t.awaitOutcome(RelayOutcome::kCompleted));
  CHECK(t.kernel.wasReleased());
  CHECK(t.kernel.fds_open_at_release);  // released first, then the sockets closed
}

TEST_CASE("byte counters follow the kernel's counts while open and are exact at close") {
  RelayUnderTest t(SplicedRelayOptions{.counter_refresh = std::chrono::milliseconds(5)});
  t.start(/*same_node=*/true);
  t.kernel.update([](SpliceProgress& p) {
    p.downstream_to_upstream = 1000;
    p.upstream_to_downstream = 250000;
  });
  // A long-lived connection's counters move before it ends.
  REQUIRE(test::waitFor([&] {
    return t.bytes("weft_tcp_received_bytes_total") == 1000 &&
           t.bytes("weft_tcp_sent_bytes_total") == 250000;
  }));
  CHECK_FALSE(t.finished().has_value());

  t.kernel.update([](SpliceProgress& p) {
    p.downstream_to_upstream = 10 * 1024 * 1024 + 1;
    p.upstream_to_downstream = 250000 + 7;
    p.downstream_eof = p.upstream_eof = true;
    p.downstream_to_upstream_drained = p.upstream_to_downstream_drained = true;
  });
  ::shutdown(t.client_peer, SHUT_WR);
  ::shutdown(t.upstream_peer, SHUT_WR);
  REQUIRE(t.awaitOutcome(RelayOutcome::kCompleted));
  CHECK(t.bytes("weft_tcp_received_bytes_total") == 10 * 1024 * 1024 + 1);
  CHECK(t.bytes("weft_tcp_sent_bytes_total") == 250000 + 7);
}

TEST_CASE("a reset on one side releases the pair and resets the other side") {
  for (const bool client_resets : {true, false}) {
    DYNAMIC_SECTION((client_resets ? "the client" : "the upstream") << " resets") {
      RelayUnderTest t;
      t.start(/*same_node=*/true);
      t.kernel.update([](SpliceProgress& p) {
        p.downstream_to_upstream = 300;
        p.upstream_to_downstream = 40;
      });
      int& resetting = client_resets ? t.client_peer : t.upstream_peer;
      const int other = client_resets ? t.upstream_peer : t.client_peer;
      resetFrom(resetting);
      REQUIRE(t.awaitOutcome(RelayOutcome::kFailed));
      CHECK(readEnd(other) == -ECONNRESET);
      CHECK(t.kernel.wasReleased());
      CHECK(t.kernel.fds_open_at_release);
      // What the kernel moved before the reset is still counted.
      CHECK(t.bytes("weft_tcp_received_bytes_total") == 300);
      CHECK(t.bytes("weft_tcp_sent_bytes_total") == 40);
    }
  }
}

TEST_CASE("a reset after a half-close, while the other direction runs, resets the other side") {
  RelayUnderTest t;
  t.start(/*same_node=*/true);
  t.kernel.update([](SpliceProgress& p) {
    p.downstream_eof = true;
    p.downstream_to_upstream_drained = true;
  });
  ::shutdown(t.client_peer, SHUT_WR);
  REQUIRE(readEnd(t.upstream_peer) == 0);
  // The upstream is still sending (as far as the relay knows) when the client goes away.
  resetFrom(t.client_peer);
  REQUIRE(t.awaitOutcome(RelayOutcome::kFailed));
  CHECK(resetArrives(t.upstream_peer));
  CHECK(t.kernel.wasReleased());
}

TEST_CASE("bytes the kernel dropped, or a lost splice state, end the connection with resets") {
  RelayUnderTest t;
  SECTION("dropped bytes") {
    t.kernel.update([](SpliceProgress& p) {
      p.downstream_eof = true;
      p.bytes_dropped = 512;
    });
  }
  SECTION("the splice state is gone") {
    t.kernel.progress_fails = true;
  }
  t.start(/*same_node=*/true);
  ::shutdown(t.client_peer, SHUT_WR);
  REQUIRE(t.awaitOutcome(RelayOutcome::kFailed));
  CHECK(readEnd(t.upstream_peer) == -ECONNRESET);
  CHECK(readEnd(t.client_peer) == -ECONNRESET);
  CHECK(t.kernel.wasReleased());
}

}  // namespace
}  // namespace weft::agent::proxy
