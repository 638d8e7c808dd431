#pragma once

// One captured connection on the outbound listener: recover where the client was going,
// pick an endpoint of that service, reach it (with one retry on another endpoint), then move
// the bytes. An enrolled endpoint on another node is reached through a stream of the mTLS
// tunnel to its node's agent, as the client's identity; anything else by a direct connect,
// whose sockets go to the relay (same-node ones maybe to the kernel fast path).

#include <asio/ip/tcp.hpp>
#include <chrono>

#include "agent/capture/capture.h"
#include "agent/capture/fast_path.h"
#include "agent/config/config_store.h"
#include "agent/proxy/load_balancer.h"
#include "agent/proxy/relay.h"
#include "agent/telemetry/metrics.h"
#include "agent/tunnel/tunnel_client.h"

namespace weft::agent::proxy {

// What a worker's connections share. Everything here outlives the worker's io_context.
struct WorkerContext {
  const config::ConfigStore& config;
  const capture::OriginalDestinationTable& destinations;
  telemetry::Metrics& metrics;
  LoadBalancer& load_balancer;
  Relay& relay;
  std::chrono::milliseconds connect_timeout;
  // Announces same-node upstream connections before connecting (null: no fast path).
  capture::FastPath* fast_path = nullptr;
  // Streams to other nodes' agents (null: endpoints that need the tunnel are unreachable).
  tunnel::TunnelClient* tunnel = nullptr;
  uint16_t tunnel_port = 15008;  // where every node's agent serves the tunnel
  size_t tunnel_relay_buffer = 64 << 10;
};

// Starts handling an accepted client socket; the connection keeps itself alive until done.
void startOutboundConnection(WorkerContext& context, asio::ip::tcp::socket client);

}  // namespace weft::agent::proxy
