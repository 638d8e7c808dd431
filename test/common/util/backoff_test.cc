#include "common/util/backoff.h"

#include <catch2/catch.hpp>

namespace weft::common {
namespace {

using std::chrono::milliseconds;

TEST_CASE("backoff doubles up to its cap and starts over after reset") {
  Backoff backoff(milliseconds(100), milliseconds(1000), [] { return 0.999999; });
  CHECK(backoff.next() == milliseconds(99));
  CHECK(backoff.next() == milliseconds(199));
  CHECK(backoff.next() == milliseconds(399));
  CHECK(backoff.next() == milliseconds(799));
  CHECK(backoff.next() == milliseconds(999));
  for (int i = 0; i < 100; ++i) {
    CHECK(backoff.next() == milliseconds(999));
  }
  backoff.reset();
  CHECK(backoff.next() == milliseconds(99));
}

TEST_CASE("backoff jitter spreads delays below the ceiling, never to zero") {
  Backoff backoff(milliseconds(100), milliseconds(1000), [] { return 0.0; });
  CHECK(backoff.next() == milliseconds(1));
  Backoff half(milliseconds(100), milliseconds(1000), [] { return 0.5; });
  CHECK(half.next() == milliseconds(50));
  CHECK(half.next() == milliseconds(100));
}

}  // namespace
}  // namespace weft::common
