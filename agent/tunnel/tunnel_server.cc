#include "agent/tunnel/tunnel_server.h"

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "agent/tunnel/stream_relay.h"
#include "common/net/asio.h"
#include "common/util/status_macros.h"

namespace weft::agent::tunnel {
namespace {

using asio::ip::tcp;
using common::identity::SpiffeId;

// One accepted connection until its handshake is over.
struct Handshake {
  Handshake(std::unique_ptr<SslStream> stream, asio::any_io_executor executor)
      : tls(std::move(stream)), timer(std::move(executor)) {}

  std::unique_ptr<SslStream> tls;
  asio::steady_timer timer;
  TlsPeerState state;
  bool timed_out = false;
};

// The connect to a stream's target, under a deadline.
struct UpstreamConnect {
  explicit UpstreamConnect(const asio::any_io_executor& executor)
      : socket(executor), timer(executor) {}

  tcp::socket socket;
  asio::steady_timer timer;
  bool timed_out = false;
};

}  // namespace

absl::StatusOr<common::SocketAddress> parseTarget(absl::string_view authority) {
  absl::string_view host;
  absl::string_view port;
  const bool bracketed = absl::ConsumePrefix(&authority, "[");
  if (bracketed) {
    const size_t end = authority.find("]:");
    if (end != absl::string_view::npos) {
      host = authority.substr(0, end);
      port = authority.substr(end + 2);
    }
  } else if (const size_t colon = authority.rfind(':'); colon != absl::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  uint32_t port_number = 0;
  auto ip = common::IpAddress::Parse(host);
  if (!ip.ok() || (!bracketed && host.find(':') != absl::string_view::npos) ||
      !absl::SimpleAtoi(port, &port_number) || port_number == 0 || port_number > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("CONNECT target \"", authority.substr(0, 64), "\" is not ip:port"));
  }
  return common::SocketAddress{*ip, static_cast<uint16_t>(port_number)};
}

int httpStatusFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
      return 403;
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

class TunnelServer::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::any_io_executor executor, std::shared_ptr<ServerTlsContext> tls, StreamHandler handler,
       TunnelServerOptions options)
      : executor_(std::move(executor)),
        acceptor_(executor_),
        tls_(std::move(tls)),
        handler_(std::move(handler)),
        options_(std::move(options)) {}

  absl::Status listen(const common::SocketAddress& address) {
    if (std::error_code ec = common::openListener(acceptor_, address, options_.reuse_port)) {
      return absl::UnavailableError(
          absl::StrCat("tunnel listener on ", address.toString(), ": ", ec.message()));
    }
    accept();
    return absl::OkStatus();
  }

  common::SocketAddress localAddress() const {
    std::error_code ec;
    return common::toSocketAddress(acceptor_.local_endpoint(ec));
  }

  size_t connectionCount() const { return connections_.size(); }

  void stop() {
    stopped_ = true;
    std::error_code ignored;
    acceptor_.close(ignored);
    for (const auto& handshake : std::exchange(handshakes_, {})) {
      handshake->tls->lowest_layer().close(ignored);
      handshake->timer.cancel();
    }
    for (const auto& connection : std::exchange(connections_, {})) {
      connection->close(absl::UnavailableError("tunnel server stopped"));
    }
  }

  TunnelServerStats stats_;

 private:
  void accept() {
    acceptor_.async_accept([self = shared_from_this()](const std::error_code& ec, tcp::socket s) {
      if (self->stopped_ || ec == asio::error::operation_aborted) {
        return;
      }
      if (!ec) {
        self->handshake(std::move(s));
      }
      self->accept();
    });
  }

  void handshake(tcp::socket socket) {
    ++stats_.accepted;
    std::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto handshake = std::make_shared<Handshake>(
        std::make_unique<SslStream>(std::move(socket), tls_->context()), executor_);
    if (!tls_->prepare(handshake->tls->native_handle(), &handshake->state).ok()) {
      stats_.handshake_failures.add(HandshakeFailure::kTls);
      return;
    }
    handshakes_.insert(handshake);
    handshake->timer.expires_after(absl::ToChronoMilliseconds(options_.handshake_timeout));
    handshake->timer.async_wait(
        [weak = std::weak_ptr<Handshake>(handshake)](const std::error_code& ec) {
          if (auto handshake = weak.lock(); handshake != nullptr && !ec) {
            handshake->timed_out = true;
            std::error_code ignored;
            handshake->tls->lowest_layer().close(ignored);  // the handshake fails now
          }
        });
    handshake->tls->async_handshake(
        asio::ssl::stream_base::server,
        [self = shared_from_this(), handshake](const std::error_code& ec) {
          handshake->timer.cancel();
          if (self->handshakes_.erase(handshake) > 0) {  // not stopped meanwhile
            self->onHandshake(*handshake, ec);
          }
        });
  }

  void onHandshake(Handshake& handshake, const std::error_code& ec) {
    SSL* ssl = handshake.tls->native_handle();
    absl::StatusOr<SpiffeId> peer =
        ec ? handshakeError(handshake.state, ec) : checkHandshake(ssl, handshake.state);
    detachPeerState(ssl);
    if (!peer.ok()) {
      stats_.handshake_failures.add(handshake.timed_out ? HandshakeFailure::kTimeout
                                                        : classifyHandshakeError(peer.status()));
      std::error_code ignored;
      handshake.tls->lowest_layer().close(ignored);
      return;
    }
    ++stats_.handshakes;
    auto connection =
        H2Connection::create(H2Connection::Role::kServer, std::move(handshake.tls), options_.h2);
    if (!connection.ok()) {
      return;
    }
    serve(*std::move(connection), *std::move(peer), handshake.state.local->id);
  }

  void serve(std::shared_ptr<H2Connection> connection, SpiffeId source, SpiffeId destination) {
    connections_.insert(connection);
    std::weak_ptr<H2Connection> weak = connection;
    connection->start(
        nullptr,
        [self = shared_from_this(), source, destination](TunnelStreamPtr stream) {
          self->onStream(std::move(stream), StreamRequest{source, destination, ""});
        },
        [self = shared_from_this(), weak](const absl::Status&) {
          if (auto connection = weak.lock()) {
            self->connections_.erase(connection);
          }
        });
  }

  void onStream(TunnelStreamPtr stream, StreamRequest request) {
    ++stats_.streams;
    request.target = stream->authority();
    absl::StatusOr<common::SocketAddress> target = handler_(request);
    if (!target.ok()) {
      ++stats_.streams_denied;
      stream->answer(httpStatusFor(target.status()));
      return;
    }
    auto upstream = std::make_shared<UpstreamConnect>(executor_);
    upstream->timer.expires_after(absl::ToChronoMilliseconds(options_.connect_timeout));
    upstream->timer.async_wait(
        [weak = std::weak_ptr<UpstreamConnect>(upstream)](const std::error_code& ec) {
          if (auto upstream = weak.lock(); upstream != nullptr && !ec) {
            upstream->timed_out = true;
            std::error_code ignored;
            upstream->socket.close(ignored);  // the connect fails now
          }
        });
    upstream->socket.async_connect(
        common::toEndpoint(*target),
        [self = shared_from_this(), stream, upstream](const std::error_code& ec) {
          upstream->timer.cancel();
          self->onConnected(stream, *upstream, ec);
        });
  }

  void onConnected(const TunnelStreamPtr& stream, UpstreamConnect& upstream,
                   const std::error_code& ec) {
    if (ec) {
      ++stats_.upstream_failures;
      stream->answer(upstream.timed_out ? 504 : 502);
      return;
    }
    ++stats_.streams_opened;
    std::error_code ignored;
    upstream.socket.set_option(tcp::no_delay(true), ignored);
    stream->answer(200);
    relayStream(stream, std::move(upstream.socket), options_.relay_buffer,
                [self = shared_from_this()](const StreamRelayResult& result) {
                  if (result.outcome == StreamRelayOutcome::kFailed) {
                    ++self->stats_.relays_failed;
                  }
                });
  }

  asio::any_io_executor executor_;
  tcp::acceptor acceptor_;
  std::shared_ptr<ServerTlsContext> tls_;
  StreamHandler handler_;
  TunnelServerOptions options_;
  absl::flat_hash_set<std::shared_ptr<Handshake>> handshakes_;
  absl::flat_hash_set<std::shared_ptr<H2Connection>> connections_;
  bool stopped_ = false;
};

absl::StatusOr<std::unique_ptr<TunnelServer>> TunnelServer::create(
    asio::any_io_executor executor, std::shared_ptr<const CertificateStore> certificates,
    StreamHandler handler, TunnelServerOptions options) {
  ASSIGN_OR_RETURN(std::shared_ptr<ServerTlsContext> tls,
                   ServerTlsContext::create(std::move(certificates), options.clock));
  auto impl = std::make_shared<Impl>(std::move(executor), std::move(tls), std::move(handler),
                                     std::move(options));
  return std::unique_ptr<TunnelServer>(new TunnelServer(std::move(impl)));
}

TunnelServer::~TunnelServer() {
  impl_->stop();
}

absl::Status TunnelServer::listen(const common::SocketAddress& address) {
  return impl_->listen(address);
}

common::SocketAddress TunnelServer::localAddress() const {
  return impl_->localAddress();
}

size_t TunnelServer::connectionCount() const {
  return impl_->connectionCount();
}

void TunnelServer::stop() {
  impl_->stop();
}

const TunnelServerStats& TunnelServer::stats() const {
  return impl_->stats_;
}

}  // namespace weft::agent::tunnel
