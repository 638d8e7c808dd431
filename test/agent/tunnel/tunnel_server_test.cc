// The inbound end over loopback: what the StreamHandler is asked, how its answers and the
// upstream connect turn into HTTP statuses, and the server's own deadlines.

#include <sys/socket.h>

#include <atomic>
#include <catch2/catch.hpp>

#include "test/agent/testing/blocking_client.h"
#include "test/agent/testing/test_upstream.h"
#include "test/agent/testing/wait_for.h"
#include "test/agent/tunnel/tunnel_test_support.h"

namespace weft::agent::tunnel::testing {
namespace {

using weft::test::BlockingClient;
using weft::test::TestUpstream;
using weft::test::waitFor;

TEST_CASE("the handler is asked with both verified identities and the CONNECT target") {
  TestUpstream echo("127.0.0.1", 0);
  Tunnel t;
  std::promise<StreamRequest> asked;
  t.startServer({}, [&](const StreamRequest& r) {
    asked.set_value(r);
    return parseTarget(r.target);
  });
  t.startClient();
  CHECK(exchange(t.client_thread, take(t.open(targetOf(echo))), "hello") == "hello");
  const StreamRequest request = await(asked.get_future());
  CHECK(request.source == id(kWeb));
  CHECK(request.destination == id(kDb));
  CHECK(request.target == targetOf(echo));
}

TEST_CASE("a denied stream is answered 403, connects nowhere, and the connection stays up") {
  TestUpstream echo("127.0.0.1", 0);
  Tunnel t;
  std::atomic<int> asked{0};
  t.startServer({}, [&](const StreamRequest& r) -> absl::StatusOr<common::SocketAddress> {
    if (++asked == 1) {
      return absl::PermissionDeniedError("web may not reach this port");
    }
    return parseTarget(r.target);
  });
  t.startClient();
  auto denied = t.open(targetOf(echo));
  CHECK(denied.status().code() == absl::StatusCode::kPermissionDenied);
  CHECK(messageOf(denied.status()) ==
        "tunnel peer answered CONNECT " + targetOf(echo) + " with 403");
  CHECK(refusalStatus(denied.status()) == 403);
  // The same target, allowed now. Had the denied stream connected, that connect would have
  // been accepted before this one.
  CHECK(exchange(t.client_thread, take(t.open(targetOf(echo))), "allowed") == "allowed");
  CHECK(echo.accepted() == 1);
  CHECK(t.serverStats().accepted == 1);
  CHECK(t.serverStats().streams_denied == 1);
  CHECK(t.serverStats().streams_opened == 1);
  CHECK(t.clientStats().streams_refused == 1);
  CHECK(t.clientStats().streams_opened == 1);
}

TEST_CASE("the handler's errors become HTTP statuses, and the client's codes follow them") {
  struct Row {
    absl::Status handler_error;
    int status;
    absl::StatusCode client_code;
  };
  const Row rows[] = {
      {absl::PermissionDeniedError("policy"), 403, absl::StatusCode::kPermissionDenied},
      {absl::UnauthenticatedError("policy"), 403, absl::StatusCode::kPermissionDenied},
      {absl::InvalidArgumentError("target"), 400, absl::StatusCode::kInvalidArgument},
      {absl::NotFoundError("no such pod"), 404, absl::StatusCode::kNotFound},
      {absl::UnavailableError("draining"), 503, absl::StatusCode::kUnavailable},
      {absl::InternalError("bug"), 500, absl::StatusCode::kUnknown},
  };
  Tunnel t;
  std::atomic<size_t> row{0};
  t.startServer({}, [&](const StreamRequest&) -> absl::StatusOr<common::SocketAddress> {
    return rows[row].handler_error;
  });
  t.startClient();
  for (; row < std::size(rows); ++row) {
    const Row& r = rows[row];
    INFO(r.handler_error.ToString());
    CHECK(httpStatusFor(r.handler_error) == r.status);
    auto result = t.open("127.0.0.1:9");
    CHECK(result.status().code() == r.client_code);
    CHECK(refusalStatus(result.status()) == r.status);
  }
  CHECK(t.serverStats().accepted == 1);
  CHECK(t.serverStats().streams_denied == std::size(rows));
}

TEST_CASE("a target that is not ip:port is answered 400") {
  Tunnel t;
  t.startServer();
  t.startClient();
  auto result = t.open("db.prod.svc:80");
  CHECK(result.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(refusalStatus(result.status()) == 400);
}

TEST_CASE("a target nobody listens on is answered 502") {
  const std::string dead = closedPortTarget();
  Tunnel t;
  t.startServer();
  t.startClient();
  auto result = t.open(dead);
  CHECK(result.status().code() == absl::StatusCode::kUnavailable);
  CHECK(refusalStatus(result.status()) == 502);
  CHECK(t.serverStats().upstream_failures == 1);
}

TEST_CASE("a connect to the target that does not complete in time is answered 504") {
  RawListener full(0);
  BlockingClient filler;  // takes the one place in the accept queue: later SYNs are dropped
  REQUIRE(filler.connect(full.address()));
  Tunnel t;
  TunnelServerOptions options;
  options.connect_timeout = absl::Milliseconds(100);
  t.startServer({}, nullptr, options);
  t.startClient();
  auto result = t.open(full.target());
  CHECK(result.status().code() == absl::StatusCode::kUnavailable);
  CHECK(refusalStatus(result.status()) == 504);
  CHECK(t.serverStats().upstream_failures == 1);
}

TEST_CASE("a client that does not finish its handshake is dropped at the deadline") {
  Tunnel t;
  TunnelServerOptions options;
  options.handshake_timeout = absl::Milliseconds(100);
  t.startServer({}, nullptr, options);
  BlockingClient idle;  // connects and sends nothing
  REQUIRE(idle.connect(t.server_address));
  std::string got;
  CHECK(idle.readToEof(got));  // the server closed it
  CHECK(got.empty());
  CHECK(
      waitFor([&] { return t.serverStats().handshake_failures[HandshakeFailure::kTimeout] == 1; }));
  CHECK(t.serverStats().handshakes == 0);
}

TEST_CASE("with reuse_port, one server per worker listens on the same port") {
  TestUpstream echo("127.0.0.1", 0);
  TunnelServerOptions options;
  options.reuse_port = true;
  options.clock = fixedClock();
  Tunnel t;
  t.startServer({}, nullptr, options);
  IoThread second_thread;
  auto store = t.pki.store({t.pki.svid(kDb)});
  std::unique_ptr<TunnelServer> second = take(second_thread.run([&] {
    return TunnelServer::create(
        second_thread.executor(), store,
        [](const StreamRequest& r) { return parseTarget(r.target); }, options);
  }));
  CHECK(second_thread.run([&] { return second->listen(t.server_address); }).ok());
  t.startClient();
  CHECK(exchange(t.client_thread, take(t.open(targetOf(echo))), "either") == "either");
  CHECK(t.serverStats().accepted + second->stats().accepted == 1);
  second_thread.run([&] {
    second.reset();
    return 0;
  });
}

TEST_CASE("without reuse_port a second server cannot take the port") {
  Tunnel t;
  t.startServer();
  IoThread second_thread;
  auto store = t.pki.store({t.pki.svid(kDb)});
  auto status = second_thread.run([&] {
    auto second = TunnelServer::create(second_thread.executor(), store, nullptr);
    return second.ok() ? (*second)->listen(t.server_address) : second.status();
  });
  CHECK(status.code() == absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace weft::agent::tunnel::testing
