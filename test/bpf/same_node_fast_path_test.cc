// The same-node fast path end to end in the kernel: a pod's connection to a service VIP is
// captured by the real BPF programs, accepted by the real outbound proxy, and - its endpoint
// running on this node - paired in the kernel (FastPathRelay over KernelFastPath), so that
// sk_msg moves the pods' sends. Checks what a user would: every byte arrives intact and in
// order both ways (also bytes sent before the pairing, which the agent relays while the
// kernel already moves the later ones), half-closes go through, the proxy's byte counters
// equal what was sent, and nothing is left in the kernel maps afterwards.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "agent/capture/abi.h"
#include "agent/capture/fast_path.h"
#include "agent/config/config_snapshot.h"
#include "agent/config/config_store.h"
#include "agent/proxy/outbound_proxy.h"
#include "agent/telemetry/metrics.h"
#include "test/agent/testing/metric_value.h"
#include "test/agent/testing/wait_for.h"
#include "test/bpf/capture_lab.h"

namespace weft::test {
namespace {

using agent::capture::AgentSocket;
using agent::capture::FastPath;
using agent::capture::FastPathConnection;

constexpr const char* kClientIpv4 = "10.244.1.10";  // the enrolled pod's address
constexpr uint64_t kTenMiB = 10ull << 20;
constexpr uint8_t kClientSalt = 0x5a;
constexpr uint8_t kServerSalt = 0xc3;

// Byte `i` of a stream: position-dependent, so loss, duplication and reordering all show.
uint8_t patternByte(uint64_t i, uint8_t salt) {
  return static_cast<uint8_t>(((i * 2654435761u) >> 13) ^ (i >> 20) ^ salt);
}

bool writePattern(int fd, uint64_t from, uint64_t to, uint8_t salt) {
  std::vector<char> buf(256 * 1024);
  for (uint64_t at = from; at < to;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), to - at));
    for (size_t k = 0; k < n; ++k) {
      buf[k] = static_cast<char>(patternByte(at + k, salt));
    }
    if (!writeAll(fd, buf.data(), n)) {
      return false;
    }
    at += n;
  }
  return true;
}

// Reads until EOF; the byte count, or -1 at the first byte off the pattern, -2 when the
// stream stalled (safety limit), -3 on a read error.
int64_t readPatternToEof(int fd, uint8_t salt) {
  std::vector<char> buf(256 * 1024);
  uint64_t at = 0;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 20000) != 1) {
      return -2;
    }
    const ssize_t n = read(fd, buf.data(), buf.size());
    if (n == 0) {
      return static_cast<int64_t>(at);
    }
    if (n < 0) {
      return -3;
    }
    for (ssize_t k = 0; k < n; ++k) {
      if (static_cast<uint8_t>(buf[k]) != patternByte(at + k, salt)) {
        return -1;
      }
    }
    at += n;
  }
}

size_t unread(int fd) {
  int n = 0;
  ioctl(fd, FIONREAD, &n);
  return static_cast<size_t>(n);
}

uint8_t tcpState(int fd) {
  tcp_info info{};
  socklen_t len = sizeof(info);
  getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len);
  return info.tcpi_state;
}

// What has reached the agent's sockets before it pairs them. The proxy pairs right after its
// upstream connect, which usually wins the race against the pods' first bytes; holding the
// call until they have arrived makes "bytes sent before the pairing" a certainty rather than
// luck. Runs on the worker thread, which may block in a test.
struct Gate {
  size_t client_bytes = 0;  // unread in the accepted socket
  size_t server_bytes = 0;  // unread in the upstream socket
  bool client_fin = false;  // the client's FIN arrived too
};

// Records the agent's progress reports, so a test can wait for the relay to catch up.
class ObservedConnection : public FastPathConnection {
 public:
  ObservedConnection(std::unique_ptr<FastPathConnection> real,
                     std::atomic<uint64_t>& forwarded_to_upstream)
      : real_(std::move(real)), forwarded_to_upstream_(forwarded_to_upstream) {}
  absl::Status forwarded(AgentSocket into, uint64_t total) override {
    absl::Status status = real_->forwarded(into, total);
    if (into == AgentSocket::kUpstream) {
      forwarded_to_upstream_ = total;  // after the kernel knows it
    }
    return status;
  }
  absl::StatusOr<uint64_t> bytesInto(AgentSocket into) override { return real_->bytesInto(into); }

