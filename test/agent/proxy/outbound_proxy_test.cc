// The outbound proxy end to end on loopback: a client, the proxy with a fake original-
// destination table, and upstream servers on 127.0.0.x standing in for endpoints.

#include "agent/proxy/outbound_proxy.h"

#include <sys/socket.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "test/agent/testing/blocking_client.h"
#include "test/agent/testing/fake_destinations.h"
#include "test/agent/testing/metric_value.h"
#include "test/agent/testing/test_upstream.h"
#include "test/agent/testing/wait_for.h"

namespace weft::agent::proxy {
namespace {

using common::IpAddress;
using common::SocketAddress;
using test::BlockingClient;
using test::FakeDestinations;
using test::TestUpstream;

const SocketAddress kVip{*IpAddress::Parse("10.96.0.10"), 80};

// Two upstreams on one port (127.0.0.2 and 127.0.0.3), as two pods of one service.
struct UpstreamPair {
  explicit UpstreamPair(TestUpstream::Mode mode = TestUpstream::Mode::kEcho) {
    for (int attempt = 0; attempt < 20 && !b; ++attempt) {
      a = std::make_unique<TestUpstream>("127.0.0.2", 0, mode);
      REQUIRE(a->valid());
      b = std::make_unique<TestUpstream>("127.0.0.3", a->port(), mode);
      if (!b->valid()) {
        b.reset();
      }
    }
    REQUIRE(b);
  }
  uint16_t port() const { return a->port(); }
  std::unique_ptr<TestUpstream> a, b;
};

api::v1alpha1::NodeConfig makeConfig(uint16_t target_port, std::vector<std::string> endpoints,
                                     api::v1alpha1::LoadBalancer lb) {
  api::v1alpha1::NodeConfig config;
  config.set_node_name("node1");
  auto* client = config.add_workloads();
  client->set_name("client-abc");
  client->set_namespace_("shop");
  client->set_uid("uid-client");
  client->set_ip("127.0.0.1");
  client->set_workload_name("client");
  auto* svc = config.add_services();
  svc->set_name("echo");
  svc->set_namespace_("default");
  svc->add_vips("10.96.0.10");
  svc->set_load_balancer(lb);
  auto* port = svc->add_ports();
  port->set_port(80);
  port->set_target_port(target_port);
  for (const std::string& ip : endpoints) {
    auto* ep = svc->add_endpoints();
    ep->set_ip(ip);
    ep->set_workload("echo-pod");
    ep->set_workload_name("echo");
    ep->set_ready(true);
  }
  return config;
}

struct ProxyUnderTest {
  explicit ProxyUnderTest(
      const api::v1alpha1::NodeConfig& config, int workers = 2,
      std::chrono::milliseconds connect_timeout = std::chrono::seconds(5),
      // Small buffers, so large transfers take many relay rounds.
      std::function<std::unique_ptr<Relay>()> make_relay =
          [] { return std::make_unique<BufferedRelay>(4096); },
      capture::FastPath* fast_path = nullptr) {
    auto snapshot = config::buildSnapshot(config, "node1", absl::Now());
    REQUIRE(snapshot.ok());
    store.publish(*snapshot);
    ProxyOptions options;
    options.listen = {{*IpAddress::Parse("127.0.0.1"), 0}};
    options.workers = workers;
    options.connect_timeout = connect_timeout;
    proxy = std::make_unique<OutboundProxy>(
        ProxyDependencies{
            .config = store,
            .destinations = destinations,
            .metrics = metrics,
            .make_relay = make_relay,
            .make_random = [] { return std::make_unique<DefaultRandom>(); },
            .fast_path = fast_path,
        },
        options);
    REQUIRE(proxy->start().ok());
    REQUIRE(proxy->listenAddresses().size() == 1);
    address = proxy->listenAddresses()[0];
    CHECK(address.port != 0);
  }

  // A client whose connection the fake table maps to `original`.
  std::unique_ptr<BlockingClient> client(const SocketAddress& original = kVip) {
    auto c = std::make_unique<BlockingClient>();
    destinations.add(c->local(), original);
    return c;
  }

