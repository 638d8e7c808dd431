// The agent's whole cross-node path over loopback: a "pod" connects to a listener on the
// client's thread (the outbound capture), which opens a stream and relays the pod's socket
// into it (relayStream); the server relays the stream to the upstream.

#include "agent/tunnel/stream_relay.h"

#include <sys/socket.h>

#include <asio/ip/tcp.hpp>
#include <catch2/catch.hpp>

#include "common/net/asio.h"
#include "test/agent/testing/blocking_client.h"
#include "test/agent/testing/test_upstream.h"
#include "test/agent/tunnel/tunnel_test_support.h"

namespace weft::agent::tunnel::testing {
namespace {

using asio::ip::tcp;
using weft::test::BlockingClient;
using weft::test::TestUpstream;

// Accepts one pod connection on the client's thread and relays it through the tunnel to
// `target`; the relay's result (or the open's error) lands in `done`.
class OutboundCapture {
 public:
  OutboundCapture(Tunnel& t, std::string target) : t_(t), acceptor_(t.client_thread.executor()) {
    const auto loopback = take(common::IpAddress::Parse("127.0.0.1"));
    const SpiffeId source = id(kWeb);
    const SpiffeId destination = id(kDb);
    const std::error_code ec = t.client_thread.run([&] {
      std::error_code ec = common::openListener(acceptor_, {loopback, 0}, false);
      address_ = common::toSocketAddress(acceptor_.local_endpoint(ec));
      acceptor_.async_accept([this, target = std::move(target), source, destination](
                                 const std::error_code& ec, tcp::socket pod) {
        if (!ec) {
          relay(std::move(pod), source, destination, target);
        }
      });
      return ec;
    });
    REQUIRE_FALSE(ec);
  }
  ~OutboundCapture() {
    t_.client_thread.run([this] {
      std::error_code ignored;
      acceptor_.close(ignored);
      return 0;
    });
  }

  const common::SocketAddress& address() const { return address_; }
  absl::StatusOr<StreamRelayResult> result() { return await(done_.get_future()); }

 private:
  void relay(tcp::socket pod, const SpiffeId& source, const SpiffeId& destination,
             std::string target) {
    auto socket = std::make_shared<tcp::socket>(std::move(pod));
    t_.client->openStream(
        source, t_.server_address, destination, std::move(target),
        [this, socket](absl::StatusOr<TunnelStreamPtr> stream) {
          if (!stream.ok()) {
            // The pod learns of the failure as the agent will tell it: a reset.
            std::error_code ignored;
            socket->set_option(asio::socket_base::linger(true, 0), ignored);
            socket->close(ignored);
            done_.set_value(stream.status());
            return;
          }
          relayStream(*std::move(stream), std::move(*socket), 16 << 10,
                      [this](const StreamRelayResult& result) { done_.set_value(result); });
        });
  }

  Tunnel& t_;
  tcp::acceptor acceptor_;
  common::SocketAddress address_;
  std::promise<absl::StatusOr<StreamRelayResult>> done_;
};

TEST_CASE("a pod's connection relayed through the tunnel reaches the upstream and back") {
  TestUpstream echo("127.0.0.1", 0);
  Tunnel t;
  t.startServer();
  t.startClient();
  OutboundCapture capture(t, "127.0.0.1:" + std::to_string(echo.port()));
  BlockingClient pod;
  REQUIRE(pod.connect(capture.address()));
  const std::string data = pattern(1 << 20);
  REQUIRE(pod.sendAll(data));
  pod.shutdownWrite();  // the pod's FIN travels as END_STREAM, the echo's back as a FIN
  std::string back;
  CHECK(pod.readToEof(back));
  CHECK(back == data);
  StreamRelayResult result = take(capture.result());
  CHECK(result.outcome == StreamRelayOutcome::kCompleted);
  CHECK(result.to_stream == data.size());
  CHECK(result.to_socket == data.size());
}

TEST_CASE("an upstream's reset reaches the pod as a TCP reset") {
  RawListener upstream;
  Tunnel t;
  t.startServer();
  t.startClient();
  OutboundCapture capture(t, upstream.target());
  BlockingClient pod;
  REQUIRE(pod.connect(capture.address()));
  const int fd = upstream.accept();
  REQUIRE(fd >= 0);
  REQUIRE(pod.sendAll("x"));
  char byte;
  REQUIRE(recvOnce(fd, &byte, 1) == 1);  // the stream is up and both relays run
  closeWithReset(fd);
  std::string got;
  CHECK_FALSE(pod.readToEof(got));
  CHECK(pod.lastErrno() == ECONNRESET);
  CHECK(take(capture.result()).outcome == StreamRelayOutcome::kFailed);
}

TEST_CASE("a refused stream hands the capture the peer's status instead of a stream") {
  Tunnel t;
  t.startServer({}, [](const StreamRequest&) -> absl::StatusOr<common::SocketAddress> {
    return absl::PermissionDeniedError("no");
  });
  t.startClient();
  OutboundCapture capture(t, "127.0.0.1:9");
  BlockingClient pod;
  REQUIRE(pod.connect(capture.address()));
  auto result = capture.result();
  CHECK(result.status().code() == absl::StatusCode::kPermissionDenied);
  CHECK(refusalStatus(result.status()) == 403);
  std::string got;
  CHECK_FALSE(pod.readToEof(got));
  CHECK(pod.lastErrno() == ECONNRESET);
}

}  // namespace
}  // namespace weft::agent::tunnel::testing
