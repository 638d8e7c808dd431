#pragma once

// Keeps a log line that can happen once per connection (an authorization deny) from flooding
// the log when a client retries in a loop: at most `burst` lines per `interval`, and the next
// line let through says how many were held back, so the log still tells that they happened.
// Thread-safe (a mutex: it is taken only on the paths that log).

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace weft::agent::telemetry {

class LogLimiter {
 public:
  using Clock = std::function<absl::Time()>;

  LogLimiter(int burst, absl::Duration interval, Clock clock = [] { return absl::Now(); });

  // Whether to log a line now. If so, the number of lines held back since the last one let
  // through (0 usually); if not, nullopt, and the line is counted as held back.
  std::optional<uint64_t> admit();

 private:
  const int burst_;
  const absl::Duration interval_;
  const Clock clock_;
  std::mutex mu_;
  absl::Time window_start_ = absl::InfinitePast();
  int admitted_in_window_ = 0;
  uint64_t held_back_ = 0;
};

}  // namespace weft::agent::telemetry
