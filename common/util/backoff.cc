#include "common/util/backoff.h"

#include <algorithm>

namespace weft::common {

Backoff::Backoff(Options options, uint64_t seed)
    : options_(options), current_(options.initial), random_(seed) {
  options_.jitter = std::clamp(options_.jitter, 0.0, 1.0);
  options_.multiplier = std::max(options_.multiplier, 1.0);
}

absl::Duration Backoff::next() {
  const absl::Duration base = std::min(current_, options_.max);
  current_ = std::min(current_ * options_.multiplier, options_.max);
  ++failures_;
  std::uniform_real_distribution<double> fraction(1.0 - options_.jitter, 1.0);
  return base * fraction(random_);
}

void Backoff::reset() {
  current_ = options_.initial;
  failures_ = 0;
}

}  // namespace weft::common