 private:
  std::unique_ptr<FastPathConnection> real_;
  std::atomic<uint64_t>& forwarded_to_upstream_;
};

class GatedFastPath : public FastPath {
 public:
  GatedFastPath(FastPath& real, Gate gate) : real_(real), gate_(gate) {}

  absl::Status expect(const common::SocketAddress& endpoint, uint16_t port) override {
    return real_.expect(endpoint, port);
  }
  void forget(const common::SocketAddress& endpoint, uint16_t port) override {
    real_.forget(endpoint, port);
  }
  absl::Status release(int client) override { return real_.release(client); }
  absl::StatusOr<std::unique_ptr<FastPathConnection>> pair(int client, int upstream) override {
    waitFor([&] {
      return unread(client) >= gate_.client_bytes && unread(upstream) >= gate_.server_bytes &&
             (!gate_.client_fin || tcpState(client) == TCP_CLOSE_WAIT);
    });
    auto connection = real_.pair(client, upstream);
    if (!connection.ok()) {
      refused += 1;
      return connection;
    }
    paired += 1;
    return std::make_unique<ObservedConnection>(*std::move(connection), forwarded_to_upstream);
  }

  std::atomic<int> paired{0};
  std::atomic<int> refused{0};
  // What the agent has relayed from the client pod to the backend since pairing.
  std::atomic<uint64_t> forwarded_to_upstream{0};

 private:
  FastPath& real_;
  Gate gate_;
};

api::v1alpha1::NodeConfig sameNodeConfig() {
  api::v1alpha1::NodeConfig config;
  config.set_node_name("node1");
  auto* client = config.add_workloads();
  client->set_name("client-abc");
  client->set_namespace_("shop");
  client->set_uid(kEnrolledPod);
  client->set_ip(kClientIpv4);
  client->set_workload_name("client");
  client->set_mesh_enabled(true);
  auto* svc = config.add_services();
  svc->set_name("echo");
  svc->set_namespace_("default");
  svc->add_vips(kVipIpv4);
  auto* port = svc->add_ports();
  port->set_port(80);
  port->set_target_port(8080);
  auto* ep = svc->add_endpoints();
  ep->set_ip(kPodIpv4);
  ep->set_node("node1");  // the same node: the fast path applies
  ep->set_workload("echo-pod");
  ep->set_namespace_("default");
  ep->set_workload_name("echo");
  ep->set_ready(true);
  return config;
}

// The capture lab with the real outbound proxy on the capture address instead of the lab's
// bare listener, the VIP marked for the fast path (as the control loop marks services with a
// local endpoint), and the backend server in a pod of its own (kOtherPod) instead of the
// test process, so that its accepted socket is a pod socket too.
struct FastPathLab : CaptureLab {
  explicit FastPathLab(Gate gate) : gated(capture->fastPath(), gate) {
    capture_v4 = Fd();  // frees 10.244.1.1:15001 for the proxy
    pod_server = Fd();  // frees 10.244.1.5:8080 for the backend pod
    if (std::system((std::string("ip addr add ") + kClientIpv4 + "/32 dev lo").c_str()) != 0) {
      throw std::runtime_error("cannot add the client pod's address");
    }
    const std::vector<agent::capture::CapturedService> services{{vip4, /*fast_path=*/true}};
    if (!capture->setServices(services).ok()) {
      throw std::runtime_error("cannot mark the service for the fast path");
    }
    auto snapshot = agent::config::buildSnapshot(sameNodeConfig(), "node1", absl::Now());
    if (!snapshot.ok()) {
      throw std::runtime_error(std::string(snapshot.status().message()));
    }
    store.publish(*snapshot);
  }

