#pragma once

// One data-path thread: its own io_context, its own SO_REUSEPORT acceptors on the outbound
// port, its own load-balancer state, its own tunnel client (a pool of connections to other
// nodes' agents) and tunnel server (15008). Workers share nothing but read-only config
// snapshots, the SVIDs and thread-safe metric counters.

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "agent/capture/capture.h"
#include "agent/capture/fast_path.h"
#include "agent/config/config_store.h"
#include "agent/policy/inbound_authorizer.h"
#include "agent/proxy/fast_path_relay.h"
#include "agent/proxy/load_balancer.h"
#include "agent/proxy/outbound_connection.h"
#include "agent/proxy/relay.h"
#include "agent/telemetry/metrics.h"
#include "agent/tunnel/certificate_store.h"
#include "agent/tunnel/tunnel_client.h"
#include "agent/tunnel/tunnel_server.h"
#include "common/net/address.h"

namespace weft::agent::proxy {

struct ProxyOptions {
  std::vector<common::SocketAddress> listen;  // outbound listener addresses (port 0: any)
  int workers = 1;
  std::chrono::milliseconds connect_timeout{5000};
  FastPathRelayOptions fast_path;  // used only with ProxyDependencies::fast_path
  // The tunnel (used only with ProxyDependencies::certificates): where this agent serves it
  // (empty: nowhere), and the port every node's agent serves it on.
  std::vector<common::SocketAddress> tunnel_listen;
  uint16_t tunnel_port = 15008;
};

struct ProxyDependencies {
  const config::ConfigStore& config;
  const capture::OriginalDestinationTable& destinations;
  telemetry::Metrics& metrics;
  // Each worker gets its own relay and random source, used only on that worker's thread.
  // The relay moves bytes in user space: for every connection without a fast path, and
  // otherwise for connections to other nodes and same-node ones the kernel cannot take.
  std::function<std::unique_ptr<Relay>()> make_relay;
  std::function<std::unique_ptr<Random>()> make_random;
  // The same-node fast path (shared by all workers); nullptr relays everything in user space.
  capture::FastPath* fast_path = nullptr;
  // This agent's SVIDs, shared by all workers' tunnel ends; nullptr: no tunnel.
  std::shared_ptr<const tunnel::CertificateStore> certificates;
};

class Worker {
 public:
  // `decision_log` limits the authorization log lines of every worker.
  Worker(const ProxyDependencies& deps, const ProxyOptions& options,
         telemetry::LogLimiter& decision_log);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Opens an SO_REUSEPORT acceptor on `address` and returns the address it bound.
  absl::StatusOr<common::SocketAddress> listen(const common::SocketAddress& address);
  // Serves the tunnel on `address` (SO_REUSEPORT); the address it bound. Needs certificates.
  absl::StatusOr<common::SocketAddress> listenTunnel(const common::SocketAddress& address);
  // Tunnel counters (null without a tunnel); readable from any thread.
  const tunnel::TunnelClientStats* tunnelClientStats() const;
  const tunnel::TunnelServerStats* tunnelServerStats() const;
  // Serves until stop(); call on the worker's own thread.
  void run();
  // Thread-safe; open connections are dropped when the worker is destroyed.
  void stop() { io_.stop(); }

 private:
  void accept(asio::ip::tcp::acceptor& acceptor);
  void acceptLater(asio::ip::tcp::acceptor& acceptor);

  const ProxyDependencies& deps_;
  LoadBalancer load_balancer_;
  std::unique_ptr<Relay> relay_;
  std::unique_ptr<FastPathRelay> fast_path_relay_;  // wraps relay_; null without a fast path
  policy::InboundAuthorizerCache authorizers_;      // for the tunnel server's streams
  WorkerContext context_;
  // Declared after the state its handlers use, so pending connections die first.
  asio::io_context io_{1};
  // Use io_'s executor, so they go before it.
  std::unique_ptr<tunnel::TunnelClient> tunnel_client_;
  std::unique_ptr<tunnel::TunnelServer> tunnel_server_;
  std::vector<std::unique_ptr<asio::ip::tcp::acceptor>> acceptors_;
};

}  // namespace weft::agent::proxy
