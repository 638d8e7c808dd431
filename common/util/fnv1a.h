#pragma once

#include <cstddef>
#include <cstdint>

namespace weft::common {

// FNV-1a, 64 bits: a hash that is the same in every process and on every run (unlike
// absl::Hash, which is seeded), for identifying content: BPF objects, config versions.
inline uint64_t fnv1a(const void* data, size_t size) {
  uint64_t h = 0xcbf29ce484222325ULL;
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < size; ++i) {
    h = (h ^ p[i]) * 0x100000001b3ULL;
  }
  return h;
}

}  // namespace weft::common
