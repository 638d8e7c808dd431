#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace weft::test {

// Waits until `condition` holds, polling; gives up after a generous safety limit. Tests
// assert on the condition, never on how long it took.
inline bool waitFor(const std::function<bool()>& condition,
                    std::chrono::steady_clock::duration safety_limit = std::chrono::seconds(20)) {
  const auto limit = std::chrono::steady_clock::now() + safety_limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > limit) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace weft::test