  double failures(const std::string& reason) const {
    return test::counterValue(*metrics.registry(), "weft_proxy_failures_total",
                              {{"reason", reason}})
        .value_or(-1);
  }
  double connectionCounter(const std::string& name) const {
    return test::counterValue(*metrics.registry(), name,
                              {{"reporter", "source"},
                               {"source_workload", "client"},
                               {"source_namespace", "shop"},
                               {"destination_service", "echo.default.svc.cluster.local"},
                               {"destination_workload", "echo"},
                               {"destination_namespace", "default"}})
        .value_or(0);
  }

  config::ConfigStore store;
  FakeDestinations destinations;
  telemetry::Metrics metrics;
  std::unique_ptr<OutboundProxy> proxy;
  SocketAddress address;
};

std::string randomBytes(size_t n) {
  std::mt19937 gen(12345);
  std::string s(n, '\0');
  for (char& c : s) {
    c = static_cast<char>(gen());
  }
  return s;
}

TEST_CASE("bytes relayed through the proxy arrive intact and are counted exactly") {
  UpstreamPair upstreams;
  ProxyUnderTest p(
      makeConfig(upstreams.port(), {"127.0.0.2", "127.0.0.3"}, api::v1alpha1::LEAST_CONNECTIONS));
  const std::string payload = randomBytes(3 * 1024 * 1024 + 17);
  size_t total_sent = 0, total_received = 0;
  for (int i = 0; i < 4; ++i) {
    auto client = p.client();
    REQUIRE(client->connect(p.address));
    // Write from another thread while reading here, so neither side's buffers fill up.
    std::thread writer([&] {
      CHECK(client->sendAll(payload));
      client->shutdownWrite();
    });
    std::string echoed;
    const bool clean_eof = client->readToEof(echoed);
    writer.join();
    REQUIRE(clean_eof);
    CHECK(echoed.size() == payload.size());
    CHECK(echoed == payload);
    total_sent += payload.size();
    total_received += echoed.size();
  }
  CHECK(upstreams.a->accepted() + upstreams.b->accepted() == 4);

  // The proxy counts a connection closed once both directions are done.
  REQUIRE(
      test::waitFor([&] { return p.connectionCounter("weft_tcp_connections_closed_total") == 4; }));
  CHECK(p.connectionCounter("weft_tcp_connections_opened_total") == 4);
  CHECK(p.connectionCounter("weft_tcp_received_bytes_total") == static_cast<double>(total_sent));
  CHECK(p.connectionCounter("weft_tcp_sent_bytes_total") == static_cast<double>(total_received));
  CHECK(p.failures("relay_error") == 0);
}

TEST_CASE("EOF from the client reaches the upstream while the other direction stays open") {
  UpstreamPair upstreams;
  ProxyUnderTest p(makeConfig(upstreams.port(), {"127.0.0.2"}, api::v1alpha1::ROUND_ROBIN));
  auto client = p.client();
  REQUIRE(client->connect(p.address));
  REQUIRE(client->sendAll("ping"));
  client->shutdownWrite();
  // The echo server only answers EOF with its own FIN after echoing; getting both back means
  // the client's half-close went through and the return direction kept working.
  std::string echoed;
  REQUIRE(client->readToEof(echoed));
  CHECK(echoed == "ping");
}

TEST_CASE("EOF from the upstream reaches the client while the client can still send") {
  UpstreamPair upstreams(TestUpstream::Mode::kBanner);
  ProxyUnderTest p(makeConfig(upstreams.port(), {"127.0.0.2"}, api::v1alpha1::ROUND_ROBIN));
  auto client = p.client();
  REQUIRE(client->connect(p.address));
  std::string banner;
  REQUIRE(client->readToEof(banner));
  CHECK(banner == "banner");
  REQUIRE(client->sendAll("after the upstream's FIN"));
  client->shutdownWrite();
  REQUIRE(test::waitFor([&] { return upstreams.a->drained() > 0; }));
  CHECK(upstreams.a->drained() == std::string("after the upstream's FIN").size());
}

TEST_CASE("a refused connect falls over to another endpoint") {
  UpstreamPair upstreams;
  // Round robin tries 127.0.0.4 first, where nothing listens.
  ProxyUnderTest p(
      makeConfig(upstreams.port(), {"127.0.0.4", "127.0.0.2"}, api::v1alpha1::ROUND_ROBIN),
      /*workers=*/1);
  auto client = p.client();
  REQUIRE(client->connect(p.address));
  REQUIRE(client->sendAll("hello"));
  client->shutdownWrite();
  std::string echoed;
  REQUIRE(client->readToEof(echoed));
  CHECK(echoed == "hello");
  CHECK(upstreams.a->accepted() == 1);
  CHECK(p.failures("connect_error") == 1);
  CHECK(p.failures("upstream_unavailable") == 0);
}

TEST_CASE("when every attempt fails the client is reset and the reason counted") {
  UpstreamPair upstreams;
  ProxyUnderTest p(makeConfig(upstreams.port(), {"127.0.0.4", "127.0.0.5", "127.0.0.6"},
                              api::v1alpha1::LEAST_CONNECTIONS));
  auto client = p.client();
  REQUIRE(client->connect(p.address));
  std::string got;
  CHECK_FALSE(client->readToEof(got));
  CHECK(client->lastErrno() == ECONNRESET);
  CHECK(p.failures("connect_error") == 2);  // one retry, not one per endpoint
  CHECK(p.failures("upstream_unavailable") == 1);
  CHECK(p.connectionCounter("weft_tcp_connections_opened_total") == 0);
}

TEST_CASE("a connection without an original destination is reset and counted") {
  UpstreamPair upstreams;
  ProxyUnderTest p(makeConfig(upstreams.port(), {"127.0.0.2"}, api::v1alpha1::ROUND_ROBIN));
  BlockingClient client;  // not in the fake table
  REQUIRE(client.connect(p.address));
  std::string got;
  CHECK_FALSE(client.readToEof(got));
  CHECK(client.lastErrno() == ECONNRESET);
  CHECK(p.failures("no_original_destination") == 1);
  CHECK(upstreams.a->accepted() == 0);
}

TEST_CASE("a connection to an unknown VIP:port is reset and counted") {
  UpstreamPair upstreams;
  ProxyUnderTest p(makeConfig(upstreams.port(), {"127.0.0.2"}, api::v1alpha1::ROUND_ROBIN));
  auto client = p.client({*IpAddress::Parse("10.96.0.10"), 81});
  REQUIRE(client->connect(p.address));
  std::string got;
  CHECK_FALSE(client->readToEof(got));
  CHECK(p.failures("unknown_service") == 1);
}

TEST_CASE("a service without ready endpoints resets the client and is counted") {
  ProxyUnderTest p(makeConfig(8080, {}, api::v1alpha1::ROUND_ROBIN));
  auto client = p.client();
  REQUIRE(client->connect(p.address));
  std::string got;
  CHECK_FALSE(client->readToEof(got));
  CHECK(p.failures("no_endpoints") == 1);
}

// Nothing accepts on a listener whose backlog is full, and its SYNs go unanswered.
struct BlackholeListener {
  BlackholeListener(const std::string& ip, uint16_t port) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    const SocketAddress address{*IpAddress::Parse(ip), port};
    sockaddr_storage ss;
    const socklen_t len = address.toSockaddr(&ss);
    ok = ::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0 && ::listen(fd, 0) == 0;
    // Fill the accept queue (backlog 0 holds one connection).
    ok = ok && filler.connect(address);
  }
  ~BlackholeListener() { ::close(fd); }
  int fd = -1;
  bool ok = false;
  BlockingClient filler;
};

TEST_CASE("a connect that times out falls over to another endpoint") {
  UpstreamPair upstreams;
  BlackholeListener blackhole("127.0.0.7", upstreams.port());
  REQUIRE(blackhole.ok);
  ProxyUnderTest p(
      makeConfig(upstreams.port(), {"127.0.0.7", "127.0.0.2"}, api::v1alpha1::ROUND_ROBIN),
      /*workers=*/1, std::chrono::milliseconds(200));
  auto client = p.client();
  REQUIRE(client->connect(p.address));
  REQUIRE(client->sendAll("slow"));
  client->shutdownWrite();
  std::string echoed;
  REQUIRE(client->readToEof(echoed));
  CHECK(echoed == "slow");
  CHECK(p.failures("connect_timeout") == 1);
  CHECK(upstreams.a->accepted() == 1);
}

// Notes which jobs were marked same-node, then relays them as usual.
class RecordingRelay : public Relay {
 public:
  explicit RecordingRelay(std::vector<bool>& same_node) : same_node_(same_node) {}
  void start(RelayJob job, Done done) override {
    same_node_.push_back(job.same_node);
    inner_.start(std::move(job), std::move(done));
  }

