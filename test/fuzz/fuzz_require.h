#pragma once

// What a fuzz target checks: a broken invariant aborts, which libFuzzer (and the corpus
// replay) report as a crash with the input that caused it.

#include <cstdlib>

namespace weft::test {

inline void fuzzRequire(bool invariant) {
  if (!invariant) {
    std::abort();
  }
}

}  // namespace weft::test
