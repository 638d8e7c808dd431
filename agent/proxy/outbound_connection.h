#pragma once

// One captured connection on the outbound listener: recover where the client was going,
// pick an endpoint of that service, connect (with one retry on another endpoint), then hand
// both sockets to the relay.

#include <asio/ip/tcp.hpp>
#include <chrono>

#include "agent/capture/capture.h"
#include "agent/capture/fast_path.h"
#include "agent/config/config_store.h"
#include "agent/proxy/load_balancer.h"
#include "agent/proxy/relay.h"
#include "agent/telemetry/metrics.h"

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
};

// Starts handling an accepted client socket; the connection keeps itself alive until done.
void startOutboundConnection(WorkerContext& context, asio::ip::tcp::socket client);

}  // namespace weft::agent::proxy
