#pragma once

// Endpoint selection for one worker. The pick functions are pure (state and randomness are
// passed in) so their distribution is unit-tested; LoadBalancer holds a worker's state.

#include <cstdint>
#include <memory>
#include <optional>
#include <random>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "agent/config/config_snapshot.h"
#include "common/net/address.h"

namespace weft::agent::proxy {

// Uniform random integers; injected so tests can script the choices.
class Random {
 public:
  virtual ~Random() = default;
  // A uniformly distributed value in [0, bound); bound > 0.
  virtual uint64_t below(uint64_t bound) = 0;
};

class DefaultRandom : public Random {
 public:
  DefaultRandom() : engine_(std::random_device{}()) {}
  uint64_t below(uint64_t bound) override {
    return std::uniform_int_distribution<uint64_t>(0, bound - 1)(engine_);
  }

 private:
  std::mt19937_64 engine_;
};

// Power of two choices: two distinct random candidates, the one with fewer active
// connections wins (the first on a tie). `excluded` is never picked. nullopt when no
// candidate is left.
std::optional<size_t> pickLeastConnections(size_t count, absl::FunctionRef<uint32_t(size_t)> active,
                                           std::optional<size_t> excluded, Random& random);

// The candidate at `cursor` (mod count), skipping `excluded`; advances the cursor past it.
std::optional<size_t> pickRoundRobin(size_t count, std::optional<size_t> excluded,
                                     uint64_t& cursor);

// A worker's load balancer: active connection counts per endpoint and round-robin cursors
// per service address. Single-threaded (one per worker).
class LoadBalancer {
 public:
  explicit LoadBalancer(std::unique_ptr<Random> random) : random_(std::move(random)) {}

  // Picks an endpoint index of `target` for a connection dialled to `vip`.
  std::optional<size_t> pick(const config::ServiceTarget& target, const common::SocketAddress& vip,
                             std::optional<size_t> excluded = std::nullopt);

  void connectionStarted(const common::SocketAddress& endpoint) { ++active_[endpoint]; }
  void connectionFinished(const common::SocketAddress& endpoint);
  uint32_t activeConnections(const common::SocketAddress& endpoint) const;

 private:
  std::unique_ptr<Random> random_;
  absl::flat_hash_map<common::SocketAddress, uint32_t> active_;
  absl::flat_hash_map<common::SocketAddress, uint64_t> cursors_;
};

// Holds one active-connection count on an endpoint for as long as it lives.
class ActiveConnection {
 public:
  ActiveConnection() = default;
  ActiveConnection(LoadBalancer& lb, const common::SocketAddress& endpoint)
      : lb_(&lb), endpoint_(endpoint) {
    lb_->connectionStarted(endpoint_);
  }
  ActiveConnection(ActiveConnection&& other) noexcept { *this = std::move(other); }
  ActiveConnection& operator=(ActiveConnection&& other) noexcept {
    release();
    lb_ = std::exchange(other.lb_, nullptr);
    endpoint_ = other.endpoint_;
    return *this;
  }
  ~ActiveConnection() { release(); }

  void release() {
    if (lb_ != nullptr) {
      std::exchange(lb_, nullptr)->connectionFinished(endpoint_);
    }
  }

 private:
  LoadBalancer* lb_ = nullptr;
  common::SocketAddress endpoint_;
};

}  // namespace weft::agent::proxy
