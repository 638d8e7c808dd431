#pragma once

// The agent's data path: N shared-nothing workers, one thread each, serving the outbound
// capture listener (15001) and, with certificates, the inbound end of the tunnel (15008).

#include <memory>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "agent/proxy/worker.h"

namespace weft::agent::proxy {


class OutboundProxy {
 public:
  OutboundProxy(ProxyDependencies deps, ProxyOptions options);
  ~OutboundProxy();

  // Binds every worker's acceptors (so a bad address fails here, before any thread runs),
  // then starts one thread per worker.
  absl::Status start();
  // Stops and joins the workers; open connections are closed.
  void stop();

  // The addresses actually bound (a requested port 0 replaced by the kernel's choice).
  const std::vector<common::SocketAddress>& listenAddresses() const { return bound_; }
  const std::vector<common::SocketAddress>& tunnelAddresses() const { return tunnel_bound_; }
  // Every worker's tunnel counters; valid from start() to stop(), readable from any thread.
  tunnel::TunnelStatsSet tunnelStats() const;

 private:
  ProxyDependencies deps_;
  ProxyOptions options_;
  telemetry::LogLimiter decision_log_{policy::kDecisionLogBurst, policy::kDecisionLogInterval};
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  std::vector<common::SocketAddress> bound_;
  std::vector<common::SocketAddress> tunnel_bound_;
};

}  // namespace weft::agent::proxy
