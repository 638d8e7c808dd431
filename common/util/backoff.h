#pragma once

// Exponential backoff with jitter, for retrying calls to a remote service (the Kubernetes API,
// the operator). Each failure doubles the delay up to a cap; the jitter spreads out clients
// that failed together (say, when an API server restarted) so they do not retry in lockstep.
// Not thread-safe: one Backoff per retry loop.

#include <cstdint>
#include <random>

#include "absl/time/time.h"

namespace weft::common {

class Backoff {
 public:
  struct Options {
    absl::Duration initial = absl::Milliseconds(800);
    absl::Duration max = absl::Seconds(30);
    double multiplier = 2.0;
    // Each delay is drawn uniformly from [d * (1 - jitter), d]: 0 gives exactly d, 1 anything
    // from zero to d. Never more than `max`.
    double jitter = 0.5;
  };

  explicit Backoff(Options options, uint64_t seed = std::random_device{}());

  // The delay to wait before the next attempt; each call counts one more failure.
  absl::Duration next();
  // After a success: the next failure waits `initial` again.
  void reset();
  // Failures since the last reset.
  int failures() const { return failures_; }

 private:
  Options options_;
  absl::Duration current_;
  int failures_ = 0;
  std::mt19937_64 random_;
};

}  // namespace weft::common