 private:
  std::vector<bool>& same_node_;
  BufferedRelay inner_{4096};
};

TEST_CASE("the relay learns whether the endpoint runs on this node") {
  UpstreamPair upstreams;
  auto config =
      makeConfig(upstreams.port(), {"127.0.0.2", "127.0.0.3"}, api::v1alpha1::ROUND_ROBIN);
  config.mutable_services(0)->mutable_endpoints(0)->set_node("node1");
  config.mutable_services(0)->mutable_endpoints(1)->set_node("node2");
  std::vector<bool> same_node;  // written by the single worker, read after it is stopped
  ProxyUnderTest p(config, /*workers=*/1, std::chrono::seconds(5),
                   [&] { return std::make_unique<RecordingRelay>(same_node); });
  for (int i = 0; i < 2; ++i) {
    auto client = p.client();
    REQUIRE(client->connect(p.address));
    client->shutdownWrite();
    std::string got;
    REQUIRE(client->readToEof(got));
  }
  p.proxy->stop();
  CHECK(same_node == std::vector<bool>{true, false});
}

// Records what the proxy announces and refuses every pairing, so every connection still
// flows (in user space) and the test sees which ones were offered to the kernel.
class RefusingFastPath : public capture::FastPath {
 public:
  absl::Status expect(const SocketAddress& endpoint, uint16_t port) override {
    std::lock_guard lock(mu);
    expected.push_back(endpoint);
    ports_announced.push_back(port);
    return absl::OkStatus();
  }
  void forget(const SocketAddress&, uint16_t port) override {
    std::lock_guard lock(mu);
    ports_forgotten.push_back(port);
  }
  absl::Status release(int) override {
    ++releases;
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<capture::FastPathConnection>> pair(int, int) override {
    ++pairings;
    return absl::InternalError("refused by the test");
  }
  std::mutex mu;
  std::vector<SocketAddress> expected;
  std::vector<uint16_t> ports_announced;
  std::vector<uint16_t> ports_forgotten;
  std::atomic<int> pairings{0};
  std::atomic<int> releases{0};
};

TEST_CASE("with a fast path, only connections to endpoints on this node are offered to it") {
  UpstreamPair upstreams;
  auto config =
      makeConfig(upstreams.port(), {"127.0.0.2", "127.0.0.3"}, api::v1alpha1::ROUND_ROBIN);
  config.mutable_services(0)->mutable_endpoints(0)->set_node("node1");
  config.mutable_services(0)->mutable_endpoints(1)->set_node("node2");
  RefusingFastPath fast_path;
  ProxyUnderTest p(
      config, /*workers=*/1, std::chrono::seconds(5),
      [] { return std::make_unique<BufferedRelay>(4096); }, &fast_path);
  for (int i = 0; i < 2; ++i) {
    auto client = p.client();
    REQUIRE(client->connect(p.address));
    REQUIRE(client->sendAll("hi"));
    client->shutdownWrite();
    std::string echoed;
    REQUIRE(client->readToEof(echoed));
    CHECK(echoed == "hi");
  }
  CHECK(upstreams.a->accepted() == 1);
  CHECK(upstreams.b->accepted() == 1);
  // The local endpoint's connection was announced from a real port before the connect, and
  // the announcement withdrawn after it; the other node's never was.
  std::lock_guard lock(fast_path.mu);
  CHECK(fast_path.expected ==
        std::vector<SocketAddress>{{*IpAddress::Parse("127.0.0.2"), upstreams.port()}});
  REQUIRE(fast_path.ports_announced.size() == 1);
  CHECK(fast_path.ports_announced[0] != 0);
  CHECK(fast_path.ports_forgotten == fast_path.ports_announced);
  CHECK(fast_path.pairings == 1);
  CHECK(fast_path.releases == 1);  // the client that went to node2 left the fast path
  CHECK(test::counterValue(*p.metrics.registry(), "weft_proxy_fast_path_fallbacks_total",
                           {{"reason", "kernel_error"}}) == 1);
}

}  // namespace
}  // namespace weft::agent::proxy
