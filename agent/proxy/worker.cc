#include "agent/proxy/worker.h"

#include <sys/socket.h>

#include <asio/socket_base.hpp>

#include "absl/strings/str_cat.h"
#include "agent/proxy/inbound_route.h"
#include "common/net/asio.h"
#include "spdlog/spdlog.h"

namespace weft::agent::proxy {
namespace {

using asio::ip::tcp;

// After an accept error such as EMFILE, wait a little instead of spinning on it.
constexpr std::chrono::milliseconds kAcceptBackoff{50};

absl::Status listenError(const common::SocketAddress& address, const asio::error_code& ec) {
  return absl::UnavailableError(
      absl::StrCat("outbound listener ", address.toString(), ": ", ec.message()));
}

}  // namespace

Worker::Worker(const ProxyDependencies& deps, const ProxyOptions& options,
               telemetry::LogLimiter& decision_log)
    : deps_(deps),
      load_balancer_(deps.make_random()),
      relay_(deps.make_relay()),
      fast_path_relay_(deps.fast_path == nullptr
                           ? nullptr
                           : std::make_unique<FastPathRelay>(*deps.fast_path, *relay_, deps.metrics,
                                                             options.fast_path)),
      authorizers_(deps.metrics, decision_log),
      context_{deps.config,
               deps.destinations,
               deps.metrics,
               load_balancer_,
               fast_path_relay_ != nullptr ? static_cast<Relay&>(*fast_path_relay_) : *relay_,
               options.connect_timeout,
               deps.fast_path} {
  if (deps.certificates != nullptr) {
    tunnel_client_ = std::make_unique<tunnel::TunnelClient>(io_.get_executor(), deps.certificates);
    context_.tunnel = tunnel_client_.get();
    context_.tunnel_port = options.tunnel_port;
  }
}

absl::StatusOr<common::SocketAddress> Worker::listenTunnel(const common::SocketAddress& address) {
  if (deps_.certificates == nullptr || tunnel_server_ != nullptr) {
    return absl::FailedPreconditionError("a worker serves the tunnel once, with certificates");
  }
  auto server = tunnel::TunnelServer::create(
      io_.get_executor(), deps_.certificates,
      [this](const tunnel::StreamRequest& request) {
        // Runs on this worker's thread only, as the cache requires.
        const config::ConfigSnapshotPtr snapshot = deps_.config.current();
        return routeInboundStream(
            snapshot != nullptr ? authorizers_.forSnapshot(snapshot).get() : nullptr, request);
      },
      tunnel::TunnelServerOptions{.reuse_port = true});
  if (!server.ok()) {
    return server.status();
  }
  if (auto status = (*server)->listen(address); !status.ok()) {
    return absl::UnavailableError(absl::StrCat("tunnel listener: ", status.message()));
  }
  tunnel_server_ = *std::move(server);
  return tunnel_server_->localAddress();
}

const tunnel::TunnelClientStats* Worker::tunnelClientStats() const {
  return tunnel_client_ != nullptr ? &tunnel_client_->stats() : nullptr;
}

const tunnel::TunnelServerStats* Worker::tunnelServerStats() const {
  return tunnel_server_ != nullptr ? &tunnel_server_->stats() : nullptr;
}

absl::StatusOr<common::SocketAddress> Worker::listen(const common::SocketAddress& address) {
  auto acceptor = std::make_unique<tcp::acceptor>(io_);
  asio::error_code ec = common::openListener(*acceptor, address, /*reuse_port=*/true);
  const tcp::endpoint bound = ec ? tcp::endpoint() : acceptor->local_endpoint(ec);
  if (ec) {
    return listenError(address, ec);
  }
  accept(*acceptor);
  acceptors_.push_back(std::move(acceptor));
  return common::toSocketAddress(bound);
}

void Worker::run() {
  io_.run();
}

void Worker::accept(tcp::acceptor& acceptor) {
  acceptor.async_accept([this, &acceptor](const asio::error_code& ec, tcp::socket client) {
    if (ec == asio::error::operation_aborted) {
      return;
    }
    if (ec) {
      context_.metrics.countFailure(telemetry::FailureReason::kAcceptError);
      spdlog::warn("outbound accept failed: {}", ec.message());
      acceptLater(acceptor);
      return;
    }
    startOutboundConnection(context_, std::move(client));
    accept(acceptor);
  });
}

void Worker::acceptLater(tcp::acceptor& acceptor) {
  auto timer = std::make_shared<asio::steady_timer>(io_, kAcceptBackoff);
  timer->async_wait([this, &acceptor, timer](const asio::error_code& ec) {
    if (!ec) {
      accept(acceptor);
    }
  });
}

}  // namespace weft::agent::proxy
