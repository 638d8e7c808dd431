#include "agent/proxy/outbound_connection.h"

#include <netinet/tcp.h>

#include <asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <utility>

#include "agent/tunnel/stream_relay.h"
#include "common/net/asio.h"
#include "spdlog/spdlog.h"

namespace weft::agent::proxy {
namespace {

using asio::ip::tcp;
using common::toEndpoint;
using common::toSocketAddress;
using telemetry::FailureReason;

// A connect that fails on one endpoint is tried once more on another.
constexpr int kMaxConnectAttempts = 2;

// Closes with RST so the client sees a refused connection rather than an empty response.
void reset(tcp::socket& socket) {
  asio::error_code ignored;
  socket.set_option(asio::socket_base::linger(true, 0), ignored);
  socket.close(ignored);
}

std::string labelOrUnknown(const std::string& value) {
  return value.empty() ? "unknown" : value;
}

std::string principalOf(const std::optional<common::identity::SpiffeId>& identity) {
  return identity.has_value() ? identity->toString() : "unknown";
}

class OutboundConnection : public std::enable_shared_from_this<OutboundConnection> {
 public:
  OutboundConnection(WorkerContext& context, tcp::socket client)
      : context_(context),
        client_(std::move(client)),
        upstream_(client_.get_executor()),
        timer_(client_.get_executor()) {}

  void start() {
    asio::error_code peer_ec, local_ec;
    const tcp::endpoint peer = client_.remote_endpoint(peer_ec);
    const tcp::endpoint local = client_.local_endpoint(local_ec);
    if (peer_ec || local_ec) {
      // The client went away between accept and now; nothing to look up.
      fail(FailureReason::kAcceptError);
      return;
    }
    peer_ = toSocketAddress(peer);
    auto destination = context_.destinations.lookup(peer_, toSocketAddress(local));
    if (!destination.ok()) {
      spdlog::debug("{}: no original destination: {}", peer_.toString(),
                    std::string(destination.status().message()));
      fail(FailureReason::kNoOriginalDestination);
      return;
    }
    vip_ = destination->address;
    snapshot_ = context_.config.current();
    source_ = snapshot_ != nullptr ? snapshot_->findWorkload(peer_.ip) : nullptr;
    target_ = snapshot_ != nullptr ? snapshot_->findService(vip_) : nullptr;
    if (target_ == nullptr) {
      fail(FailureReason::kUnknownService);
      return;
    }
    connectNext(std::nullopt);
  }

 private:
  void connectNext(std::optional<size_t> excluded) {
    const auto picked = context_.load_balancer.pick(*target_, vip_, excluded);
    if (!picked.has_value()) {
      fail(attempts_ == 0 ? FailureReason::kNoEndpoints : FailureReason::kUpstreamUnavailable);
      return;
    }
    ++attempts_;
    endpoint_index_ = *picked;
    const common::SocketAddress& endpoint = target_->endpoints[*picked].address;
    active_ = ActiveConnection(context_.load_balancer, endpoint);
    if (target_->endpoints[*picked].viaTunnel()) {
      openTunnelStream(target_->endpoints[*picked]);
      return;
    }
    timed_out_ = false;
    asio::error_code ignored;
    upstream_.close(ignored);
    if (target_->endpoints[*picked].local) {
      announceToFastPath(endpoint);
    }
    timer_.expires_after(context_.connect_timeout);
    timer_.async_wait([self = shared_from_this(), attempt = attempts_](const asio::error_code& ec) {
      // An expiry queued just before the connect completed must not touch a later attempt.
      if (!ec && attempt == self->attempts_ && !self->connected_) {
        self->timed_out_ = true;
        asio::error_code ignored;
        self->upstream_.close(ignored);  // aborts the pending connect
      }
    });
    upstream_.async_connect(
        toEndpoint(endpoint),
        [self = shared_from_this()](const asio::error_code& ec) { self->onConnected(ec); });
  }

  // Binds the upstream socket to learn its port, and tells the fast path which connection is
  // coming, so the pod's end joins it when established. Any failure just means no fast path.
  void announceToFastPath(const common::SocketAddress& endpoint) {
    if (context_.fast_path == nullptr) {
      return;
    }
    const tcp::endpoint any(toEndpoint(endpoint).protocol(), 0);
    asio::error_code ec;
    upstream_.open(any.protocol(), ec);
    if (!ec) {
      upstream_.bind(any, ec);
    }
    const uint16_t port = ec ? 0 : upstream_.local_endpoint(ec).port();
    if (ec || !context_.fast_path->expect(endpoint, port).ok()) {
      return;
    }
    announced_ = {endpoint, port};
  }

  void forgetAnnouncement() {
    if (announced_.has_value()) {
      context_.fast_path->forget(announced_->first, announced_->second);
      announced_.reset();
    }
  }

  void onConnected(const asio::error_code& ec) {
    timer_.cancel();
    forgetAnnouncement();
    if (ec || timed_out_) {
      context_.metrics.countFailure(timed_out_ ? FailureReason::kConnectTimeout
                                               : FailureReason::kConnectError);
      spdlog::debug("{} -> {}: connect to {} failed: {}", peer_.toString(), vip_.toString(),
                    target_->endpoints[endpoint_index_].address.toString(),
                    timed_out_ ? "timed out" : ec.message());
      active_.release();
      if (attempts_ < kMaxConnectAttempts) {
        connectNext(endpoint_index_);
      } else {
        fail(FailureReason::kUpstreamUnavailable);
      }
      return;
    }
    connected_ = true;
    relay();
  }

