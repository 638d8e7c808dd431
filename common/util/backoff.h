#pragma once

// Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And
// Jitter"): the n-th delay is uniform in [0, min(cap, initial * 2^n)], so clients that lost
// the same server together do not come back together. Reset after a success.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>

namespace weft::common {

class Backoff {
 public:
  // `uniform` returns a value in [0, 1); injected so tests choose the jitter.
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds cap,
          std::function<double()> uniform)
      : initial_(initial), cap_(cap), uniform_(std::move(uniform)) {}

  std::chrono::milliseconds next() {
    const std::chrono::milliseconds ceiling = std::min(cap_, initial_ * (int64_t{1} << attempt_));
    attempt_ = std::min(attempt_ + 1, 30);  // 2^30 * any initial delay is past any cap
    // Never 0: a server that refuses at once must not be retried in a tight loop.
    return std::max(std::chrono::milliseconds(1),
                    std::chrono::milliseconds(static_cast<int64_t>(ceiling.count() * uniform_())));
  }
  void reset() { attempt_ = 0; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds cap_;
  std::function<double()> uniform_;
  int attempt_ = 0;
};

// The jitter outside tests: uniform in [0, 1), seeded from the system, so two processes that
// lost the same server draw different delays. One per Backoff (not thread-safe).
inline std::function<double()> randomJitter() {
  auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
}

}  // namespace weft::common
