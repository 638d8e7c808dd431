#include "agent/telemetry/log_limiter.h"

#include <utility>

namespace weft::agent::telemetry {

LogLimiter::LogLimiter(int burst, absl::Duration interval, Clock clock)
    : burst_(burst), interval_(interval), clock_(std::move(clock)) {}

std::optional<uint64_t> LogLimiter::admit() {
  const absl::Time now = clock_();
  std::lock_guard lock(mu_);
  if (now - window_start_ >= interval_) {
    window_start_ = now;
    admitted_in_window_ = 0;
  }
  if (admitted_in_window_ >= burst_) {
    ++held_back_;
    return std::nullopt;
  }
  ++admitted_in_window_;
  return std::exchange(held_back_, 0);
}

}  // namespace weft::agent::telemetry