  // Asks the endpoint's node agent for a stream to it, as the client's workload identity.
  void openTunnelStream(const config::EndpointInfo& endpoint) {
    if (source_ == nullptr || !source_->identity.has_value()) {
      fail(FailureReason::kNoSourceIdentity);
      return;
    }
    if (context_.tunnel == nullptr) {
      fail(FailureReason::kUpstreamUnavailable);
      return;
    }
    context_.tunnel->openStream(
        *source_->identity, common::SocketAddress{*endpoint.node_ip, context_.tunnel_port},
        *endpoint.identity, endpoint.address.toString(),
        // Called once; nothing else happens to this connection meanwhile (no timer: the
        // tunnel client times the dial and handshake out itself).
        [self = shared_from_this()](absl::StatusOr<tunnel::TunnelStreamPtr> s) {
          self->onTunnelStream(std::move(s));
        });
  }

  void onTunnelStream(absl::StatusOr<tunnel::TunnelStreamPtr> stream) {
    if (stream.ok()) {
      relayThroughTunnel(*std::move(stream));
      return;
    }
    const config::EndpointInfo& endpoint = target_->endpoints[endpoint_index_];
    spdlog::debug("{} -> {}: tunnel to {} via {} failed: {}", peer_.toString(), vip_.toString(),
                  endpoint.address.toString(), endpoint.node_ip->toString(),
                  std::string(stream.status().message()));
    active_.release();
    if (stream.status().code() == absl::StatusCode::kPermissionDenied) {
      fail(FailureReason::kTunnelDenied);  // another endpoint would be denied alike
      return;
    }
    context_.metrics.countFailure(FailureReason::kTunnelError);
    if (attempts_ < kMaxConnectAttempts) {
      connectNext(endpoint_index_);
    } else {
      fail(FailureReason::kUpstreamUnavailable);
    }
  }

  void relayThroughTunnel(tunnel::TunnelStreamPtr stream) {
    asio::error_code ignored;
    client_.set_option(tcp::no_delay(true), ignored);
    const telemetry::ConnectionCounters counters = countersFor("mutual_tls");
    counters.opened->Increment();
    context_.metrics.countRelay(telemetry::RelayMode::kTunnel);
    tunnel::relayStream(
        std::move(stream), std::move(client_), context_.tunnel_relay_buffer,
        [self = shared_from_this(), counters](const tunnel::StreamRelayResult& result) {
          counters.received_bytes->Increment(static_cast<double>(result.to_stream));
          counters.sent_bytes->Increment(static_cast<double>(result.to_socket));
          counters.closed->Increment();
          if (result.outcome == tunnel::StreamRelayOutcome::kFailed) {
            self->context_.metrics.countFailure(FailureReason::kRelayError);
          }
          self->active_.release();
        });
  }

  // The connection's counters, resolved once.
  telemetry::ConnectionCounters countersFor(const std::string& security_policy) {
    const config::EndpointInfo& endpoint = target_->endpoints[endpoint_index_];
    return context_.metrics.connectionCounters(telemetry::ConnectionLabels{
        .source_workload = source_ != nullptr ? source_->workload_label : "unknown",
        .source_namespace = source_ != nullptr ? source_->namespace_name : "unknown",
        .source_principal = principalOf(source_ != nullptr ? source_->identity : std::nullopt),
        .destination_service = target_->fqdn,
        .destination_workload = labelOrUnknown(endpoint.workload_label),
        .destination_namespace = labelOrUnknown(endpoint.namespace_name),
        .destination_principal = principalOf(endpoint.identity),
        .connection_security_policy = security_policy,
    });
  }

  void relay() {
    asio::error_code ignored;
    client_.set_option(tcp::no_delay(true), ignored);
    upstream_.set_option(tcp::no_delay(true), ignored);
    const config::EndpointInfo& endpoint = target_->endpoints[endpoint_index_];
    const telemetry::ConnectionCounters counters = countersFor("none");
    counters.opened->Increment();
    RelayJob job{
        .client = std::move(client_),
        .upstream = std::move(upstream_),
        .counters = counters,
        .same_node = endpoint.local,
        .service_has_local_endpoint = target_->has_local_endpoint,
    };
    context_.relay.start(std::move(job),
                         [self = shared_from_this(), closed = counters.closed](RelayOutcome o) {
                           closed->Increment();
                           if (o == RelayOutcome::kFailed) {
                             self->context_.metrics.countFailure(FailureReason::kRelayError);
                           }
                           self->active_.release();
                         });
  }

  void fail(FailureReason reason) {
    forgetAnnouncement();
    context_.metrics.countFailure(reason);
    reset(client_);
    asio::error_code ignored;
    upstream_.close(ignored);
    active_.release();
  }

  WorkerContext& context_;
  tcp::socket client_;
  tcp::socket upstream_;
  asio::steady_timer timer_;
  common::SocketAddress peer_;
  common::SocketAddress vip_;
  config::ConfigSnapshotPtr snapshot_;  // keeps target_ alive for the connection's life
  const config::ServiceTarget* target_ = nullptr;
  const config::WorkloadInfo* source_ = nullptr;  // the client's workload, when it is one
  size_t endpoint_index_ = 0;
  int attempts_ = 0;
  bool timed_out_ = false;
  bool connected_ = false;
  ActiveConnection active_;
  std::optional<std::pair<common::SocketAddress, uint16_t>> announced_;  // endpoint, our port
};

}  // namespace

void startOutboundConnection(WorkerContext& context, tcp::socket client) {
  std::make_shared<OutboundConnection>(context, std::move(client))->start();
}

}  // namespace weft::agent::proxy
