// What each end of the tunnel refuses, and how the refusal is counted: certificates from
// another CA, expired ones, another identity than expected, another trust domain, peers that
// do not speak h2. Misbehaving peers are raw TLS ends built here that present whatever they
// are given and verify nothing.

#include <openssl/ssl.h>

#include <asio/ssl.hpp>
#include <catch2/catch.hpp>
#include <mutex>
#include <optional>

#include "agent/tunnel/sni.h"
#include "common/net/asio.h"
#include "test/agent/testing/wait_for.h"
#include "test/agent/tunnel/tunnel_test_support.h"

namespace weft::agent::tunnel::testing {
namespace {

using weft::test::waitFor;

const char kCache[] = "spiffe://example.org/ns/prod/sa/cache";
const char kOtherWeb[] = "spiffe://other.org/ns/prod/sa/web";
const char kOtherDb[] = "spiffe://other.org/ns/prod/sa/db";

void useSvid(asio::ssl::context& context, const Svid& svid) {
  auto chain = common::identity::toStack(svid.intermediates);
  REQUIRE(SSL_CTX_use_cert_and_key(context.native_handle(), svid.leaf.get(), svid.key.get(),
                                   chain.get(), 1) == 1);
}

int selectH2(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
             unsigned int in_len, void*) {
  static const unsigned char kH2[] = {2, 'h', '2'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_len, kH2, sizeof(kH2), in, in_len) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// A TLS server that presents whatever it is given, whatever the client asks for; it verifies
// nothing and, with `h2`, agrees to h2.
class RawTlsServer {
 public:
  RawTlsServer(IoThread& thread, const Svid& svid, bool h2)
      : thread_(thread), context_(asio::ssl::context::tls_server), acceptor_(thread.executor()) {
    useSvid(context_, svid);
    if (h2) {
      SSL_CTX_set_alpn_select_cb(context_.native_handle(), selectH2, nullptr);
    }
    const auto loopback = take(common::IpAddress::Parse("127.0.0.1"));
    const std::error_code ec = thread.run([&] {
      std::error_code ec = common::openListener(acceptor_, {loopback, 0}, false);
      address_ = common::toSocketAddress(acceptor_.local_endpoint(ec));
      acceptor_.async_accept([this](const std::error_code& ec, asio::ip::tcp::socket s) {
        if (ec) {
          return;
        }
        tls_ = std::make_shared<SslStream>(std::move(s), context_);
        // The handler keeps the stream alive until the handshake is over.
        tls_->async_handshake(asio::ssl::stream_base::server,
                              [tls = tls_](const std::error_code&) {});
      });
      return ec;
    });
    REQUIRE_FALSE(ec);
  }
  ~RawTlsServer() {
    thread_.run([this] {
      std::error_code ignored;
      if (tls_ != nullptr) {
        tls_->lowest_layer().close(ignored);
      }
      acceptor_.close(ignored);
      return 0;
    });
  }
  const common::SocketAddress& address() const { return address_; }

 private:
  IoThread& thread_;
  asio::ssl::context context_;
  asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<SslStream> tls_;
  common::SocketAddress address_;
};

// A TLS client that presents `svid`, sends `server_name` (none when empty) and offers `alpn`
// (ALPN wire format); it verifies nothing. Returns how its handshake with `server` ended.
std::error_code rawClientHandshake(IoThread& thread, const common::SocketAddress& server,
                                   const Svid& svid, const std::string& server_name,
                                   const std::string& alpn = std::string("\x02h2", 3)) {
  asio::ssl::context context(asio::ssl::context::tls_client);
  useSvid(context, svid);
  REQUIRE(SSL_CTX_set_alpn_protos(context.native_handle(),
                                  reinterpret_cast<const unsigned char*>(alpn.data()),
                                  static_cast<unsigned int>(alpn.size())) == 0);
  return thread.run([&] {
    SslStream tls(asio::ip::tcp::socket(thread.executor()), context);
    if (!server_name.empty()) {
      SSL_set_tlsext_host_name(tls.native_handle(), server_name.c_str());
    }
    std::error_code ec;
    tls.lowest_layer().connect(common::toEndpoint(server), ec);
    if (!ec) {
      tls.handshake(asio::ssl::stream_base::client, ec);
    }
    if (!ec) {
      // TLS 1.3: the server checks the client's certificate after the client's handshake is
      // done; its verdict arrives as an alert on the first read.
      char byte;
      tls.read_some(asio::buffer(&byte, 1), ec);
    }
    return ec;
  });
}

// The roots of two trust domains in one bundle: chains from either verify, so only the
// trust-domain check can refuse a peer (the misconfiguration trust_bundle.h warns about).
TrustBundle mixedBundle(const TestPki& a, const TestPki& b) {
  common::identity::CertChain roots = common::identity::shareChain(a.ca.trustBundle());
  for (auto& root : b.ca.trustBundle()) {
    roots.push_back(std::move(root));
  }
  return take(TrustBundle::fromCertificates(roots));
}

TEST_CASE("the client refuses a server certificate from another CA") {
  Tunnel t;
  TestPki stranger;  // also example.org, but another CA
  t.startServer({stranger.svid(kDb)});
  t.startClient();
  auto result = t.open("127.0.0.1:9");
  CHECK(result.status().code() == absl::StatusCode::kUnauthenticated);
  CHECK(messageOf(result.status()).find("is not issued by a CA in the trust bundle") !=
        std::string::npos);
  CHECK(t.clientStats().handshake_failures[HandshakeFailure::kCertificate] == 1);
  CHECK(waitFor([&] { return t.serverStats().handshake_failures.total() == 1; }));
  CHECK(t.serverStats().handshakes == 0);
}

TEST_CASE("the server refuses a client certificate from another CA") {
  Tunnel t;
  TestPki stranger;
  t.startServer();
  // The client trusts the server's CA, so only the server has a reason to refuse.
  t.startClient({withBundle(*stranger.svid(kWeb), t.pki.bundle)});
  auto result = t.open("127.0.0.1:9");
  CHECK(result.status().code() == absl::StatusCode::kUnavailable);  // the server's alert
  CHECK(waitFor(
      [&] { return t.serverStats().handshake_failures[HandshakeFailure::kCertificate] == 1; }));
  CHECK(t.serverStats().handshakes == 0);
  CHECK(t.serverStats().streams == 0);
  // In TLS 1.3 the client's handshake is over before the server judges its certificate: to
  // the client, this is a connection that died, not a failed handshake.
  CHECK(t.clientStats().handshake_failures.total() == 0);
  CHECK(t.clientStats().streams_failed == 1);
  CHECK(t.clientConnections() == 0);
}

TEST_CASE("an expired certificate is refused on either end") {
  SECTION("the client's, by the server") {
    Tunnel t;
    t.startServer();
    t.startClient({t.pki.svid(kWeb, kNow - absl::Hours(3), absl::Hours(1))});
    CHECK_FALSE(t.open("127.0.0.1:9").ok());
    CHECK(waitFor(
        [&] { return t.serverStats().handshake_failures[HandshakeFailure::kCertificate] == 1; }));
    CHECK(t.serverStats().streams == 0);
  }
  SECTION("the server's, by the client") {
    Tunnel t;
    t.startServer({t.pki.svid(kDb, kNow - absl::Hours(3), absl::Hours(1))});
    t.startClient();
    auto result = t.open("127.0.0.1:9");
    CHECK(result.status().code() == absl::StatusCode::kUnauthenticated);
    CHECK(messageOf(result.status()).find("expired") != std::string::npos);
    CHECK(t.clientStats().handshake_failures[HandshakeFailure::kCertificate] == 1);
  }
}

TEST_CASE("the client refuses a server presenting another identity than it asked for") {
  Tunnel t;
  t.startClient();
  RawTlsServer impostor(t.server_thread, *t.pki.svid(kCache), true);
  auto result = await(openThrough(t, impostor.address()));
  CHECK(result.status().code() == absl::StatusCode::kPermissionDenied);
  CHECK(
      messageOf(result.status()) ==
      "peer is spiffe://example.org/ns/prod/sa/cache, expected spiffe://example.org/ns/prod/sa/db");
  CHECK(t.clientStats().handshake_failures[HandshakeFailure::kIdentity] == 1);
}

TEST_CASE("the server names the client by its certificate, not by the identity it claims") {
  Tunnel t;
  std::mutex mu;
  std::optional<SpiffeId> seen;
  t.startServer({}, [&](const StreamRequest& r) -> absl::StatusOr<common::SocketAddress> {
    std::lock_guard<std::mutex> lock(mu);
    seen = r.source;
    if (r.source != id(kWeb)) {
      return absl::PermissionDeniedError("only web may connect");
    }
    return parseTarget(r.target);
  });
  // The client opens as web but holds cache's certificate under that name.
  t.startClient({underIdentity(*t.pki.svid(kCache), kWeb)});
  auto result = t.open("127.0.0.1:9");
  CHECK(result.status().code() == absl::StatusCode::kPermissionDenied);
  CHECK(refusalStatus(result.status()) == 403);
  std::lock_guard<std::mutex> lock(mu);
  CHECK(seen == id(kCache));
}

TEST_CASE("the server refuses to present an identity it does not hold") {
  Tunnel t;
  t.startServer();
  t.startClient();
  auto result = t.open("127.0.0.1:9", "spiffe://example.org/ns/prod/sa/unknown");
  CHECK(result.status().code() == absl::StatusCode::kUnavailable);  // the server's alert
  CHECK(waitFor(
      [&] { return t.serverStats().handshake_failures[HandshakeFailure::kServerName] == 1; }));
}

TEST_CASE("the server refuses a client that sends no server name") {
  Tunnel t;
  t.startServer();
  CHECK(rawClientHandshake(t.client_thread, t.server_address, *t.pki.svid(kWeb), ""));
  CHECK(waitFor(
      [&] { return t.serverStats().handshake_failures[HandshakeFailure::kServerName] == 1; }));
}

TEST_CASE("a peer from another trust domain is refused even when its CA is trusted") {
  TestPki other("other.org");
  SECTION("by the client") {
    Tunnel t;
    const TrustBundle both = mixedBundle(t.pki, other);
    t.startClient({withBundle(*t.pki.svid(kWeb), both)});
    RawTlsServer stranger(t.server_thread, *other.svid(kOtherDb), true);
    auto result = await(openThrough(t, stranger.address()));
    CHECK(result.status().code() == absl::StatusCode::kPermissionDenied);
    CHECK(messageOf(result.status()) ==
          "peer spiffe://other.org/ns/prod/sa/db is in trust domain \"other.org\", expected "
          "\"example.org\"");
    CHECK(t.clientStats().handshake_failures[HandshakeFailure::kIdentity] == 1);
  }
  SECTION("by the server") {
    Tunnel t;
    const TrustBundle both = mixedBundle(t.pki, other);
    t.startServer({withBundle(*t.pki.svid(kDb), both)});
    CHECK(rawClientHandshake(t.client_thread, t.server_address, *other.svid(kOtherWeb),
                             take(encodeServerName(id(kDb)))));
    CHECK(waitFor(
        [&] { return t.serverStats().handshake_failures[HandshakeFailure::kIdentity] == 1; }));
    CHECK(t.serverStats().handshakes == 0);
  }
}

TEST_CASE("the client refuses a server that does not agree on h2") {
  Tunnel t;
  t.startClient();
  RawTlsServer http1(t.server_thread, *t.pki.svid(kDb), false);
  auto result = await(openThrough(t, http1.address()));
  CHECK(result.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(messageOf(result.status()) == "tunnel peer did not agree on ALPN \"h2\"");
  CHECK(t.clientStats().handshake_failures[HandshakeFailure::kAlpn] == 1);
}

TEST_CASE("the server refuses a client that does not offer h2") {
  Tunnel t;
  t.startServer();
  const std::string http1("\x08http/1.1", 9);
  CHECK(rawClientHandshake(t.client_thread, t.server_address, *t.pki.svid(kWeb),
                           take(encodeServerName(id(kDb))), http1));
  CHECK(waitFor([&] { return t.serverStats().handshake_failures[HandshakeFailure::kAlpn] == 1; }));
}

TEST_CASE("a raw client with a valid SVID gets through: the refusals above are the checks") {
  Tunnel t;
  t.startServer();
  CHECK_FALSE(rawClientHandshake(t.client_thread, t.server_address, *t.pki.svid(kWeb),
                                 take(encodeServerName(id(kDb)))));  // read the server's SETTINGS
  CHECK(waitFor([&] { return t.serverStats().handshakes == 1; }));
  CHECK(t.serverStats().handshake_failures.total() == 0);
}

TEST_CASE("handshake failure reasons have metric label names") {
  CHECK(handshakeFailureName(HandshakeFailure::kCertificate) == "certificate");
  CHECK(handshakeFailureName(HandshakeFailure::kIdentity) == "identity");
  CHECK(handshakeFailureName(HandshakeFailure::kServerName) == "server_name");
  CHECK(handshakeFailureName(HandshakeFailure::kAlpn) == "alpn");
  CHECK(handshakeFailureName(HandshakeFailure::kTimeout) == "timeout");
  CHECK(handshakeFailureName(HandshakeFailure::kTls) == "tls");
}

}  // namespace
}  // namespace weft::agent::tunnel::testing