  // Starts the proxy (after the pod processes were forked: fork and threads mix badly).
  void startProxy() {
    agent::proxy::ProxyOptions options;
    options.listen = {addr(kCaptureIpv4, kOutboundPort)};
    options.workers = 1;
    proxy = std::make_unique<agent::proxy::OutboundProxy>(
        agent::proxy::ProxyDependencies{
            .config = store,
            .destinations = *capture,
            .metrics = metrics,
            .make_relay =
                [this] { return std::make_unique<agent::proxy::BufferedRelay>(16384, &metrics); },
            .make_random = [] { return std::make_unique<agent::proxy::DefaultRandom>(); },
            .fast_path = &gated,
        },
        options);
    REQUIRE(proxy->start().ok());
  }

  double metric(const std::string& name, const std::map<std::string, std::string>& labels) {
    return counterValue(*metrics.registry(), name, labels).value_or(-1);
  }
  double connection(const std::string& name) {
    return metric(name, {{"source_workload", "client"},
                         {"destination_service", "echo.default.svc.cluster.local"},
                         {"destination_workload", "echo"}});
  }

  agent::config::ConfigStore store;
  agent::telemetry::Metrics metrics;
  GatedFastPath gated;
  std::unique_ptr<agent::proxy::OutboundProxy> proxy;
};

// What the client pod reports back.
struct ClientResult {
  int connect_errno = 0;
  bool wrote = false;
  int64_t received = 0;  // readPatternToEof's answer
};

// A client in the enrolled pod: on 'c' connects to the VIP and sends `early` bytes (and its
// FIN too when `early_fin`), reports 'e'; on 'g' sends the rest of `total` bytes,
// half-closes, reads the server's stream to EOF and reports.
std::unique_ptr<PodProcess> startClient(const CaptureLab& lab, uint64_t early, uint64_t total,
                                        bool early_fin) {
  return std::make_unique<PodProcess>(lab.cgroups.app(kEnrolledPod), [=](Channel& ch) {
    ClientResult r;
    if (!ch.recv<char>()) {
      return 1;
    }
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const common::SocketAddress source = addr(kClientIpv4, 0);
    sockaddr_storage ss;
    socklen_t len = source.toSockaddr(&ss);
    bind(fd, reinterpret_cast<sockaddr*>(&ss), len);
    len = addr(kVipIpv4, 80).toSockaddr(&ss);
    if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      r.connect_errno = errno;
      ch.send('e');
      ch.send(r);
      return 0;
    }
    r.wrote = writePattern(fd, 0, early, kClientSalt);
    if (early_fin) {
      shutdown(fd, SHUT_WR);
    }
    ch.send('e');
    if (!ch.recv<char>()) {
      return 1;
    }
    if (!early_fin) {
      r.wrote = r.wrote && writePattern(fd, early, total, kClientSalt);
      shutdown(fd, SHUT_WR);
    }
    r.received = readPatternToEof(fd, kServerSalt);
    close(fd);
    ch.send(r);
    return 0;
  });
}

// The backend pod's server, in its own pod cgroup: listens on the pod address (reports 'l'),
// accepts and at once starts sending its `total` bytes, while it reads the client's stream
// to EOF; half-closes when done writing. Reports what it read (readPatternToEof's answer),
// -4 when writing failed, -5 when nobody connected, -6 when it could not listen.
std::unique_ptr<PodProcess> startServer(const CaptureLab& lab, uint64_t total) {
  return std::make_unique<PodProcess>(lab.cgroups.app(kOtherPod), [total](Channel& ch) {
    Fd listener(listenOn(kPodIpv4, 8080));
    ch.send(listener.fd >= 0 ? 'l' : '!');
    Fd conn(acceptWithin(listener.fd));
    int64_t got = -5;
    if (listener.fd < 0) {
      got = -6;
    } else if (conn.fd >= 0) {
      auto writer = std::async(std::launch::async, [&] {
        const bool ok = writePattern(conn.fd, 0, total, kServerSalt);
        shutdown(conn.fd, SHUT_WR);
        return ok;
      });
      got = readPatternToEof(conn.fd, kClientSalt);
      got = writer.get() ? got : int64_t{-4};
    }
    ch.send(got);
    return 0;
  });
}

