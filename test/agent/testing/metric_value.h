#pragma once

// Reads one sample out of a prometheus registry, for asserting on metrics in tests.

#include <map>
#include <optional>
#include <string>

#include "prometheus/registry.h"

namespace weft::test {

// The value of the counter `name` whose labels include all of `labels`; nullopt when no such
// series exists.
inline std::optional<double> counterValue(const prometheus::Registry& registry,
                                          const std::string& name,
                                          const std::map<std::string, std::string>& labels) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) {
      continue;
    }
    for (const auto& metric : family.metric) {
      size_t matched = 0;
      for (const auto& pair : metric.label) {
        auto it = labels.find(pair.name);
        if (it != labels.end() && it->second == pair.value) {
          ++matched;
        }
      }
      if (matched == labels.size()) {
        return metric.counter.value;
      }
    }
  }
  return std::nullopt;
}

}  // namespace weft::test
