// The client's connection pool over loopback: which opens share a TLS connection, which get
// their own, and what happens when a connection dies, an SVID rotates or the client closes.

#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <vector>

#include "test/agent/testing/test_upstream.h"
#include "test/agent/testing/wait_for.h"
#include "test/agent/tunnel/tunnel_test_support.h"

namespace weft::agent::tunnel::testing {
namespace {

using weft::test::TestUpstream;
using weft::test::waitFor;

const char kCache[] = "spiffe://example.org/ns/prod/sa/cache";
const char kApi[] = "spiffe://example.org/ns/prod/sa/api";

// Records what the server was asked, and connects to the target.
struct RecordingHandler {
  std::mutex mu;
  std::vector<StreamRequest> requests;

  StreamHandler handler() {
    return [this](const StreamRequest& r) {
      std::lock_guard<std::mutex> lock(mu);
      requests.push_back(r);
      return parseTarget(r.target);
    };
  }
  std::vector<StreamRequest> seen() {
    std::lock_guard<std::mutex> lock(mu);
    return requests;
  }
};

TEST_CASE("fifty concurrent streams share one TLS connection") {
  TestUpstream echo("127.0.0.1", 0);
  Tunnel t;
  t.startServer();
  t.startClient();
  // All opened at once, before the handshake can have finished: they wait for it.
  std::vector<std::future<absl::StatusOr<TunnelStreamPtr>>> opens;
  for (int i = 0; i < 50; ++i) {
    opens.push_back(t.openAsync(targetOf(echo)));
  }
  std::vector<TunnelStreamPtr> streams;
  for (auto& f : opens) {
    streams.push_back(take(await(std::move(f))));
  }
  // All fifty carry data at the same time.
  std::vector<std::string> sent;
  std::vector<std::future<Exchanged>> exchanges;
  for (size_t i = 0; i < streams.size(); ++i) {
    sent.push_back(pattern(100000 + i, static_cast<uint32_t>(i + 1)));
    exchanges.push_back(exchangeAsync(t.client_thread, std::move(streams[i]), sent.back()));
  }
  for (size_t i = 0; i < exchanges.size(); ++i) {
    Exchanged result = await(std::move(exchanges[i]));
    INFO("stream " << i);
    CHECK(result.end == asio::error::eof);
    CHECK(result.received == sent[i]);
  }
  CHECK(t.clientConnections() == 1);
  CHECK(t.clientStats().handshakes == 1);
  CHECK(t.clientStats().streams_opened == 50);
  CHECK(t.serverStats().accepted == 1);
  CHECK(t.serverStats().handshakes == 1);
  CHECK(t.serverStats().streams == 50);
  CHECK(echo.accepted() == 50);
}

TEST_CASE("a stream opened on an existing connection costs no handshake") {
  TestUpstream echo("127.0.0.1", 0);
  Tunnel t;
  t.startServer();
  t.startClient();
  CHECK(exchange(t.client_thread, take(t.open(targetOf(echo))), "first") == "first");
  REQUIRE(t.clientStats().handshakes == 1);
  CHECK(exchange(t.client_thread, take(t.open(targetOf(echo))), "second") == "second");
  CHECK(t.clientStats().handshakes == 1);
  CHECK(t.serverStats().accepted == 1);
  CHECK(t.serverStats().handshakes == 1);
  CHECK(t.serverStats().streams == 2);
}

TEST_CASE("the peer's stream limit makes the pool open another connection") {
  TestUpstream echo("127.0.0.1", 0);
  Tunnel t;
  TunnelServerOptions options;
  options.h2.max_concurrent_streams = 2;
  t.startServer({}, nullptr, options);
  t.startClient();
  std::vector<std::future<absl::StatusOr<TunnelStreamPtr>>> opens;
  for (int i = 0; i < 5; ++i) {
    opens.push_back(t.openAsync(targetOf(echo)));
  }
  std::vector<TunnelStreamPtr> streams;
  for (auto& f : opens) {
    streams.push_back(take(await(std::move(f))));
  }
  CHECK(t.clientConnections() == 3);  // 2 + 2 + 1
  CHECK(t.serverStats().accepted == 3);
  for (auto& s : streams) {
    CHECK(exchange(t.client_thread, std::move(s), "x") == "x");
  }
}

TEST_CASE("different destination identities on one node use different connections") {
  TestUpstream echo("127.0.0.1", 0);
  RecordingHandler recorder;
  Tunnel t;
  t.startServer({t.pki.svid(kDb), t.pki.svid(kCache)}, recorder.handler());
  t.startClient();
  CHECK(exchange(t.client_thread, take(t.open(targetOf(echo), kDb)), "a") == "a");
  CHECK(exchange(t.client_thread, take(t.open(targetOf(echo), kCache)), "b") == "b");
  CHECK(exchange(t.client_thread, take(t.open(targetOf(echo), kDb)), "c") == "c");
  CHECK(t.clientConnections() == 2);
  CHECK(t.clientStats().handshakes == 2);
  CHECK(t.serverStats().accepted == 2);
  const std::vector<StreamRequest> seen = recorder.seen();
  REQUIRE(seen.size() == 3);
  CHECK(seen[0].destination == id(kDb));
  CHECK(seen[1].destination == id(kCache));  // the server presented cache's SVID
  CHECK(seen[2].destination == id(kDb));
}

TEST_CASE("different source identities use different connections") {
  TestUpstream echo("127.0.0.1", 0);
  RecordingHandler recorder;
  Tunnel t;
  t.startServer({}, recorder.handler());
  t.startClient({t.pki.svid(kWeb), t.pki.svid(kApi)});
  CHECK(exchange(t.client_thread, take(t.open(targetOf(echo), kDb, kWeb)), "a") == "a");
  CHECK(exchange(t.client_thread, take(t.open(targetOf(echo), kDb, kApi)), "b") == "b");
  CHECK(t.clientConnections() == 2);
  CHECK(t.serverStats().accepted == 2);
  const std::vector<StreamRequest> seen = recorder.seen();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].source == id(kWeb));
  CHECK(seen[1].source == id(kApi));
}

