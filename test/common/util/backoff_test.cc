#include "common/util/backoff.h"

#include <catch2/catch.hpp>

namespace weft::common {
namespace {

TEST_CASE("backoff doubles up to the cap and starts over after a reset") {
  Backoff backoff({.initial = absl::Milliseconds(100),
                   .max = absl::Milliseconds(500),
                   .multiplier = 2,
                   .jitter = 0});
  CHECK(backoff.next() == absl::Milliseconds(100));
  CHECK(backoff.next() == absl::Milliseconds(200));
  CHECK(backoff.next() == absl::Milliseconds(400));
  CHECK(backoff.next() == absl::Milliseconds(500));
  CHECK(backoff.next() == absl::Milliseconds(500));
  CHECK(backoff.failures() == 5);
  backoff.reset();
  CHECK(backoff.failures() == 0);
  CHECK(backoff.next() == absl::Milliseconds(100));
}

TEST_CASE("backoff jitter stays within [d * (1 - jitter), d] and varies") {
  Backoff backoff({.initial = absl::Seconds(1), .max = absl::Seconds(1), .jitter = 0.5},
                  /*seed=*/42);
  absl::Duration smallest = absl::InfiniteDuration();
  absl::Duration largest = absl::ZeroDuration();
  for (int i = 0; i < 200; ++i) {
    const absl::Duration d = backoff.next();
    REQUIRE(d >= absl::Milliseconds(500));
    REQUIRE(d <= absl::Seconds(1));
    smallest = std::min(smallest, d);
    largest = std::max(largest, d);
  }
  CHECK(largest - smallest > absl::Milliseconds(100));
}

TEST_CASE("backoff options out of range are clamped") {
  Backoff backoff(
      {.initial = absl::Seconds(1), .max = absl::Seconds(8), .multiplier = 0.5, .jitter = 7});
  // A multiplier below 1 would shrink the delay; it is taken as 1. Jitter above 1 is 1.
  for (int i = 0; i < 20; ++i) {
    const absl::Duration d = backoff.next();
    REQUIRE(d >= absl::ZeroDuration());
    REQUIRE(d <= absl::Seconds(1));
  }
}

}  // namespace
}  // namespace weft::common