// Entries left in one of the fast-path maps.
size_t leftIn(const CaptureLab& lab, const char* map, size_t key_size) {
  return mapEntriesOf(lab.bpffs.path() + "/" + map, key_size);
}

TEST_CASE("a same-node connection takes the fast path: 10 MiB each way intact, exact counters",
          "[bpf][fast_path][proxy]") {
  constexpr uint64_t kClientEarly = 64 * 1024;
  constexpr uint64_t kServerGreeting = 1000;
  FastPathLab lab(Gate{.client_bytes = kClientEarly, .server_bytes = kServerGreeting});
  auto client = startClient(lab, kClientEarly, kTenMiB, /*early_fin=*/false);
  auto server = startServer(lab, kTenMiB);
  REQUIRE(server->channel().recv<char>() == 'l');
  lab.startProxy();

  REQUIRE(client->channel().send('c'));
  REQUIRE(client->channel().recv<char>() == 'e');
  REQUIRE(waitFor([&] { return lab.gated.paired + lab.gated.refused > 0; }));
  REQUIRE(lab.gated.paired == 1);
  // Once the agent has relayed the bytes the client sent through TCP, nothing is in flight
  // and the client's next send must go kernel to kernel. (Without this wait a busy machine
  // can let the client buffer all 10 MiB before the agent catches up: all through TCP,
  // correct but not what this test is about.)
  REQUIRE(waitFor([&] { return lab.gated.forwarded_to_upstream >= kClientEarly; }));
  REQUIRE(client->channel().send('g'));

  const auto result = client->channel().recv<ClientResult>();
  REQUIRE(result.has_value());
  CHECK(result->connect_errno == 0);
  CHECK(result->wrote);
  CHECK(result->received == static_cast<int64_t>(kTenMiB));
  CHECK(server->channel().recv<int64_t>() == static_cast<int64_t>(kTenMiB));

  REQUIRE(waitFor([&] { return lab.connection("weft_tcp_connections_closed_total") == 1; }));
  CHECK(lab.connection("weft_tcp_connections_opened_total") == 1);
  CHECK(lab.connection("weft_tcp_received_bytes_total") == static_cast<double>(kTenMiB));
  CHECK(lab.connection("weft_tcp_sent_bytes_total") == static_cast<double>(kTenMiB));
  CHECK(lab.metric("weft_proxy_relays_total", {{"mode", "fast_path"}}) == 1);
  CHECK(lab.metric("weft_proxy_relays_total", {{"mode", "buffered"}}) == 0);
  CHECK(lab.metric("weft_proxy_failures_total", {{"reason", "relay_error"}}) == 0);
  // Both pods' sockets joined, and the kernel - not the agent - moved most of the stream.
  CHECK(lab.counter("fast_path_enrolled") == 2);
  CHECK(lab.counter("fast_path_redirected") > 0);
  CHECK(lab.counter("fast_path_target_gone") == 0);
  // Nothing of the connection is left in the kernel maps.
  lab.proxy->stop();
  CHECK(leftIn(lab, WEFT_MAP_MSG_SOCKS, sizeof(weft_sock_key)) == 0);
  CHECK(leftIn(lab, WEFT_MAP_MSG_FLOWS, sizeof(weft_sock_key)) == 0);
  CHECK(leftIn(lab, WEFT_MAP_MSG_PAIRS, sizeof(weft_sock_key)) == 0);
  CHECK(leftIn(lab, WEFT_MAP_MSG_EXPECT, sizeof(weft_expect_key)) == 0);
}

