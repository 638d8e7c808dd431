#include "agent/telemetry/log_limiter.h"

#include <catch2/catch.hpp>

namespace weft::agent::telemetry {
namespace {

TEST_CASE("the limiter lets a burst through per interval and reports what it held back") {
  absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  LogLimiter limiter(2, absl::Seconds(10), [&now] { return now; });
  CHECK(limiter.admit() == 0u);
  CHECK(limiter.admit() == 0u);
  CHECK(limiter.admit() == std::nullopt);
  now += absl::Seconds(9);
  CHECK(limiter.admit() == std::nullopt);  // still the same interval
  now += absl::Seconds(1);
  CHECK(limiter.admit() == 2u);  // the first line of the next interval tells
  CHECK(limiter.admit() == 0u);
  CHECK(limiter.admit() == std::nullopt);
}

}  // namespace
}  // namespace weft::agent::telemetry