TEST_CASE("a dead connection fails its streams and leaves the pool to a new one") {
  TestUpstream echo("127.0.0.1", 0);
  Tunnel t;
  t.startServer();
  t.startClient();
  BlockingStream stream(t.client_thread, take(t.open(targetOf(echo))));
  const uint16_t port = t.server_address.port;
  t.stopServer();
  std::string got;
  const std::error_code ec = stream.readAll(&got);
  CHECK((ec == asio::error::connection_aborted || ec == asio::error::connection_reset));
  CHECK(waitFor([&] { return t.clientConnections() == 0; }));
  t.startServer({}, nullptr, {}, port);
  CHECK(exchange(t.client_thread, take(t.open(targetOf(echo))), "again") == "again");
  CHECK(t.clientStats().handshakes == 2);
  CHECK(t.clientConnections() == 1);
}

TEST_CASE("after an SVID rotation new streams get a new connection, old ones finish") {
  TestUpstream echo("127.0.0.1", 0);
  Tunnel t;
  t.startServer();
  t.startClient();
  TunnelStreamPtr old_stream = take(t.open(targetOf(echo)));
  REQUIRE(t.client_store->put(t.pki.svid(kWeb)).ok());  // the control thread's rotation
  TunnelStreamPtr new_stream = take(t.open(targetOf(echo)));
  CHECK(t.clientStats().handshakes == 2);
  CHECK(t.clientConnections() == 1);  // the old connection takes no new streams
  CHECK(t.serverConnections() == 2);
  CHECK(exchange(t.client_thread, std::move(old_stream), "old") == "old");
  // Its last stream done, the old connection closes (GOAWAY): the server sees it go.
  CHECK(waitFor([&] { return t.serverConnections() == 1; }));
  CHECK(exchange(t.client_thread, std::move(new_stream), "new") == "new");
  CHECK(exchange(t.client_thread, take(t.open(targetOf(echo))), "reused") == "reused");
  CHECK(t.clientStats().handshakes == 2);
}

TEST_CASE("closing the client abandons a dial in progress") {
  RawListener silent;  // accepts TCP, never answers the TLS handshake
  Tunnel t;
  TunnelClientOptions options;
  options.connect_timeout = absl::Hours(1);  // only closeAll can end this dial
  t.startClient({}, options);
  auto open = openThrough(t, silent.address());
  const int fd = silent.accept();
  REQUIRE(fd >= 0);
  char hello[512];
  REQUIRE(recvOnce(fd, hello, sizeof(hello)) > 0);  // the ClientHello: the handshake runs
  t.client_thread.run([&] {
    t.client->closeAll();
    return 0;
  });
  auto result = await(std::move(open));
  CHECK(result.status().code() == absl::StatusCode::kUnavailable);
  CHECK(messageOf(result.status()) == "tunnel client closed");
  ssize_t n = 0;
  do {
    n = recvOnce(fd, hello, sizeof(hello));
  } while (n > 0);
  CHECK(n != -2);  // the client's socket is gone (EOF or reset), not the safety deadline
  ::close(fd);
  CHECK(t.clientConnections() == 0);
  CHECK(t.clientStats().streams_failed == 1);
}

TEST_CASE("a node that never finishes the handshake fails the open at the deadline") {
  RawListener silent;
  Tunnel t;
  TunnelClientOptions options;
  options.connect_timeout = absl::Milliseconds(100);
  t.startClient({}, options);
  auto result = await(openThrough(t, silent.address()));
  CHECK(result.status().code() == absl::StatusCode::kUnavailable);
  CHECK(messageOf(result.status()).find("timed out") != std::string::npos);
  CHECK(t.clientStats().handshake_failures[HandshakeFailure::kTimeout] == 1);
  CHECK(t.clientConnections() == 0);
}

TEST_CASE("a node nobody listens on fails the open and is counted as a connect failure") {
  const std::string dead = closedPortTarget();
  Tunnel t;
  t.startClient();
  auto result = await(openThrough(t, take(parseTarget(dead))));
  CHECK(result.status().code() == absl::StatusCode::kUnavailable);
  CHECK(messageOf(result.status()).find("tunnel connect to 127.0.0.1:") == 0);
  CHECK(t.clientStats().connect_failures == 1);
  CHECK(t.clientStats().handshakes == 0);
  CHECK(t.clientConnections() == 0);
}

TEST_CASE("a source identity without an SVID cannot open streams") {
  Tunnel t;
  t.startServer();
  t.startClient();
  auto result = t.open("127.0.0.1:9", kDb, "spiffe://example.org/ns/prod/sa/nobody");
  CHECK(result.status().code() == absl::StatusCode::kNotFound);
  CHECK(t.clientConnections() == 0);
  CHECK(t.clientStats().streams_failed == 1);
  CHECK(t.serverStats().accepted == 0);
}

}  // namespace
}  // namespace weft::agent::tunnel::testing