TEST_CASE("a client that half-closed before the pairing is relayed in user space, intact",
          "[bpf][fast_path][proxy]") {
  constexpr uint64_t kClientBytes = 5000;
  constexpr uint64_t kServerBytes = 3 * 1024 * 1024;
  FastPathLab lab(Gate{.client_bytes = kClientBytes, .client_fin = true});
  auto client = startClient(lab, kClientBytes, kClientBytes, /*early_fin=*/true);
  auto server = startServer(lab, kServerBytes);
  REQUIRE(server->channel().recv<char>() == 'l');
  lab.startProxy();

  REQUIRE(client->channel().send('c'));
  REQUIRE(client->channel().recv<char>() == 'e');
  REQUIRE(client->channel().send('g'));
  const auto result = client->channel().recv<ClientResult>();
  REQUIRE(result.has_value());
  CHECK(result->wrote);
  CHECK(result->received == static_cast<int64_t>(kServerBytes));
  CHECK(server->channel().recv<int64_t>() == static_cast<int64_t>(kClientBytes));
  // A sockhash takes only established sockets, and the agent's end of the client's
  // connection is closing already.
  CHECK(lab.gated.refused == 1);

  REQUIRE(waitFor([&] { return lab.connection("weft_tcp_connections_closed_total") == 1; }));
  CHECK(lab.connection("weft_tcp_received_bytes_total") == static_cast<double>(kClientBytes));
  CHECK(lab.connection("weft_tcp_sent_bytes_total") == static_cast<double>(kServerBytes));
  CHECK(lab.metric("weft_proxy_fast_path_fallbacks_total", {{"reason", "not_established"}}) == 1);
  CHECK(lab.metric("weft_proxy_relays_total", {{"mode", "buffered"}}) == 1);
  CHECK(lab.metric("weft_proxy_relays_total", {{"mode", "fast_path"}}) == 0);
  CHECK(lab.counter("fast_path_redirected") == 0);
  // The pod sockets enrolled at connect leave the maps when they close.
  lab.proxy->stop();
  CHECK(leftIn(lab, WEFT_MAP_MSG_FLOWS, sizeof(weft_sock_key)) == 0);
  CHECK(leftIn(lab, WEFT_MAP_MSG_SOCKS, sizeof(weft_sock_key)) == 0);
}

TEST_CASE("a client released from the fast path leaves the kernel maps", "[bpf][fast_path]") {
  CaptureLab lab;
  const std::vector<agent::capture::CapturedService> services{{lab.vip4, /*fast_path=*/true}};
  REQUIRE(lab.capture->setServices(services).ok());
  PodDial dial(lab, kEnrolledPod, lab.vip4);
  REQUIRE(dial.connected());
  Fd accepted(acceptWithin(lab.capture_v4.fd));
  REQUIRE(accepted.fd >= 0);
  CHECK(lab.counter("fast_path_enrolled") == 1);
  CHECK(leftIn(lab, WEFT_MAP_MSG_SOCKS, sizeof(weft_sock_key)) == 1);
  CHECK(leftIn(lab, WEFT_MAP_MSG_FLOWS, sizeof(weft_sock_key)) == 1);

  // As the proxy does when it picked an endpoint on another node.
  REQUIRE(lab.capture->fastPath().release(accepted.fd).ok());
  CHECK(leftIn(lab, WEFT_MAP_MSG_SOCKS, sizeof(weft_sock_key)) == 0);
  CHECK(leftIn(lab, WEFT_MAP_MSG_FLOWS, sizeof(weft_sock_key)) == 0);
  // Releasing again (or a client that never joined) is not an error.
  CHECK(lab.capture->fastPath().release(accepted.fd).ok());
}

TEST_CASE("a service without an endpoint on this node enrols nothing in the fast path",
          "[bpf][fast_path]") {
  CaptureLab lab;  // its services are captured without the fast-path mark
  PodDial dial(lab, kEnrolledPod, lab.vip4);
  REQUIRE(dial.connected());
  Fd accepted(acceptWithin(lab.capture_v4.fd));
  REQUIRE(accepted.fd >= 0);
  CHECK(lab.counter("fast_path_enrolled") == 0);
  CHECK(leftIn(lab, WEFT_MAP_MSG_SOCKS, sizeof(weft_sock_key)) == 0);
}

}  // namespace
}  // namespace weft::test
