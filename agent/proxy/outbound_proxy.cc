#include "agent/proxy/outbound_proxy.h"

#include <utility>

#include "common/util/status_macros.h"

namespace weft::agent::proxy {

OutboundProxy::OutboundProxy(ProxyDependencies deps, ProxyOptions options)
    : deps_(std::move(deps)), options_(std::move(options)) {}

OutboundProxy::~OutboundProxy() {
  stop();
}

absl::Status OutboundProxy::start() {
  const int count = options_.workers > 0 ? options_.workers : 1;
  for (int i = 0; i < count; ++i) {
    workers_.push_back(std::make_unique<Worker>(deps_, options_, decision_log_));
  }
  for (const common::SocketAddress& requested : options_.listen) {
    // The first worker's bind fixes the port (port 0 picks one); the others share it
    // through SO_REUSEPORT, and the kernel spreads new connections across them.
    ASSIGN_OR_RETURN(const common::SocketAddress bound, workers_[0]->listen(requested));
    for (size_t i = 1; i < workers_.size(); ++i) {
      RETURN_IF_ERROR(workers_[i]->listen(bound).status());
    }
    bound_.push_back(bound);
  }
  for (const common::SocketAddress& requested : options_.tunnel_listen) {
    ASSIGN_OR_RETURN(const common::SocketAddress bound, workers_[0]->listenTunnel(requested));
    for (size_t i = 1; i < workers_.size(); ++i) {
      RETURN_IF_ERROR(workers_[i]->listenTunnel(bound).status());
    }
    tunnel_bound_.push_back(bound);
  }
  for (auto& worker : workers_) {
    threads_.emplace_back([w = worker.get()] { w->run(); });
  }
  return absl::OkStatus();
}

tunnel::TunnelStatsSet OutboundProxy::tunnelStats() const {
  tunnel::TunnelStatsSet stats;
  for (const auto& worker : workers_) {
    if (const auto* client = worker->tunnelClientStats()) {
      stats.clients.push_back(client);
    }
    if (const auto* server = worker->tunnelServerStats()) {
      stats.servers.push_back(server);
    }
  }
  return stats;
}

void OutboundProxy::stop() {
  for (auto& worker : workers_) {
    worker->stop();
  }
  for (auto& thread : threads_) {
    thread.join();
  }
  threads_.clear();
  workers_.clear();
}

}  // namespace weft::agent::proxy
